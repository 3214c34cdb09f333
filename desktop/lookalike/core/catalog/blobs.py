"""How vectors and thumbnails are packed in the catalog (schema 4): what a million photos cost on disk.

- A vector is int8, each row scaled so that its largest component is 127 (as the
  vector index holds it, `index.quantize`), and made a unit vector again when read:
  1 byte a dimension instead of float16's 2, cosines within 0.003 of float32 ones.
- The 64x64 detail thumbnail (core/matching/proof.py) is stored losslessly as its
  2-D difference (each pixel minus its left and upper neighbours, plus the upper
  left one, modulo 256) compressed by zlib: ~2.9 KB instead of 4 KB on photos, and
  read back bit for bit, so every proof verdict stays the same.
- The 32x32 structure signature (core/matching/structure.py) stays raw (1 KB):
  a full graph build reads every file's, and unpacking one (stored as its
  difference from the detail averaged 2x2 it took ~0.44 KB) cost ~50-150 us, a
  minute or more per million photos, to save 0.6 KB (docs/calibration.md).

A packed detail is never bigger than the raw one: when compression would not pay,
the raw bytes are stored, and their length (exactly SIDE x SIDE) says so. Schema 3
catalogs held raw details only, so theirs read back unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np

#: The side of the greyscale detail thumbnail the duplicate proof compares (core/matching/proof.py).
DETAIL_SIDE = 64
_DETAIL_BYTES = DETAIL_SIDE * DETAIL_SIDE


def pack_vector(vector: np.ndarray) -> bytes:
    """A unit vector as int8, scaled by its largest component (1 byte a dimension)."""
    row = np.asarray(vector, dtype=np.float32).reshape(-1)
    peak = float(np.abs(row).max()) if row.size else 0.0
    scaled = row * (127.0 / peak) if peak > 0 else row
    return np.rint(scaled).astype(np.int8).tobytes()


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


def _differences(grey: np.ndarray) -> bytes:
    d = np.diff(np.diff(grey.astype(np.int16), axis=0, prepend=0), axis=1, prepend=0)
    return zlib.compress((d % 256).astype(np.uint8).tobytes(), 9)


def _undo_differences(blob: bytes, side: int) -> np.ndarray:
    d = np.frombuffer(zlib.decompress(blob), dtype=np.uint8).reshape(side, side)
    return np.cumsum(np.cumsum(d, axis=0, dtype=np.uint8), axis=1, dtype=np.uint8)


def pack_detail(detail: bytes | None) -> bytes | None:
    """The detail thumbnail as stored: compressed losslessly, or raw when that is smaller."""
    if detail is None or len(detail) != _DETAIL_BYTES:
        return detail
    packed = _differences(np.frombuffer(detail, dtype=np.uint8).reshape(DETAIL_SIDE, DETAIL_SIDE))
    return packed if len(packed) < _DETAIL_BYTES else detail


def unpack_detail(stored: bytes | None) -> bytes | None:
    """The 64x64 detail thumbnail's bytes, exactly as `proof.detail` made them."""
    if stored is None or len(stored) == _DETAIL_BYTES:
        return stored
    return _undo_differences(stored, DETAIL_SIDE).tobytes()
