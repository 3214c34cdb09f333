"""How vectors are packed in the catalog: what a million photos cost on disk.

A vector is int8, each row scaled so that its largest component is 127 (`quantize`,
which the vector index and its codes use too), and made a unit vector again when read:
1 byte a dimension instead of float16's 2 (schema 3), cosines within 0.003 of
float32 ones.

The 32x32 structure signature (core/matching/structure.py) is stored raw (1 KB):
a full graph build reads every file's, and unpacking a compressed one cost
~50-150 us, a minute or more per million photos. The 64x64 detail the proof
compares is not stored at all since schema 6: it is made from the file when a
pair needs proof (core/matching/evidence.py; docs/calibration.md, "Catalog on disk").
"""

from __future__ import annotations

import numpy as np


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Rows as int8, each scaled so its largest magnitude is 127 (cosine is scale-free).

    A unit vector of 1280 dims has components near 0.01: scaled by a fixed 127,
    as usearch's own conversion does, most of them round to 0 or 1.
    """
    rows = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(rows).max(axis=1, keepdims=True) if rows.size else np.ones((len(rows), 1), np.float32)
    scaled = rows * (np.float32(127.0) / np.maximum(peak, np.float32(1e-12)))
    return np.ascontiguousarray(np.rint(scaled), dtype=np.int8)


def pack_vector(vector: np.ndarray) -> bytes:
    """A unit vector as stored: `quantize`d (1 byte a dimension)."""
    return quantize(np.asarray(vector).reshape(1, -1)).tobytes()


def unpack_vectors(blobs: list[bytes]) -> np.ndarray:
    """Stored int8 blobs as one float32 matrix of unit rows (0 x 0 when there are none)."""
    return unit_rows(stored_rows(blobs))


def stored_rows(blobs: list[bytes]) -> np.ndarray:
    """Stored blobs as their int8 matrix (0 x 0 when there are none): a quarter of float32's
    memory, for holding a whole library's vectors."""
    if not blobs:
        return np.zeros((0, 0), dtype=np.int8)
    return np.frombuffer(b"".join(blobs), dtype=np.int8).reshape(len(blobs), -1)


def unit_rows(rows: np.ndarray) -> np.ndarray:
    """int8 rows (as stored) as float32 unit rows."""
    out = np.asarray(rows).astype(np.float32)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), np.float32(1e-12))
    return out


def vector_dim(blob_bytes: int) -> int:
    """The dimension of a stored vector of `blob_bytes` bytes."""
    return int(blob_bytes)
