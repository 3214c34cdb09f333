"""Every file's nearest neighbours, searched once and kept, so any threshold regroups instantly.

Moving a threshold slider must not search the index again: the graph holds, for
each file, its K nearest neighbours down to a similarity floor, made symmetric
(if B is among A's neighbours, A is listed under B too). It is stored as
adjacency lists (CSR: `indptr`, `nbr`, `sim`), each list sorted by similarity,
best first, so the edges above any threshold come out of one vectorised mask in
an order grouping can use without sorting again. It is cached beside the index
(`.graph.npz`) with the catalog token and each file's content stamp; when the
catalog changes, only the added or changed files are searched again and the
edges of removed ones dropped (a large change rebuilds it).

Each edge also carries the structural score of the pair (core/structure.py)
wherever the cosine reaches DUPLICATE_GATE: embeddings rate other shots of one
scene as high as copies, alignment of the photos' signatures tells them apart
(docs/calibration.md). Edges that align well enough to be copies or burst
frames also carry the verdict of the finer check (core/proof.py): only a proven
SAME_PICTURE edge makes a duplicate, a SAME_MOMENT one a burst. Scores and
verdicts are computed once per edge: an update works only on its new edges, and
a rebuild takes the verdicts of unchanged pairs from the graph it replaces
(proving reads both files again: core/matching/evidence.py).

Nodes are positions in `ids` (ascending file ids); int32 positions keep 100k
files x K=32 neighbours near 40 MB.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import func, select

from lookalike.core.matching import evidence, proof, scene, structure
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.index import (
    DEFAULT_THREADS,
    FullVectors,
    Stamps,
    VectorIndex,
    catalog_stamps,
    catalog_state,
    file_stamp,
    held_in_memory,
    id_positions,
    id_table,
    open_index,
    save_atomically,
)
from lookalike.core.catalog.schema import File, Signature

Measure = Literal["cosine", "structure", "scene"]

#: Neighbours searched per file. Groups larger than this are still found whole as
#: long as every member lists the representative among its own K nearest.
K = 32
#: Cosine below which two photos are never called duplicates, however well they
#: align. The embedding only proposes candidates here; the structural score
#: decides, and it stays <= 0.57 for unrelated pairs down to cosine 0.30 while
#: copies turned sideways fall to 0.42 and greyscale ones to 0.57
#: (docs/calibration.md).
DUPLICATE_GATE = 0.30
#: Weakest edge kept: the gate, and below every threshold the settings offer.
FLOOR = DUPLICATE_GATE
#: Edges whose structural score reaches this are checked for proof of the same picture:
#: below it no copy was ever seen (docs/calibration.md), so lower duplicate thresholds
#: in the settings change nothing.
PROVE_DUPLICATE = 0.85
#: Edges aligning at least this well whose cosine reaches BURST_COSINE are checked for
#: the same moment (burst frames, brackets): such frames keep their content (cosine)
#: while a moving camera spoils their alignment.
BURST_STRUCTURE = 0.60
BURST_COSINE = 0.80
#: Nodes the HNSW graph explores per file while building over full vectors, and while updating
#: (never fewer than the candidates asked for): on 100k synthetic photos 128 found the
#: same neighbours as 66 at twice the time (docs/calibration.md, "Building the graph").
GRAPH_EXPANSION = 64
#: Candidates a compact index (a library of projection.MIN_PHOTOS or more) proposes per file
#: while building, explored and re-ranked, its K+1 best kept. On 200k synthetic photos 48
#: kept 99.99% of the true K nearest at cosine 0.62 or more (66: the same) and 99.8% at 0.5
#: or more (66: 99.9%), in 27% less time; the neighbours it misses are near-ties below that,
#: which in libraries this large are unrelated photos (docs/calibration.md, "The graph
#: build at 1M"). Updates search with more (2K) candidates.
COMPACT_GRAPH_CANDIDATES = 48
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
    #: int64 content stamp per node (index.Stamps), to update the graph in place later.
    stamps: np.ndarray | None = None
    #: int8 proof.Verdict per entry; UNCHECKED where the pair is no candidate or lacks details.
    proof: np.ndarray | None = None
    #: float32 projected similarity per entry (core/scene.py), NaN until computed.
    scene: np.ndarray | None = None
    #: The library's principal axes the scene similarities were computed in.
    basis: scene.Basis | None = None
    #: Worked out once and kept: what every regroup by the scene score needs whatever the
    #: threshold (`_scene_entries`), each entry's reverse (`_reverse_entries`). `replace`
    #: starts a new graph with an empty store; `_same_edges` carries the reverse along.
    _derived: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, index: VectorIndex, k: int = K, floor: float = FLOOR, full: FullVectors | None = None) -> KnnGraph:
        """Search every indexed file's k nearest and keep the edges at or above `floor`.

        A compact index re-ranks by full vectors: `full` (e.g. all of them in memory)
        instead of the index's own source, when given.
        """
        ids = index.keys()
        src, dst, sim = _search_edges(index, ids, ids, k, floor, full, COMPACT_GRAPH_CANDIDATES)
        return cls.from_edges(ids, src, dst, sim, floor=floor, k=k, token=index.token)

    def updated(self, index: VectorIndex, ids: np.ndarray, fresh: np.ndarray) -> KnnGraph:
        """This graph over the files `ids`, with `fresh` ones (added or changed) searched anew:
        the edges a full build would find, wherever the searches find each other.

        A full build keeps each file's own K nearest, made symmetric; those are the K
        best of the file's list here. A file that lost one of them (removed or changed)
        is searched again with the fresh ones; any other keeps its K nearest, and a
        searched file that finds it enters them when it beats the weakest (which then
        leaves, unless it lists the file itself). Surviving pairs keep their scores.
        """
        owners = self.owners()
        dropped = ~np.isin(self.ids, ids) | np.isin(self.ids, fresh)  # per old node
        rank = np.arange(len(self.nbr)) - np.repeat(self.indptr[:-1], np.diff(self.indptr))
        nearest = rank < self.k
        lost = np.zeros(len(self.ids), dtype=bool)
        lost[owners[nearest & dropped[self.nbr]]] = True
        kept = nearest & ~dropped[owners] & ~lost[owners]
        again = np.union1d(fresh[np.isin(fresh, ids)], self.ids[lost & ~dropped])
        # Twice K: a searched file enters the lists of files it is not among the K nearest of.
        new_src, new_dst, new_sim = _search_edges(index, ids, again, 2 * self.k, self.floor)
        joins = ~np.isin(new_dst, np.searchsorted(ids, again))
        first = np.searchsorted(new_src, new_src, side="left")  # each query's results are contiguous, best first
        mine = np.arange(len(new_src)) - first < self.k
        # The old files' own lists, with each searched file that found them as a candidate.
        own_src = np.concatenate([np.searchsorted(ids, self.ids[owners[kept]]), new_dst[joins]])
        own_dst = np.concatenate([np.searchsorted(ids, self.ids[self.nbr[kept]]), new_src[joins]])
        own_sim = np.concatenate([self.sim[kept], new_sim[joins]])
        order = np.lexsort((-own_sim, own_src))
        starts = np.searchsorted(own_src[order], own_src[order], side="left")
        best = order[np.arange(len(order)) - starts < self.k]
        carried = best[best < int(kept.sum())]  # old entries first: from_edges keeps the first of a pair
        fresh_ones = best[best >= int(kept.sum())]

        def values(column: np.ndarray | None, empty: float | int, dtype: type) -> np.ndarray:
            old = column[kept][carried] if column is not None else np.full(len(carried), empty)
            return np.concatenate([old, np.full(len(fresh_ones) + int(mine.sum()), empty)]).astype(dtype)

        updated = KnnGraph.from_edges(
            ids,
            np.concatenate([own_src[carried], own_src[fresh_ones], new_src[mine]]),
            np.concatenate([own_dst[carried], own_dst[fresh_ones], new_dst[mine]]),
            np.concatenate([own_sim[carried], own_sim[fresh_ones], new_sim[mine]]),
            floor=self.floor,
            k=self.k,
            token=index.token,
            structure=values(self.structure, np.nan, np.float32),
            proof=values(self.proof, proof.Verdict.UNCHECKED, np.int8),
            scene=values(self.scene, np.nan, np.float32),
        )
        return replace(updated, basis=self.basis)  # kept while a fit would not change them (with_scene)

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
        structure: np.ndarray | None = None,
        proof: np.ndarray | None = None,
        scene: np.ndarray | None = None,
    ) -> KnnGraph:
        """Any edge list (either direction, repeats allowed) as symmetric sorted adjacency.

        `structure`, `proof` and `scene`, when given, are per-edge values carried to both directions.
        """
        n = len(ids)
        lo = np.minimum(src, dst).astype(np.int64)
        hi = np.maximum(src, dst).astype(np.int64)
        _, first = np.unique(lo * max(n, 1) + hi, return_index=True)
        lo, hi, w = lo[first], hi[first], np.asarray(sim, dtype=np.float32)[first]
        v, w = np.concatenate([hi, lo]), np.concatenate([w, w])
        indptr, order = _adjacency_order(n, lo, hi, w)

        def both_ways(values: np.ndarray | None, dtype: type) -> np.ndarray | None:
            if values is None:
                return None
            once = np.asarray(values, dtype=dtype)[first]
            return np.concatenate([once, once])[order]

        return cls(
            ids=np.asarray(ids, dtype=np.int64),
            indptr=indptr,
            nbr=v[order].astype(np.int32),
            sim=w[order],
            floor=float(floor),
            k=int(k),
            token=token,
            structure=both_ways(structure, np.float32),
            proof=both_ways(proof, np.int8),
            scene=both_ways(scene, np.float32),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def owners(self) -> np.ndarray:
        """The node each entry of `nbr` belongs to (the u of entry (u, v))."""
        return np.repeat(np.arange(len(self.ids), dtype=np.int32), np.diff(self.indptr))

    def adjacency(
        self, threshold: float, by: Measure = "cosine", proven: proof.Verdict | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed entries (u, v, score) with score >= threshold, grouped by u.

        `by` picks the score: the cosine (any threshold down to the floor), the
        structural score (only entries at or above DUPLICATE_GATE have one), or the
        scene score (core/scene.py; only entries whose cosine reaches scene.GATE).
        `proven` keeps only entries whose verdict is at least that one.
        """
        candidates = owners = None  # every entry
        if by == "cosine":
            if threshold < self.floor:
                raise ValueError(f"threshold {threshold} is below this graph's floor {self.floor}")
            score = self.sim
        elif by == "scene":
            candidates, owners, score = self._scene_entries()
        elif self.structure is None:
            raise ValueError("this graph has no structural scores")
        else:
            score = self.structure
        keep = score >= np.float32(threshold)  # NaN compares False
        if proven is not None:
            if self.proof is None:
                raise ValueError("this graph has no proof verdicts")
            keep &= (self.proof if candidates is None else self.proof[candidates]) >= np.int8(proven)
        if candidates is None or owners is None:
            entries = np.flatnonzero(keep)
            # The owners of the kept entries only: at a million photos `owners()` is 51M numbers.
            return self._owners_of(entries), self.nbr[entries], score[keep]
        return owners[keep], self.nbr[candidates[keep]], score[keep]

    def _owners_of(self, entries: np.ndarray) -> np.ndarray:
        """The node of each entry position (ascending), without `owners()`' 51M numbers at 1M."""
        return (np.searchsorted(self.indptr, entries, side="right") - 1).astype(np.int32)

    def _scene_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(entries, owners, scene scores) of the entries whose cosine reaches scene.GATE, the only
        ones a scene score groups. Computed by the first regroup and kept: a slider's next move
        only compares them with its threshold (at 1M photos 4.7M entries, ~60 MB, 0.3 s to score)."""
        if self.scene is None:
            raise ValueError("this graph has no scene similarities")
        if "scene" not in self._derived:  # two threads may both compute it: same values either way
            entries = np.flatnonzero(self.sim >= np.float32(scene.GATE))
            owners = self._owners_of(entries)
            score = scene.scores(self.scene, self.indptr, self.nbr, self.k, (entries, owners))
            self._derived["scene"] = (entries, owners, score)
        return self._derived["scene"]

    def edges_above(
        self, threshold: float, by: Measure = "cosine", proven: proof.Verdict | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(src, dst, score) of each pair with score >= threshold once, src < dst."""
        u, v, w = self.adjacency(threshold, by, proven)
        once = u < v
        return u[once], v[once], w[once]

    def with_structure(self, fetch: Callable[[np.ndarray], dict[int, bytes]], threads: int = DEFAULT_THREADS) -> KnnGraph:
        """A copy whose unscored entries at or above DUPLICATE_GATE get the pair's structural score.

        `fetch` returns `structure.signature` blobs for file ids, asked only for the
        files of unscored pairs; pairs missing a signature stay NaN. `threads` score side by side.
        """
        u, v = self.owners().astype(np.int64), self.nbr.astype(np.int64)
        scores = self.structure.copy() if self.structure is not None else np.full(len(u), np.nan, np.float32)
        todo = (u < v) & (self.sim >= np.float32(DUPLICATE_GATE)) & np.isnan(scores)
        if not todo.any():
            return self._same_edges(structure=scores)
        with ThreadPoolExecutor(1) as aside:
            # Each entry's reverse (~6 s at 1M photos) is needed once the pairs are scored: it is
            # worked out on the core that fetching and laying out the signatures leaves idle.
            reverse = aside.submit(self._reverse_entries)
            signatures, todo = _fetch_pairs(self.ids, u, v, todo, fetch)
            if todo.any():
                nodes, a, b = _rows(len(self.ids), u[todo], v[todo])
                blobs = [signatures[int(self.ids[i])] for i in nodes]
                values = structure.blob_scores(blobs, a, b, threads=threads)
                reverse.result()
                self._give_both_entries(scores, todo, values)
        return self._same_edges(structure=scores)

    def with_proof(self, fetch: Callable[[np.ndarray], dict[int, proof.Detail]]) -> KnnGraph:
        """A copy whose unchecked candidate entries get their proof.Verdict.

        Candidates align like copies (structure >= PROVE_DUPLICATE) or like burst
        frames of one content (structure >= BURST_STRUCTURE and cosine >=
        BURST_COSINE). `fetch` returns a Detail for file ids (core/matching/evidence.py
        reads the files); pairs missing one stay UNCHECKED (and are never called duplicates).
        """
        verdicts, todo = self._unchecked_candidates()
        if not todo.any():
            return self._same_edges(proof=verdicts)
        u, v = self.owners().astype(np.int64), self.nbr.astype(np.int64)
        details, todo = _fetch_pairs(self.ids, u, v, todo, fetch)
        if todo.any():
            pairs = ((details[int(self.ids[a])], details[int(self.ids[b])]) for a, b in zip(u[todo], v[todo]))
            self._give_both_entries(verdicts, todo, proof.verdicts(pairs))
        return self._same_edges(proof=verdicts)

    def with_verdicts_of(self, older: KnnGraph) -> KnnGraph:
        """A copy whose unchecked candidate entries take the verdict `older` gave the same
        two files, where neither changed since (same content stamps): a rebuilt graph
        proves again only pairs it has not seen, since proving reads both files."""
        verdicts, todo = self._unchecked_candidates()
        if older.proof is None or older.stamps is None or self.stamps is None or not todo.any():
            return self._same_edges(proof=verdicts)
        old_u, old_v = older.owners().astype(np.int64), older.nbr.astype(np.int64)
        known = np.flatnonzero((old_u < old_v) & (older.proof != proof.Verdict.UNCHECKED))
        a, b = self.positions(older.ids[old_u[known]]), self.positions(older.ids[old_v[known]])
        same = (a >= 0) & (b >= 0)
        same[same] = (self.stamps[a[same]] == older.stamps[old_u[known][same]]) & (
            self.stamps[b[same]] == older.stamps[old_v[known][same]]
        )
        n = np.int64(len(self.ids))
        codes = a[same].astype(np.int64) * n + b[same]  # positions ascend with ids, so a < b still
        order = np.argsort(codes)
        codes, found_verdicts = codes[order], older.proof[known[same]][order]
        entries = np.flatnonzero(todo)
        wanted = self.owners()[entries].astype(np.int64) * n + self.nbr[entries]
        at = np.minimum(np.searchsorted(codes, wanted), max(len(codes) - 1, 0))
        hit = (codes[at] == wanted) if len(codes) else np.zeros(len(wanted), dtype=bool)
        carried = np.zeros(len(todo), dtype=bool)
        carried[entries[hit]] = True
        if carried.any():
            self._give_both_entries(verdicts, carried, found_verdicts[at[hit]])
        return self._same_edges(proof=verdicts)

    def _unchecked_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """(a copy of the verdicts, the entries u < v that are candidates for proof and unchecked)."""
        u = self.owners()
        verdicts = self.proof.copy() if self.proof is not None else np.full(len(u), proof.Verdict.UNCHECKED, np.int8)
        if self.structure is None:
            return verdicts, np.zeros(len(u), dtype=bool)
        score = np.nan_to_num(self.structure, nan=-1.0)
        candidate = (score >= PROVE_DUPLICATE) | ((score >= BURST_STRUCTURE) & (self.sim >= np.float32(BURST_COSINE)))
        return verdicts, (u < self.nbr) & candidate & (verdicts == proof.Verdict.UNCHECKED)

    def with_scene(self, fetch: Callable[[np.ndarray], np.ndarray]) -> KnnGraph:
        """A copy whose entries without a scene similarity get one (the axes fitted first
        when the graph has none); `fetch` returns float32 vectors of file ids, in order."""
        if not len(self.ids):
            return self._same_edges(scene=np.zeros(0, np.float32))
        basis = self.basis
        if basis is None or basis.stale(len(self.ids)):
            basis = scene.fit(fetch(scene.sample_ids(self.ids)), len(self.ids))
        u, v = self.owners().astype(np.int64), self.nbr.astype(np.int64)
        kept = self.scene is not None and basis is self.basis
        values = self.scene.copy() if kept else np.full(len(u), np.nan, np.float32)
        todo = (u < v) & np.isnan(values)
        if todo.any():
            nodes, a, b = _rows(len(self.ids), u[todo], v[todo])
            self._give_both_entries(values, todo, scene.similarities(a, b, self.ids[nodes], fetch, basis))
        return self._same_edges(scene=values, basis=basis)

    def _give_both_entries(self, out: np.ndarray, todo: np.ndarray, values: np.ndarray) -> None:
        """Write each pair's value (given for the entries `todo`, all with u < v) to both
        of its entries, (u, v) and (v, u)."""
        entries = np.flatnonzero(todo)
        out[entries] = values
        out[self._reverse_entries()[entries]] = values

    def _reverse_entries(self) -> np.ndarray:
        """Each entry's reverse (`_reverse`), worked out once for a graph and the copies
        `_same_edges` makes of it: a build's structure, proof and scene steps each need
        it (~5 s at a million photos)."""
        if "reverse" not in self._derived:
            self._derived["reverse"] = (_reverse(self.owners().astype(np.int64), self.nbr.astype(np.int64)),)
        return self._derived["reverse"][0]

    def _same_edges(self, **changes: object) -> KnnGraph:
        """`replace` for a copy with these very edges: what depends on the edges alone comes along."""
        copy = replace(self, **changes)  # type: ignore[arg-type]
        if "reverse" in self._derived:
            copy._derived["reverse"] = self._derived["reverse"]
        return copy

    def positions(self, file_ids: np.ndarray) -> np.ndarray:
        """Node positions of file ids; -1 for ids not in the graph."""
        return id_positions(self.ids, file_ids)

    def save(self, path: Path | str) -> None:
        """Write atomically, leaving no temporary file; SaveError (core/index.py) when it fails."""
        save_atomically(Path(path), self._write)

    def _write(self, tmp: Path) -> None:
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
                **({} if self.stamps is None else {"stamps": self.stamps}),
                **({} if self.proof is None else {"proof": self.proof}),
                **({} if self.scene is None else {"scene": self.scene}),
                **({} if self.basis is None else {
                    "basis_mean": self.basis.mean, "basis_axes": self.basis.axes, "basis_count": np.int64(self.basis.count)}),
            )

    @classmethod
    def load(cls, path: Path | str) -> KnnGraph:
        """A saved graph; ValueError when the file is missing or unreadable.

        Its large arrays are mapped from the file, not read (see `_mapped`): opening a
        million photos' graph (~0.9 GB) costs only the pages a view touches.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                big = _mapped(Path(path), data)

                def array(name: str) -> np.ndarray | None:
                    return big[name] if name in big else data[name] if name in data else None

                return cls(
                    ids=array("ids"),  # type: ignore[arg-type]
                    indptr=array("indptr"),  # type: ignore[arg-type]
                    nbr=array("nbr"),  # type: ignore[arg-type]
                    sim=array("sim"),  # type: ignore[arg-type]
                    floor=float(data["floor"]),
                    k=int(data["k"]),
                    token=str(data["token"]) or None,
                    structure=array("structure"),
                    stamps=array("stamps"),
                    proof=array("proof"),
                    scene=array("scene"),
                    basis=scene.Basis(data["basis_mean"], data["basis_axes"], int(data.get("basis_count", 0)))
                    if "basis_axes" in data else None,
                )
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"cannot read neighbour graph {path}: {exc}") from exc


#: Arrays a saved graph maps rather than reads (the per-node and per-entry ones).
_MAPPED = ("ids", "indptr", "nbr", "sim", "structure", "stamps", "proof", "scene")
#: Mapped arrays checked against the file's CRC as np.load checks what it reads (~40 ms at
#: 1M photos): who is linked to whom, the proof verdicts, and the stamps that tell an
#: update which files changed. A damaged score can at worst misplace a pair among the
#: unproven ones (no pair is a duplicate or a burst without its verdict).
_CHECKED = ("ids", "indptr", "nbr", "proof", "stamps")
#: numpy's readers of the .npy header versions np.savez writes.
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _mapped(path: Path, data: np.lib.npyio.NpzFile) -> dict[str, np.ndarray]:
    """The large arrays of a saved graph as read-only maps of the file (np.savez stores
    them uncompressed, each at a known offset); ValueError when a _CHECKED one is damaged.
    Empty on Windows, which cannot replace a mapped file (the next save would fail): there
    they are read as usual. A graph saved later replaces the file by renaming, so these
    maps keep the old one's content."""
    if os.name == "nt":
        return {}
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as handle:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if name not in _MAPPED or name not in data or info.compress_type != zipfile.ZIP_STORED:
                continue
            handle.seek(info.header_offset)
            local = handle.read(30)  # the local header's own name and extra lengths locate the data
            member = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
            handle.seek(member)
            version = np.lib.format.read_magic(handle)
            if version not in _HEADERS:
                continue
            shape, fortran, dtype = _HEADERS[version](handle)
            if dtype.hasobject or not shape or 0 in shape:
                continue
            header = handle.tell() - member
            out[name] = np.memmap(path, dtype=dtype, mode="r", offset=handle.tell(), shape=shape, order="F" if fortran else "C")
            if name in _CHECKED:  # what decides who is a duplicate of whom is never read damaged
                handle.seek(member)
                crc = zlib.crc32(memoryview(out[name]).cast("B"), zlib.crc32(handle.read(header)))
                if crc != info.CRC:
                    raise ValueError(f"its {name} array is damaged (checksum mismatch)")
    return out


