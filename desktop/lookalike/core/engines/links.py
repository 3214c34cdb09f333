"""The HNSW graph of a compact index: faiss's, over 8-bit scalar-quantized compact vectors.

A compact index (core/engines/index.py) keeps a graph for the library-wide searches,
which ask for every photo's neighbours at once (the neighbour graph, albums). On the
1M bench library (192 dims, 32 links, the same insertion and search effort) faiss's
HNSW over 8-bit codes was built in 308 s (the bench's whole index build: 347 s, where
usearch's int8 graph took 549-650 s), and searched 20,000 photos in 2.5 s where
usearch's took 6.2 s, finding slightly more of the true neighbours
(docs/calibration.md, "faiss's graph for a compact index"):
faiss computes a node's neighbour distances four at a time, so their memory is
fetched side by side instead of one vector after another.

faiss's HNSW cannot remove a node. A removed photo's node stays in the graph (searches
still walk through it) but is never answered: searches filter it out by a bitmap, and
its key is dropped. Such nodes stay until the index is next rebuilt (a large change,
or a refit of the projection), as usearch's removed nodes did.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

import faiss
import numpy as np

#: Links per node above the base layer (twice as many on it), as usearch's CONNECTIVITY.
CONNECTIVITY = 32
#: Candidates weighed while inserting: a compact graph only proposes candidates
#: (docs/calibration.md, "Compact vectors": 128 cost half of 256 for 0.2 points of recall).
EXPANSION_ADD = 128
#: Rows the quantizer's ranges are fitted on (each dimension's minimum and maximum).
_TRAIN = 65_536
#: Threads inserting into a nearly empty graph miss each other's nodes: on the devset's
#: 278 vectors, 2 threads lost up to 4% of the nearest neighbours (1 thread: none). The
#: first SEED nodes of either graph (this one, and a whole index's usearch graph) go in one
#: at a time (`one_at_a_time`).
SEED = 2048
#: Bump when the saved layout changes: older files are rebuilt.
VERSION = 1


def one_at_a_time(held: int, adding: int) -> int:
    """How many of `adding` nodes go into a graph of `held` nodes on one thread (SEED)."""
    return max(0, min(SEED - held, adding))


class LinkGraph:
    """faiss HNSW over compact unit vectors, keyed by file id."""

    def __init__(self, dim: int, threads: int) -> None:
        self.dim = dim
        self.threads = threads
        self._graph = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, CONNECTIVITY, faiss.METRIC_INNER_PRODUCT)
        self._graph.hnsw.efConstruction = EXPANSION_ADD
        #: The key of each node in insertion order; -1 once removed.
        self.labels = np.zeros(0, dtype=np.int64)
        self._answered: np.ndarray | None = None  # packed bitmap of live nodes, while any is removed

    def __len__(self) -> int:
        return int(np.count_nonzero(self.labels >= 0))

    def add(self, keys: np.ndarray, compact: np.ndarray) -> None:
        """Insert float32 unit rows under `keys`, none of them held."""
        rows = np.ascontiguousarray(compact, dtype=np.float32)
        if not len(rows):
            return
        faiss.omp_set_num_threads(max(1, self.threads))
        if not self._graph.is_trained:
            sample = np.random.default_rng(0).permutation(len(rows))[:_TRAIN]
            self._graph.train(rows[np.sort(sample)])
        seed = one_at_a_time(self._graph.ntotal, len(rows))
        if seed:
            faiss.omp_set_num_threads(1)
            self._graph.add(rows[:seed])
            faiss.omp_set_num_threads(max(1, self.threads))
        if seed < len(rows):
            self._graph.add(rows[seed:])
        self.labels = np.concatenate([self.labels, np.asarray(keys, dtype=np.int64)])
        if self._answered is not None:
            self._mark_answered()  # the bitmap made again to cover the nodes added

    def remove(self, keys: np.ndarray) -> None:
        """Stop answering `keys` (ones not held are ignored)."""
        gone = np.isin(self.labels, keys) & (self.labels >= 0)
        if gone.any():
            self.labels[gone] = -1
            self._mark_answered()

    def _mark_answered(self) -> None:
        if np.any(self.labels < 0):
            self._answered = np.packbits(self.labels >= 0, bitorder="little")

    def search(self, queries: np.ndarray, k: int, expansion: int) -> np.ndarray:
        """Keys of the `k` best nodes of each compact unit query (-1: none), exploring
        `expansion` nodes (never fewer than k)."""
        found = np.full((len(queries), k), -1, dtype=np.int64)
        if not len(self) or not len(queries) or k <= 0:
            return found
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(expansion, k)
        if self._answered is not None:
            selector = faiss.IDSelectorBitmap(len(self.labels), faiss.swig_ptr(self._answered))
            params.sel = selector  # `selector` and the bitmap outlive the search
        faiss.omp_set_num_threads(max(1, self.threads))
        _, nodes = self._graph.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        found[nodes >= 0] = self.labels[nodes[nodes >= 0]]
        return found

    @property
    def nbytes(self) -> int:
        """Memory held: codes, links and keys."""
        hnsw = self._graph.hnsw
        links = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        codes = faiss.downcast_index(self._graph.storage).code_size * self._graph.ntotal
        return int(codes + links + self.labels.nbytes)

    def save(self, handle: BinaryIO) -> None:
        np.savez(handle, version=np.int64(VERSION), labels=self.labels, graph=faiss.serialize_index(self._graph))

    @staticmethod
    def held_in(source: BinaryIO) -> int:
        """Photos answered by a saved graph, read without its links; ValueError when unreadable."""
        return int(np.count_nonzero(_read(source, ("labels",))[0] >= 0))

    @classmethod
    def load(cls, source: BinaryIO, dim: int, threads: int) -> LinkGraph:
        """A saved graph; ValueError when unreadable, of another VERSION or dimension."""
        labels, blob = _read(source, ("labels", "graph"))
        try:
            graph = faiss.deserialize_index(blob)
        except RuntimeError as exc:
            raise ValueError(f"cannot read the index's graph: {exc}") from exc
        if graph.d != dim or graph.ntotal != len(labels) or not isinstance(graph, faiss.IndexHNSWSQ):
            raise ValueError("the index's graph is of another form")
        out = cls(dim, threads)
        out._graph, out.labels = graph, labels.astype(np.int64)
        out._mark_answered()
        return out


def _read(source: BinaryIO, names: tuple[str, ...]) -> list[np.ndarray]:
    try:
        source.seek(0)
        with np.load(source, allow_pickle=False) as data:
            if int(data["version"]) != VERSION:
                raise ValueError(f"the index's graph is of layout {int(data['version'])}, expected {VERSION}")
            return [data[name] for name in names]
    except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile) as exc:  # ValueError: not an npz
        raise ValueError(f"cannot read the index's graph: {exc}") from exc
