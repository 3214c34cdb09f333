"""Every file's nearest neighbours, searched once and kept, so any threshold regroups instantly.

Moving a threshold slider must not search the index again: the graph holds, for
each file, its K nearest neighbours down to a similarity floor, made symmetric
(if B is among A's neighbours, A is listed under B too). It is stored as
adjacency lists (CSR: `indptr`, `nbr`, `sim`), each list sorted by similarity,
best first, so the edges above any threshold come out of one vectorised mask in
an order grouping can use without sorting again. It is cached beside the index
(`.graph.npz`) under the catalog token and rebuilt when the catalog changes.

Each edge also carries the structural score of the pair (core/structure.py)
wherever the cosine reaches DUPLICATE_GATE: embeddings rate other shots of one
scene as high as copies, alignment of the photos' signatures tells them apart
(docs/calibration.md). Signatures missing from the catalog (files scanned before
signatures existed) are computed once here and stored.

Nodes are positions in `ids` (ascending file ids); int32 positions keep 100k
files x K=32 neighbours near 40 MB.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lookalike.core import structure
from lookalike.core.catalog import Catalog
from lookalike.core.images import ImageError, decode
from lookalike.core.index import (
    DEFAULT_THREADS,
    VectorIndex,
    catalog_state,
    file_stamp,
    open_index,
    temporary_beside,
)
from lookalike.core.schema import File, Signature

Measure = Literal["cosine", "structure"]

#: Neighbours searched per file. Groups larger than this are still found whole as
#: long as every member lists the representative among its own K nearest.
K = 32
#: Weakest edge kept: below every threshold the settings offer (unrelated photos
#: of this model reach ~0.56, see docs/calibration.md).
FLOOR = 0.45
#: Cosine below which two photos are never called duplicates, however well they
#: align: greyscale copies reach 0.57, unrelated photos 0.65 (docs/calibration.md).
DUPLICATE_GATE = 0.45
#: Pixels a missing signature is computed from (the shipped model's input size).
_SIGNATURE_DECODE = (224, 224)
#: Files searched per batch while building (bounds the memory of one search call).
_BATCH = 4096


@dataclass(frozen=True, slots=True)
class KnnGraph:
    """Symmetric k-NN adjacency lists over node positions; each list best first."""

    ids: np.ndarray  # int64 file ids, ascending; node i is file ids[i]
    indptr: np.ndarray  # int64, len(ids) + 1: node i's neighbours are nbr[indptr[i]:indptr[i+1]]
    nbr: np.ndarray  # int32 node positions
    sim: np.ndarray  # float32 cosine, descending within each node's list
    floor: float
    k: int
    token: str | None = None  # the catalog state it was built from
    #: float32 structural score per entry; NaN below DUPLICATE_GATE or without signatures.
    structure: np.ndarray | None = None

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

    def owners(self) -> np.ndarray:
        """The node each entry of `nbr` belongs to (the u of entry (u, v))."""
        return np.repeat(np.arange(len(self.ids), dtype=np.int32), np.diff(self.indptr))

    def adjacency(self, threshold: float, by: Measure = "cosine") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed entries (u, v, score) with score >= threshold, grouped by u.

        `by` picks the score: the cosine (any threshold down to the floor) or the
        structural score (only entries at or above DUPLICATE_GATE have one).
        """
        if by == "cosine":
            if threshold < self.floor:
                raise ValueError(f"threshold {threshold} is below this graph's floor {self.floor}")
            score = self.sim
        elif self.structure is None:
            raise ValueError("this graph has no structural scores")
        else:
            score = self.structure
        keep = score >= np.float32(threshold)  # NaN compares False
        return self.owners()[keep], self.nbr[keep], score[keep]

    def edges_above(self, threshold: float, by: Measure = "cosine") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(src, dst, score) of each pair with score >= threshold once, src < dst."""
        u, v, w = self.adjacency(threshold, by)
        once = u < v
        return u[once], v[once], w[once]

    def with_structure(self, signatures: dict[int, bytes]) -> KnnGraph:
        """A copy whose entries at or above DUPLICATE_GATE carry the pair's structural score.

        `signatures` maps file ids to `structure.signature` blobs; pairs missing one get NaN.
        """
        n = len(self.ids)
        u, v = self.owners().astype(np.int64), self.nbr.astype(np.int64)
        has = np.fromiter((int(i) in signatures for i in self.ids), dtype=bool, count=n)
        todo = (u < v) & (self.sim >= np.float32(DUPLICATE_GATE)) & has[u] & has[v]
        scores = np.full(len(u), np.nan, dtype=np.float32)
        if todo.any():
            nodes = np.unique(np.concatenate([u[todo], v[todo]]))
            sigs = structure.unpack([signatures[int(self.ids[i])] for i in nodes])
            a, b = np.searchsorted(nodes, u[todo]), np.searchsorted(nodes, v[todo])
            pair_scores = structure.pair_scores(sigs[a], sigs[b])
            # Give each pair's score to both of its entries, (u, v) and (v, u).
            codes = u[todo] * n + v[todo]
            order = np.argsort(codes)
            codes, pair_scores = codes[order], pair_scores[order]
            lookup = np.minimum(u, v) * n + np.maximum(u, v)
            where = np.clip(np.searchsorted(codes, lookup), 0, len(codes) - 1)
            found = (codes[where] == lookup) & (self.sim >= np.float32(DUPLICATE_GATE))
            scores[found] = pair_scores[where[found]]
        return replace(self, structure=scores)

    def positions(self, file_ids: np.ndarray) -> np.ndarray:
        """Node positions of file ids; -1 for ids not in the graph."""
        file_ids = np.asarray(file_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, file_ids)
        found = np.take(self.ids, pos, mode="clip") == file_ids if len(self.ids) else np.zeros(len(file_ids), bool)
        return np.where(found, pos, -1)

    def save(self, path: Path | str) -> None:
        path = Path(path)
        tmp = temporary_beside(path)
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
                **({} if self.structure is None else {"structure": self.structure}),
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
                    structure=data["structure"] if "structure" in data else None,
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"cannot read neighbour graph {path}: {exc}") from exc


def graph_path(catalog: Catalog, model_id: str) -> Path:
    return catalog.index_path(model_id).with_suffix(".graph.npz")


def open_graph(
    catalog: Catalog, model_id: str, floor: float = FLOOR, threads: int = DEFAULT_THREADS
) -> KnnGraph:
    """The cached graph if it matches the catalog and reaches down to `floor` (the weakest
    cosine the caller groups at), else a new one.

    A new graph comes with structural scores (signatures missing from the catalog
    are computed and stored first). Graphs are immutable, so one object is shared
    by every caller in the process.
    """
    path = graph_path(catalog, model_id)
    token = graph_token(catalog, model_id)
    mtime, cached = _opened.get(path, (None, None))
    if cached is None or cached.token != token or mtime != file_stamp(path):
        cached = _load_or_none(path)
    if cached is not None and cached.token == token and cached.floor <= floor:
        _opened[path] = (file_stamp(path), cached)
        return cached
    state = catalog_state(catalog, model_id)
    if state.count == 0:
        empty = np.zeros(0, dtype=np.int64)
        graph = KnnGraph.from_edges(empty, empty, empty, np.zeros(0, np.float32), min(floor, FLOOR), token=state.token)
    else:
        graph = KnnGraph.build(open_index(catalog, model_id, state.dim, threads), floor=min(floor, FLOOR))
    candidates = np.unique(graph.ids[graph.owners()[graph.sim >= DUPLICATE_GATE]])
    graph = graph.with_structure(signatures(catalog, candidates))
    # The vectors' token from before they were read, so a change during the build shows as stale.
    graph = replace(graph, token=f"{graph.token}:{_signature_count(catalog)}")
    graph.save(path)
    _opened[path] = (file_stamp(path), graph)
    return graph


#: The last graph opened per file (with the file's mtime): regrouping skips even the disk read.
_opened: dict[Path, tuple[int | None, KnnGraph]] = {}


def _load_or_none(path: Path) -> KnnGraph | None:
    try:
        return KnnGraph.load(path)
    except ValueError:
        return None  # missing or unreadable: rebuilt


def graph_token(catalog: Catalog, model_id: str) -> str:
    """What a cached graph must match: the vectors' catalog token and the signature count."""
    return f"{catalog_state(catalog, model_id).token}:{_signature_count(catalog)}"