def graph_path(catalog: Catalog, model_id: str) -> Path:
    return catalog.index_path(model_id).with_suffix(".graph.npz")


def open_graph(
    catalog: Catalog, model_id: str, floor: float = FLOOR, threads: int = DEFAULT_THREADS, refit: bool = True
) -> KnnGraph:
    """The cached graph if it matches the catalog and reaches down to `floor` (the weakest
    cosine the caller groups at), else a new one.

    A stale graph is updated in place when few files changed (see `KnnGraph.updated`),
    else rebuilt; either way its new edges get structural scores and, where they are
    candidates, proof verdicts (a rebuild carries those of unchanged pairs). `refit` is passed to
    `open_index` (a scan passes False: it never waits for a projection refit). Graphs are
    immutable, so one object is shared by every caller in the process.
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
    proven: KnnGraph | None = None
    vectors: FullVectors = lambda ids: catalog.vectors_of(model_id, ids.tolist())  # noqa: E731 - a few files
    if state.count == 0:
        empty = np.zeros(0, dtype=np.int64)
        graph = KnnGraph.from_edges(empty, empty, empty, np.zeros(0, np.float32), min(floor, FLOOR), token=state.token)
    else:
        index = open_index(catalog, model_id, state.dim, threads, refit)
        current = catalog_stamps(catalog, model_id)
        before = _stamps_to_update(cached, current, floor)
        if cached is not None and before is not None:
            graph = cached.updated(index, index.keys(), current.changes_since(before)[1])
        else:
            # Every file's vector is needed (the scene similarities, and a compact index's
            # re-ranking): one ordered read, not a query per file.
            vectors = held_in_memory(*catalog.stored_vectors(model_id))
            graph = KnnGraph.build(index, floor=min(floor, FLOOR), full=vectors if index.projection is not None else None)
            if cached is not None and (cached.token or "").endswith(_rules()):
                proven = cached  # its verdicts of unchanged pairs are carried, not proven again
        graph = replace(graph, stamps=current.aligned(graph.ids))
    graph = graph.with_structure(catalog.signatures, threads)
    if proven is not None:
        graph = graph.with_verdicts_of(proven)
    graph = graph.with_proof(lambda ids: evidence.read_details(catalog, ids.tolist(), threads))
    graph = graph.with_scene(vectors)
    # The vectors' token from before they were read, so a change during the build shows as stale.
    graph = replace(graph, token=f"{graph.token}:{_signature_count(catalog)}:{_rules()}")
    graph.save(path)
    _opened[path] = (file_stamp(path), graph)
    return graph


#: The last graph opened per file (with the file's mtime): regrouping skips even the disk read.
_opened: dict[Path, tuple[int | None, KnnGraph]] = {}


def _stamps_to_update(cached: KnnGraph | None, current: Stamps, floor: float) -> Stamps | None:
    """`cached`'s stamps when editing it beats a rebuild (same search settings, few
    files changed), else None."""
    if cached is None or cached.stamps is None or cached.k != K or cached.floor > floor:
        return None
    if not (cached.token or "").endswith(_rules()):
        return None  # made by other rules: its verdicts and scores would linger
    before = Stamps(cached.ids, cached.stamps)
    return before if current.small_change(before) else None


def _load_or_none(path: Path) -> KnnGraph | None:
    try:
        return KnnGraph.load(path)
    except ValueError:
        return None  # missing or unreadable: rebuilt


def graph_token(catalog: Catalog, model_id: str) -> str:
    """What a cached graph must match: the vectors' catalog token, the signature count
    and the versions of the proof and scene rules its verdicts and scores were made with.
    Every regroup asks (another process may have scanned); reading it takes ~0.5 s at a
    million photos, so it is read again only once the catalog has changed (`Catalog.kept`)."""
    return catalog.kept(
        f"graph_token:{model_id}",
        lambda: f"{catalog_state(catalog, model_id).token}:{_signature_count(catalog)}:{_rules()}",
    )


def _rules() -> str:
    """The versions of the rules a graph's verdicts and scene scores were computed by."""
    return f"proof{proof.VERSION}:scene{scene.VERSION}"


