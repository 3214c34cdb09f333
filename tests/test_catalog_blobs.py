"""How the catalog packs vectors (core/catalog/blobs.py), on real photos and the shipped model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lookalike.core.catalog import blobs
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import decode


def _photos(samples: Path, embedder: Embedder) -> list[np.ndarray]:
    paths = sorted(p for p in samples.rglob("*.jpg"))
    assert len(paths) >= 8
    return [decode(p, embedder.input_size, embedder.manifest.resize).pixels for p in paths]


def test_int8_vectors_keep_cosines_within_0_003_and_unit_length(samples: Path, embedder: Embedder) -> None:
    vectors = embedder.embed(_photos(samples, embedder))
    stored = [blobs.pack_vector(v) for v in vectors]
    assert {len(b) for b in stored} == {embedder.dim}  # one byte a dimension
    back = blobs.unpack_vectors(stored)
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert np.abs(back @ back.T - vectors @ vectors.T).max() < 0.003
    assert blobs.unpack_vectors([]).shape == (0, 0)
