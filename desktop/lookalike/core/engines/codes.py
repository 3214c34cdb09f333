"""A person's search over a compact index: every photo's product-quantized code, scanned.

On the synthetic library's ~150-dimensional neighbourhoods, usearch's HNSW graph
misses true neighbours however hard it searches (recall@10 0.96 at a million photos
for 3 ms; docs/calibration.md, "Vector index at 1M"): a photo's 10th neighbour is one of
many unrelated photos at near-equal cosines, which no graph walk reliably reaches.
Scanning them all does: each compact vector (core/engines/projection.py) is also
held as a 48-byte code (faiss's 4-bit product quantizer, scanned with SIMD lookup
tables: ~1.6 ms for a million codes on one core), the best CANDIDATES codes are
re-ranked by the compact int8 rows, and the index re-ranks those by the full vectors.
At a million photos (bench/scale.py): recall@10 0.995, p50 / p99 2.4 / 2.7 ms, 270 B a
photo held (compact rows, codes, ids).

The HNSW graph stays for the library-wide searches (the neighbour graph, albums),
which ask for every photo's neighbours at once: scanning a million codes for each of a
million photos would take ten times the graph's budget.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import faiss
import numpy as np

from lookalike.core.catalog import blobs

#: Codes taken from the scan, re-ranked by the compact int8 rows (docs/calibration.md,
#: "A person's search at 1M": 256 / 512 / 1024 gave recall@10 0.977 / 0.987 / 0.995).
CANDIDATES = 1024
#: Bits per sub-quantizer: faiss's fast scan works on 4-bit codes only.
_BITS = 4
#: Bump when the saved layout changes: older files are rebuilt.
VERSION = 1
#: Rows encoded per call (bounds the float copies).
_CHUNK = 65_536
#: Training rows for the quantizer (a random sample; 16 centroids per sub-quantizer).
_TRAIN = 65_536


def subquantizers(dim: int) -> int:
    """Two dimensions per sub-quantizer (48 B for 192 dims); one where `dim` is odd."""
    return dim // 2 if dim % 2 == 0 else dim


class CodeScan:
    """Compact vectors by file id: int8 rows for re-ranking, and their codes for scanning.

    The codes are those of the int8 rows (so an edited set holds the codes a fresh one
    would), kept in the order they were added (`_code_keys`). Small sets (at most
    CANDIDATES rows) have no quantizer: every row is re-ranked.
    """

    def __init__(self, dim: int, threads: int) -> None:
        self.dim = dim
        self.threads = threads
        self.keys = np.zeros(0, dtype=np.int64)  # ascending
        self.rows = np.zeros((0, dim), dtype=np.int8)
        self._codes: faiss.IndexPQFastScan | None = None
        self._code_keys = np.zeros(0, dtype=np.int64)  # the key of each code, in the codes' order

    def __len__(self) -> int:
        return len(self.keys)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        at = np.clip(np.searchsorted(self.keys, keys), 0, max(len(self.keys) - 1, 0))
        return (self.keys[at] == keys) if len(self.keys) else np.zeros(len(keys), dtype=bool)

    def unit_rows(self, keys: np.ndarray) -> np.ndarray:
        """The compact rows of held `keys`, as float32 unit vectors."""
        return blobs.unit_rows(self.rows[np.searchsorted(self.keys, keys)])

    def add(self, keys: np.ndarray, compact: np.ndarray) -> None:
        """Hold `compact` (float32 unit rows) under `keys`, none of them held yet."""
        rows = blobs.quantize(compact)
        merged = np.concatenate([self.keys, keys])
        order = np.argsort(merged, kind="stable")
        self.keys, self.rows = merged[order], np.concatenate([self.rows, rows])[order]
        if self._codes is not None:
            self._encode(keys, rows)
        elif len(self.keys) > CANDIDATES:
            self._train()

    def remove(self, keys: np.ndarray) -> None:
        """Drop held `keys`. The codes are made again from the rows left (~2 s at a million):
        faiss's fast-scan codes answered wrongly once codes were added after a removal."""
        keep = ~np.isin(self.keys, keys)
        self.keys, self.rows = self.keys[keep], self.rows[keep]
        if self._codes is not None:
            self._codes.reset()
            self._code_keys = np.zeros(0, dtype=np.int64)
            self._encode(self.keys, self.rows)

    def candidates(self, queries: np.ndarray, count: int) -> np.ndarray:
        """The `count` best keys (-1: none) of each compact unit query by the int8 rows'
        cosines, among the CANDIDATES best codes (every row for a small set)."""
        found = np.full((len(queries), count), -1, dtype=np.int64)
        if not len(self.keys):
            return found
        if self._codes is None:
            pool = np.broadcast_to(self.keys, (len(queries), len(self.keys)))
        else:
            faiss.omp_set_num_threads(self.threads)
            _, at = self._codes.search(np.ascontiguousarray(queries, dtype=np.float32), min(CANDIDATES, len(self.keys)))
            pool = np.where(at >= 0, self._code_keys[np.maximum(at, 0)], -1)
        for row, (query, keys) in enumerate(zip(queries, pool)):
            keys = keys[keys >= 0]
            best = np.argsort(-(self.unit_rows(keys) @ query), kind="stable")[:count]
            found[row, : len(best)] = keys[best]
        return found

    def _train(self) -> None:
        """A quantizer fitted on (a sample of) the rows held, then the codes of them all."""
        sample = np.sort(np.random.default_rng(0).permutation(len(self.rows))[:_TRAIN])
        faiss.omp_set_num_threads(self.threads)
        self._codes = faiss.IndexPQFastScan(self.dim, subquantizers(self.dim), _BITS, faiss.METRIC_INNER_PRODUCT)
        self._codes.train(blobs.unit_rows(self.rows[sample]))
        self._encode(self.keys, self.rows)

    def _encode(self, keys: np.ndarray, rows: np.ndarray) -> None:
        faiss.omp_set_num_threads(self.threads)
        for start in range(0, len(rows), _CHUNK):  # bounded float copies at a million photos
            self._codes.add(blobs.unit_rows(rows[start : start + _CHUNK]))  # type: ignore[union-attr]
        self._code_keys = np.concatenate([self._code_keys, keys])

    def save(self, path: Path) -> None:
        """Write to `path` as it is named (the index writes a scratch name, then renames)."""
        codes = faiss.serialize_index(self._codes) if self._codes is not None else np.zeros(0, dtype=np.uint8)
        with path.open("wb") as handle:
            np.savez(handle, version=np.int64(VERSION), keys=self.keys, rows=self.rows, codes=codes, code_keys=self._code_keys)

    @classmethod
    def load(cls, path: Path, threads: int) -> CodeScan:
        """Saved codes; ValueError when missing, unreadable, of another VERSION or inconsistent."""
        try:
            with np.load(path, allow_pickle=False) as data:
                version, keys, rows, codes = int(data["version"]), data["keys"], data["rows"], data["codes"]
                code_keys = data["code_keys"]
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"cannot read the index's codes {path}: {exc}") from exc
        if version != VERSION or rows.ndim != 2 or len(rows) != len(keys) or rows.dtype != np.int8:
            raise ValueError(f"the index's codes {path} are of another format")
        scan = cls(rows.shape[1], threads)
        scan.keys, scan.rows, scan._code_keys = keys.astype(np.int64), rows, code_keys.astype(np.int64)
        if len(codes):
            try:
                scan._codes = faiss.deserialize_index(codes)
            except RuntimeError as exc:
                raise ValueError(f"cannot read the index's codes {path}: {exc}") from exc
        if scan._codes is None:
            consistent = len(keys) <= CANDIDATES
        else:
            consistent = scan._codes.ntotal == len(keys) and np.array_equal(np.sort(scan._code_keys), scan.keys)
        if not consistent:
            raise ValueError(f"the index's codes {path} do not match its compact rows")
        return scan