#: The signatures of present files, counted (read through their own index: schema.Signature).
SIGNATURE_COUNT = select(func.count()).select_from(Signature).join(File, File.id == Signature.file_id).where(File.status == "ok")


def _signature_count(catalog: Catalog) -> int:
    with catalog.session() as session:
        return int(session.execute(SIGNATURE_COUNT).scalar_one())


def _fetch_pairs(
    ids: np.ndarray, u: np.ndarray, v: np.ndarray, todo: np.ndarray, fetch: Callable[[np.ndarray], dict]
) -> tuple[dict, np.ndarray]:
    """What `fetch` has for the files of the `todo` entries, and `todo` narrowed to the
    entries it had both files for."""
    nodes, _, _ = _rows(len(ids), u[todo], v[todo])
    found = fetch(ids[nodes])
    has = np.isin(ids, np.fromiter(found, dtype=np.int64, count=len(found)))
    return found, todo & has[u] & has[v]


def _rows(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nodes, a, b): the nodes (of `n`) that pairs (u, v) touch, ascending, and each pair's
    two rows among them. A mask and a table, not np.unique and searchsorted: those took
    ~20 s over a million photos' 25M pairs."""
    touched = np.zeros(n, dtype=bool)
    touched[u] = True
    touched[v] = True
    nodes = np.flatnonzero(touched)
    slot = np.full(n, -1, dtype=np.int64)
    slot[nodes] = np.arange(len(nodes))
    return nodes, slot[u], slot[v]