def _signature_count(catalog: Catalog) -> int:
    stmt = select(func.count()).select_from(Signature).join(File, File.id == Signature.file_id)
    with catalog.session() as session:
        return int(session.execute(stmt.where(File.status == "ok")).scalar_one())


def signatures(catalog: Catalog, file_ids: np.ndarray) -> dict[int, bytes]:
    """Stored signatures of `file_ids`; missing ones are decoded, stored and returned too.

    A file that cannot be decoded now simply has none (it cannot be called a duplicate).
    """
    ids = [int(i) for i in file_ids]
    found: dict[int, bytes] = {}
    with catalog.session() as session:
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            stmt = select(Signature.file_id, Signature.data).where(Signature.file_id.in_(chunk))
            found.update((i, data) for i, data in session.execute(stmt))
    missing = [i for i in ids if i not in found]
    if not missing:
        return found
    made: dict[int, bytes] = {}
    for file in catalog.files(missing).values():
        try:
            made[file.id] = structure.signature(decode(file.path, _SIGNATURE_DECODE).pixels)
        except ImageError:
            continue
    if made:
        rows = [{"file_id": i, "data": data} for i, data in made.items()]
        with catalog.session() as session:  # a scan may store the same signature meanwhile
            session.execute(sqlite_insert(Signature).on_conflict_do_nothing(), rows)
    return found | made


def _concat(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate(column) for column in zip(*parts))  # type: ignore[return-value]
