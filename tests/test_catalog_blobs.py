"""How the catalog packs vectors and thumbnails (core/catalog/blobs.py), on real photos and the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lookalike.core.catalog import blobs
from lookalike.core.engines.embedder import Embedder
from lookalike.core.matching import proof
from lookalike.core.scan.images import decode


def _photos(samples: Path, embedder: Embedder) -> list[np.ndarray]:
    paths = sorted(p for p in samples.rglob("*.jpg"))
    assert len(paths) >= 8
    return [decode(p, embedder.input_size, embedder.manifest.resize).pixels for p in paths]


def test_detail_thumbnails_come_back_bit_for_bit_and_smaller(samples: Path, embedder: Embedder) -> None:
    packed_bytes = raw_bytes = 0
    for pixels in _photos(samples, embedder):
        detail = proof.detail(pixels)
        stored = blobs.pack_detail(detail)
        assert blobs.unpack_detail(stored) == detail
        packed_bytes += len(stored)
        raw_bytes += len(detail)
    assert packed_bytes < 0.85 * raw_bytes


def test_noise_that_does_not_compress_is_stored_raw_and_still_read_back() -> None:
    rng = np.random.default_rng(5)
    detail = rng.integers(0, 256, proof.SIDE**2, dtype=np.uint8).tobytes()
    assert blobs.pack_detail(detail) == detail and blobs.unpack_detail(detail) == detail
    # Files scanned before schema 3 have no detail: nothing to pack or read.
    assert blobs.pack_detail(None) is None and blobs.unpack_detail(None) is None


def test_int8_vectors_keep_cosines_within_0_003_and_unit_length(samples: Path, embedder: Embedder) -> None:
    vectors = embedder.embed(_photos(samples, embedder))
    stored = [blobs.pack_vector(v) for v in vectors]
    assert {len(b) for b in stored} == {embedder.dim}  # one byte a dimension
    back = blobs.unpack_vectors(stored)
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert np.abs(back @ back.T - vectors @ vectors.T).max() < 0.003
    assert blobs.unpack_vectors([]).shape == (0, 0)