def _reverse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The position of each entry's reverse, (v, u). The adjacency is symmetric, so sorted by
    unordered pair the two entries of a pair lie side by side: one argsort (~3 s at a
    million photos, where looking each entry up among the sorted pairs took ~40 s)."""
    n = int(max(u.max(initial=0), v.max(initial=0))) + 1
    codes = np.minimum(u, v) * n + np.maximum(u, v)
    order = np.argsort(codes)
    first, second = order[0::2], order[1::2]
    if len(first) != len(second) or not np.array_equal(codes[first], codes[second]):
        raise ValueError("the neighbour graph is not symmetric")
    reverse = np.empty(len(u), dtype=np.int64)
    reverse[first], reverse[second] = second, first
    return reverse


def _adjacency_order(n: int, lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, order) of the entries (lo, hi) then (hi, lo) of distinct pairs sorted by (lo, hi),
    lo < hi, whose similarities `w` are listed in that entry order: `order` lists them by node,
    then w descending, then neighbour.

    Sorted pairs already hold each node's entries in neighbour order: first those where it is
    the hi (its neighbour the lo, ascending), then those where it is the lo. So they are
    placed, not sorted, and a node's entries are ordered by w with one sort of packed keys
    (over a million photos' 51M entries the two argsorts this replaces took ~20 s on one core)."""
    pairs = len(lo)
    as_lo, as_hi = np.bincount(lo, minlength=n), np.bincount(hi, minlength=n)
    indptr = np.concatenate([[0], np.cumsum(as_lo + as_hi)]).astype(np.int64)
    by_hi = np.argsort(hi, kind="stable")
    by_neighbour = np.empty(2 * pairs, dtype=np.int64)  # entry at each place, nodes' entries in neighbour order
    by_neighbour[_placed(hi[by_hi], as_hi, indptr[:-1])] = pairs + by_hi
    by_neighbour[_placed(lo, as_lo, indptr[:-1] + as_hi)] = np.arange(pairs)
    return indptr, by_neighbour[best_first_within(indptr, w[by_neighbour])]


