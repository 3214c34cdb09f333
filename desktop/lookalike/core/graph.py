"""Every file's nearest neighbours, searched once and kept, so any threshold regroups instantly.

Moving a threshold slider must not search the index again: the graph holds, for
each file, its K nearest neighbours down to a similarity floor, made symmetric
(if B is among A's neighbours, A is listed under B too). It is stored as
adjacency lists (CSR: `indptr`, `nbr`, `sim`), each list sorted by similarity,
best first, so the edges above any threshold come out of one vectorised mask in
an order grouping can use without sorting again. It is cached beside the index
(`.graph.npz`) under the same catalog token and rebuilt when the catalog changes.

Nodes are positions in `ids` (ascending file ids); int32 positions keep 100k
files x K=32 neighbours near 40 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike.core.catalog import Catalog
from lookalike.core.index import DEFAULT_THREADS, VectorIndex, catalog_state, open_index

#: Neighbours searched per file. Groups larger than this are still found whole as
#: long as every member lists the representative among its own K nearest.
K = 32
#: Weakest edge kept: below every threshold the settings offer (unrelated photos
#: of this model reach ~0.56, see docs/calibration.md).
FLOOR = 0.5
#: Files searched per batch while building (bounds the memory of one search call).
_BATCH = 4096


@dataclass(frozen=True, slots=True)
class KnnGraph:
    """Symmetric k-NN adjacency lists over node positions; each list best first."""

    ids: np.ndarray  # int64 file ids, ascending; node i is file ids[i]
    indptr: np.ndarray  # int64, len(ids) + 1: node i's neighbours are nbr[indptr[i]:indptr[i+1]]
    nbr: np.ndarray  # int32 node positions
    sim: np.ndarray  # float32, descending within each node's list
    floor: float
    k: int
    token: str | None = None  # the catalog state it was built from

    @classmethod
    def build(cls, index: VectorIndex, k: int = K, floor: float = FLOOR) -> KnnGraph:
        """Search every indexed file's k nearest and keep the edges at or above `floor`."""
        ids = index.keys()
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            keys, sims = index.search(index.vectors(batch), k + 1)  # +1: the file finds itself
            src = np.repeat(np.arange(start, start + len(batch)), keys.shape[1])
            dst = np.searchsorted(ids, keys.ravel())
            keep = (keys.ravel() >= 0) & (sims.ravel() >= floor)
            keep &= np.take(ids, dst, mode="clip") == keys.ravel()  # a key deleted meanwhile
            keep &= dst != src
            parts.append((src[keep], dst[keep], sims.ravel()[keep]))
        return cls.from_edges(ids, *_concat(parts), floor=floor, k=k, token=index.token)

    @classmethod
    def from_edges(
        cls,
        ids: np.ndarray,
        src: np.ndarray,
        dst: np.ndarray,
        sim: np.ndarray,
        floor: float,
        k: int = K,
        token: str | None = None,
    ) -> KnnGraph:
        """Any edge list (either direction, repeats allowed) as symmetric sorted adjacency."""
        n = len(ids)
        lo = np.minimum(src, dst).astype(np.int64)
        hi = np.maximum(src, dst).astype(np.int64)
        _, first = np.unique(lo * max(n, 1) + hi, return_index=True)
        lo, hi, w = lo[first], hi[first], np.asarray(sim, dtype=np.float32)[first]
        u, v, w = np.concatenate([lo, hi]), np.concatenate([hi, lo]), np.concatenate([w, w])
        order = np.lexsort((v, -w, u))
        return cls(
            ids=np.asarray(ids, dtype=np.int64),
            indptr=np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n))]).astype(np.int64),
            nbr=v[order].astype(np.int32),
            sim=w[order],
            floor=float(floor),
            k=int(k),
            token=token,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def adjacency(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed entries (u, v, sim) with sim >= threshold, grouped by u, best first within u."""
        if threshold < self.floor:
            raise ValueError(f"threshold {threshold} is below this graph's floor {self.floor}")
        keep = self.sim >= np.float32(threshold)
        owner = np.repeat(np.arange(len(self.ids), dtype=np.int32), np.diff(self.indptr))
        return owner[keep], self.nbr[keep], self.sim[keep]

    def edges_above(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(src, dst, sim) of each pair with similarity >= threshold once, src < dst."""
        u, v, w = self.adjacency(threshold)
        once = u < v
        return u[once], v[once], w[once]

    def positions(self, file_ids: np.ndarray) -> np.ndarray:
        """Node positions of file ids; -1 for ids not in the graph."""
        file_ids = np.asarray(file_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, file_ids)
        found = np.take(self.ids, pos, mode="clip") == file_ids if len(self.ids) else np.zeros(len(file_ids), bool)
        return np.where(found, pos, -1)

    def save(self, path: Path | str) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(
                handle,
                ids=self.ids,
                indptr=self.indptr,
                nbr=self.nbr,
                sim=self.sim,
                floor=np.float64(self.floor),
                k=np.int64(self.k),
                token=np.str_(self.token or ""),
            )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str) -> KnnGraph:
        """A saved graph; ValueError when the file is missing or unreadable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    ids=data["ids"],
                    indptr=data["indptr"],
                    nbr=data["nbr"],
                    sim=data["sim"],
                    floor=float(data["floor"]),
                    k=int(data["k"]),
                    token=str(data["token"]) or None,
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"cannot read neighbour graph {path}: {exc}") from exc


def graph_path(catalog: Catalog, model_id: str) -> Path:
    return catalog.index_path(model_id).with_suffix(".graph.npz")


def open_graph(
    catalog: Catalog, model_id: str, floor: float = FLOOR, threads: int = DEFAULT_THREADS
) -> KnnGraph:
    """The cached graph if it matches the catalog and reaches down to `floor`, else a new one."""
    state = catalog_state(catalog, model_id)
    path = graph_path(catalog, model_id)
    try:
        cached = KnnGraph.load(path)
        if cached.token == state.token and cached.floor <= floor:
            return cached
    except ValueError:
        pass  # missing or unreadable: built below
    if state.count == 0:
        empty = np.zeros(0, dtype=np.int64)
        return KnnGraph.from_edges(empty, empty, empty, np.zeros(0, np.float32), floor, token=state.token)
    graph = KnnGraph.build(open_index(catalog, model_id, state.dim, threads), floor=floor)
    graph.save(path)
    return graph


def _concat(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]
