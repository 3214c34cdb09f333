"""A person's search over a compact index: every photo's product-quantized code, scanned.

On the synthetic library's ~150-dimensional neighbourhoods, an HNSW graph (usearch's,
when this was measured; faiss's does no better: 0.964 at effort 384) misses true
neighbours however hard it searches (recall@10 0.96 at a million photos for 3 ms;
docs/calibration.md, "Vector index at 1M"): a photo's 10th neighbour is one of many
unrelated photos at near-equal cosines, which no graph walk reliably reaches.
Scanning them all does: each compact vector (core/engines/projection.py) is also
held as a 48-byte code (faiss's 4-bit product quantizer, scanned with SIMD lookup
tables: ~1.6 ms for a million codes on one core), the best CANDIDATES codes are
re-ranked by the compact int8 rows, and the index re-ranks those by the full vectors.
At a million photos (bench/scale.py): recall@10 0.995, p50 / p99 2.4 / 2.7 ms, 270 B a
photo held (compact rows, codes, ids).

faiss scans one query's codes on one core, so the codes are held in one part per
thread, scanned side by side (faiss's `IndexShards`, which merges the parts' best):
at a million photos on 2 cores whose memory answers at half the speed of those above,
the scan 2.1 -> 1.3 ms, a whole search 3.5-3.7 -> 2.1-2.3 ms (p50; the bench's 1M row:
p99 4.3 ms), 282 B a photo held (docs/calibration.md, "A person's search on both cores").

The HNSW graph (core/engines/links.py) stays for the library-wide searches (the
neighbour graph, albums), which ask for every photo's neighbours at once: scanning a
million codes for each of a million photos would take ten times the graph's budget.
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
#: Bump when the saved layout changes: older files are rebuilt. Version 1 (one part of
#: codes) is still read, as one part.
VERSION = 2
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
    would), in `threads` parts of one quantizer, each added to in turn; each part keeps
    its codes' keys in the order they were added (`_part_keys`). Small sets (at most
    CANDIDATES rows) have no quantizer: every row is re-ranked.
    """

    def __init__(self, dim: int, threads: int) -> None:
        self.dim = dim
        self.threads = threads
        self.keys = np.zeros(0, dtype=np.int64)  # ascending
        self.rows = np.zeros((0, dim), dtype=np.int8)
        self._parts: list[faiss.IndexPQFastScan] = []
        self._part_keys: list[np.ndarray] = []  # the key of each code of each part, in its order
        self._shards: faiss.IndexShards | None = None  # the parts searched as one (made when needed)
        self._code_rows: np.ndarray | None = None  # each code's row, parts end to end (made when needed; `_encode` drops it)

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
        if self._parts:
            self._encode(keys, rows)
        elif len(self.keys) > CANDIDATES:
            self._train()

    def remove(self, keys: np.ndarray) -> None:
        """Drop held `keys`. The codes are made again from the rows left (~2 s at a million):
        faiss's fast-scan codes answered wrongly once codes were added after a removal."""
        keep = ~np.isin(self.keys, keys)
        self.keys, self.rows = self.keys[keep], self.rows[keep]
        if self._parts:
            self._empty_parts(self._parts[0])  # codes read in one part (VERSION 1) are split here
            self._encode(self.keys, self.rows)

    def candidates(self, queries: np.ndarray, count: int) -> np.ndarray:
        """The `count` best keys (-1: none) of each compact unit query by the int8 rows'
        cosines, among the CANDIDATES best codes (every row for a small set)."""
        found = np.full((len(queries), count), -1, dtype=np.int64)
        if not len(self.keys):
            return found
        if not self._parts:
            pool = np.broadcast_to(np.arange(len(self.keys)), (len(queries), len(self.keys)))
        else:
            # One thread a part; each part's scan of several queries on one core.
            faiss.omp_set_num_threads(1)
            _, at = self._searched().search(np.ascontiguousarray(queries, dtype=np.float32), min(CANDIDATES, len(self.keys)))
            pool = np.where(at >= 0, self._rows_of_codes()[np.maximum(at, 0)], -1)
        for row, (query, rows) in enumerate(zip(queries, pool)):
            rows = rows[rows >= 0]
            best = np.argsort(-(blobs.unit_rows(self.rows[rows]) @ query), kind="stable")[:count]
            found[row, : len(best)] = self.keys[rows[best]]
        return found

    def _searched(self) -> faiss.IndexShards:
        """The parts as one index: searched side by side, each code numbered by its place
        among the parts laid end to end."""
        shards = self._shards
        if shards is None:  # made whole before it is shared: another thread may search meanwhile
            shards = faiss.IndexShards(self.dim, True, True)  # threaded, successive numbers
            for part in self._parts:
                shards.add_shard(part)
            shards.syncWithSubIndexes()
            self._shards = shards
        return shards

    def _rows_of_codes(self) -> np.ndarray:
        """The row of each code, parts end to end: one gather per query, not a search of its
        1,024 keys among a million (0.6 ms)."""
        if self._code_rows is None:
            self._code_rows = np.searchsorted(self.keys, np.concatenate(self._part_keys))
        return self._code_rows

    def _train(self) -> None:
        """A quantizer fitted on (a sample of) the rows held, copied to every part, then the
        codes of them all."""
        sample = np.sort(np.random.default_rng(0).permutation(len(self.rows))[:_TRAIN])
        faiss.omp_set_num_threads(self.threads)
        trained = faiss.IndexPQFastScan(self.dim, subquantizers(self.dim), _BITS, faiss.METRIC_INNER_PRODUCT)
        trained.train(blobs.unit_rows(self.rows[sample]))
        self._empty_parts(trained)
        self._encode(self.keys, self.rows)

    def _empty_parts(self, quantizer: faiss.IndexPQFastScan) -> None:
        """One part a thread, each with `quantizer`'s training and no codes."""
        self._parts = [faiss.clone_index(quantizer) for _ in range(max(1, self.threads))]
        for part in self._parts:
            part.reset()
        self._part_keys = [np.zeros(0, dtype=np.int64) for _ in self._parts]

    def _encode(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Codes of `rows`, shared out between the parts (fewest codes first), so each scans
        about as many."""
        faiss.omp_set_num_threads(self.threads)
        by_size = sorted(range(len(self._parts)), key=lambda i: self._parts[i].ntotal)
        for i, share in zip(by_size, np.array_split(np.arange(len(rows)), len(self._parts))):
            for start in range(0, len(share), _CHUNK):  # bounded float copies at a million photos
                self._parts[i].add(blobs.unit_rows(rows[share[start : start + _CHUNK]]))
            self._part_keys[i] = np.concatenate([self._part_keys[i], keys[share]])
        self._shards, self._code_rows = None, None

    def save(self, path: Path) -> None:
        """Write to `path` as it is named (the index writes a scratch name, then renames)."""
        parts = {f"codes_{i}": faiss.serialize_index(part) for i, part in enumerate(self._parts)}
        sizes = np.array([len(k) for k in self._part_keys], dtype=np.int64)
        code_keys = np.concatenate(self._part_keys) if self._parts else np.zeros(0, dtype=np.int64)
        with path.open("wb") as handle:
            np.savez(handle, version=np.int64(VERSION), keys=self.keys, rows=self.rows, code_keys=code_keys, sizes=sizes, **parts)

    @classmethod
    def load(cls, path: Path, threads: int) -> CodeScan:
        """Saved codes; ValueError when missing, unreadable, of an unknown VERSION or inconsistent."""
        try:
            with np.load(path, allow_pickle=False) as data:
                version, keys, rows, code_keys = int(data["version"]), data["keys"], data["rows"], data["code_keys"]
                if version == 1:  # one part
                    blobs_of_parts = [data["codes"]] if len(data["codes"]) else []
                    sizes = [len(code_keys)] if blobs_of_parts else []
                else:
                    sizes = data["sizes"].tolist() if version == VERSION else []
                    blobs_of_parts = [data[f"codes_{i}"] for i in range(len(sizes))]
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"cannot read the index's codes {path}: {exc}") from exc
        if version not in (1, VERSION) or rows.ndim != 2 or len(rows) != len(keys) or rows.dtype != np.int8:
            raise ValueError(f"the index's codes {path} are of another format")
        scan = cls(rows.shape[1], threads)
        scan.keys, scan.rows = keys.astype(np.int64), rows
        try:
            scan._parts = [faiss.deserialize_index(blob) for blob in blobs_of_parts]
        except RuntimeError as exc:
            raise ValueError(f"cannot read the index's codes {path}: {exc}") from exc
        ends = np.cumsum([0, *sizes])
        scan._part_keys = [code_keys[a:b].astype(np.int64) for a, b in zip(ends[:-1], ends[1:])]
        if not scan._parts:
            consistent = len(keys) <= CANDIDATES
        else:
            consistent = (
                ends[-1] == len(code_keys) == len(keys)
                and all(part.ntotal == size for part, size in zip(scan._parts, sizes))
                and np.array_equal(np.sort(code_keys), scan.keys)
            )
        if not consistent:
            raise ValueError(f"the index's codes {path} do not match its compact rows")
        return scan