def _placed(nodes: np.ndarray, count: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Where each entry of ascending `nodes` goes: its node's `start`, then the next place for
    each further entry of that node (`count` a node among them)."""
    return start[nodes] + np.arange(len(nodes)) - (np.cumsum(count) - count)[nodes]


def best_first_within(indptr: np.ndarray, w: np.ndarray, key_bits: int = 64) -> np.ndarray:
    """The order of entries grouped by node (`indptr`) that keeps the groups and sorts each by
    `w` descending, stably: one sort of (node, w, place in node) packed into `key_bits`, or
    where a library's nodes and busiest node need more, a lexsort of the three (slower).
    The keys come ordered by node already, which numpy's stable sort (a timsort) makes use
    of: 51M entries in ~1 s, where its default sort took 4.5 s."""
    degree = np.diff(indptr)
    base = np.repeat(indptr[:-1], degree)
    rank = np.arange(len(w), dtype=np.int64)
    rank -= base
    rank_bits = int(degree.max(initial=1) - 1).bit_length()
    if int(len(degree) - 1).bit_length() + 32 + rank_bits > key_bits:
        return np.lexsort((rank, descending_keys(w), base))
    keys = np.repeat(np.arange(len(degree), dtype=np.uint64), degree)
    keys <<= np.uint64(32 + rank_bits)
    keys |= descending_keys(w) << np.uint64(rank_bits)
    keys |= rank.view(np.uint64)
    keys.sort(kind="stable")
    keys &= np.uint64((1 << rank_bits) - 1)
    return base + keys.view(np.int64)


def descending_keys(values: np.ndarray) -> np.ndarray:
    """uint64 keys (of 32 bits) of float32 values that sort in the values' descending order
    (equal values, 0.0 and -0.0 among them, get equal keys)."""
    bits = (np.asarray(values, dtype=np.float32) + np.float32(0.0)).view(np.uint32)
    ascending = np.where(bits >> np.uint32(31), ~bits, bits | np.uint32(0x8000_0000))
    return (~ascending).astype(np.uint64)


def _search_edges(
    index: VectorIndex,
    ids: np.ndarray,
    queries: np.ndarray,
    k: int,
    floor: float,
    full: FullVectors | None = None,
    compact_candidates: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges (node positions in `ids`, cosine) from each query file to its k nearest files, in
    the queries' order; a compact index explores and re-ranks `compact_candidates` (default:
    `VectorIndex.search`'s). Files are searched in `_NearFirst` batches."""
    table = id_table(ids)
    # A full-vector index searches as before: `candidates` is a compact index's alone.
    expansion = compact_candidates if index.projection is not None and compact_candidates else GRAPH_EXPANSION
    src = np.searchsorted(ids, queries)
    dst = np.full((len(queries), k + 1), -1, dtype=np.int64)
    sims = np.full((len(queries), k + 1), -np.inf, dtype=np.float32)
    order = _NearFirst(src, len(ids))
    for rows in order.batches():
        # +1: the file finds itself. The graph explores as many nodes as the candidates asked for.
        keys, sims[rows] = index.search(index.full_vectors(queries[rows], full), k + 1, full, expansion, compact_candidates)
        dst[rows] = id_positions(ids, keys.ravel(), table).reshape(keys.shape)  # -1: none, or deleted meanwhile
        order.found(dst[rows])
    src, dst, sims = np.repeat(src, k + 1), dst.ravel(), sims.ravel()
    keep = (dst >= 0) & (sims >= floor) & (dst != src)
    return src[keep], dst[keep], sims[keep]


class _NearFirst:
    """Query rows in batches, each made of the rows not searched yet among the neighbours the
    batches before found (each query's side by side), topped up in row order.

    A search walks the index's graph around its query, waiting on memory at nearly every
    step; searching neighbours one after another finds much of that walk still in the CPU's
    caches (200k synthetic photos: the graph's searches 16% faster, the same answers).
    """

    def __init__(self, nodes: np.ndarray, count: int, size: int = _BATCH) -> None:
        self.row_of_node = np.full(count, -1, dtype=np.int64)
        self.row_of_node[nodes] = np.arange(len(nodes))
        self.queued = np.zeros(len(nodes), dtype=bool)
        self.waiting = np.zeros(0, dtype=np.int64)
        self.size = size

    def batches(self) -> Iterator[np.ndarray]:
        while True:
            if len(self.waiting) < self.size:
                self._queue(np.flatnonzero(~self.queued)[: self.size - len(self.waiting)])
            if not len(self.waiting):
                return
            batch, self.waiting = self.waiting[: self.size], self.waiting[self.size :]
            yield batch

    def found(self, nodes: np.ndarray) -> None:
        """Queue the rows of the query nodes among `nodes` (-1: none) not queued yet, first found first."""
        rows = self.row_of_node[nodes[nodes >= 0]]
        rows = rows[rows >= 0]
        rows = rows[~self.queued[rows]]
        _, first = np.unique(rows, return_index=True)
        self._queue(rows[np.sort(first)])

    def _queue(self, rows: np.ndarray) -> None:
        self.queued[rows] = True
        self.waiting = np.concatenate([self.waiting, rows])
