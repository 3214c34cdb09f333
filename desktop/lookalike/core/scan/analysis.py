"""What a scan learns from one file: decode, hashes, structure, shot, vector.

This is the one per-file rule of a scan, whichever engine runs it: the local
engine calls `analyse` in its decode threads and `embed_analyses` from the scan's
thread; the Ray engine (core/scan/ray_engine.py) calls both on a worker that
holds its own ONNX session. The scan then writes the outcomes the same way
(core/scan/pipeline.py), so both engines fill the catalog identically.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.core.engines.embedder import Embedder
from lookalike.core.matching.structure import signature
from lookalike.core.catalog.store import Shot
from lookalike.core.scan.exposure import measure
from lookalike.core.hashing import full_hash, partial_hash
from lookalike.core.scan.images import ImageError, ImageInfo, Resize, decode

__all__ = ["VANISHED", "Analysis", "analyse", "embed_analyses", "overran"]

#: Reason stored for a file that vanished between the walk and its decode.
VANISHED = "disappeared during the scan"


@dataclass(frozen=True, slots=True)
class Analysis:
    """One file's outcome: metadata, hashes, signatures and shot measures, plus either
    the model-size `pixels` (decoded, not embedded yet) or their `vector` (embedded:
    the pixels are dropped), or the reason it failed."""

    pixels: np.ndarray | None = None
    info: ImageInfo | None = None
    partial_hash: str | None = None
    full_hash: str | None = None
    signature: bytes | None = None
    shot: Shot | None = None
    vector: np.ndarray | None = None
    error: str | None = None
    vanished: bool = False  # gone from disk when it was to be read: nothing to store


def analyse(path: str, size: tuple[int, int], resize: Resize) -> Analysis:
    """Decode one file for the model; never raises (a worker must not kill the scan)."""
    try:
        decoded = decode(path, size, resize)
        # The bytes were just read, so hashing them is cheap (about 1 ms per MB): the
        # partial hash recognises a move, the full one lets a deletion prove that a file
        # is still the picture that was matched (core/removal/deletion.py).
        try:
            digest, whole = partial_hash(path), full_hash(path)
        except OSError:
            digest = whole = None
        pixels = decoded.pixels
        return Analysis(pixels, decoded.info, digest, whole, signature(pixels), measure(pixels))
    except ImageError as exc:
        return _failed(path, exc.reason)
    except Exception as exc:  # noqa: BLE001 - a codec bug must cost one file, not the scan
        return _failed(path, f"unexpected error while decoding ({type(exc).__name__}: {exc})")


def overran(timeout: float) -> Analysis:
    """The outcome of a decode abandoned after `timeout` seconds."""
    return Analysis(error=f"took too long to decode (over {timeout:g} s)")


def embed_analyses(embedder: Embedder, analyses: Sequence[Analysis]) -> list[Analysis]:
    """The same outcomes with a vector in place of the pixels of each decoded one,
    in one model call; outcomes without pixels (failed, or embedded already) pass as they are."""
    decoded = [a.pixels for a in analyses if a.pixels is not None]
    vectors = iter(embedder.embed(decoded, max(1, len(decoded))))
    return [a if a.pixels is None else dataclasses.replace(a, pixels=None, vector=next(vectors)) for a in analyses]


def _failed(path: str, reason: str) -> Analysis:
    """A failed decode; one whose file is gone is transient, not the file's fault."""
    return Analysis(error=VANISHED, vanished=True) if not os.path.lexists(path) else Analysis(error=reason)
