"""Nearest-neighbour search over a catalog's vectors (HNSW graphs), persisted beside it.

The index is a cache of the catalog: it is saved next to the catalog file with a
sidecar holding a token of the catalog's state and every file's content stamp.
When the token no longer matches, the stamps say which files were added, changed
or removed, and only those are edited in place: adding 100 photos to a library of
a million must not cost a full rebuild. A large change, or a saved file that
cannot be read, rebuilds from `Catalog.vectors`. Keys are file ids; similarity is
the cosine (1 - usearch's cosine distance). A saved compact index of another layout
(usearch's graph, before faiss's) fails to read and is rebuilt the same way; the
catalog's token, and so the neighbour graph, stays valid.

Vectors are stored as int8, each scaled by its own largest component (`quantize`):
half the memory of f16, integer dot products that come out the same on every CPU
(usearch's f16 kernels accumulate in f16 on CPUs with AVX512-FP16, which lost
recall there), and cosines within 0.003 of the float ones. usearch's own i8
conversion scales every vector alike and lost 5 points of recall; see
docs/calibration.md for those figures and the graph parameters (usearch's
defaults gave recall@10 of 0.95 on 100k clustered vectors, the values below >= 0.99).

A library of MIN_PHOTOS or more is indexed in compact form (core/projection.py:
a PCA fitted on the library, saved beside the index): faiss's HNSW graph of the
compact vectors (core/engines/links.py), or for a person's search the scan of every
photo's code (core/engines/codes.py, saved beside it), then only proposes
candidates, and `search` re-ranks them by the cosine of the full vectors, fetched
from the catalog (or any `FullVectors`), so every similarity it returns is the
full-vector cosine that thresholds and verdicts are calibrated on.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import onnxruntime  # noqa: F401  (before usearch: the other order crashes in libstdc++ with usearch 2.26)
from sqlalchemy import BigInteger, cast, func, select
from usearch.index import BatchMatches, Index

from lookalike.core.engines import projection as compact
from lookalike.core.engines.codes import CodeScan
from lookalike.core.engines.links import LinkGraph, one_at_a_time
from lookalike.core.catalog import blobs
from lookalike.core.catalog.blobs import quantize
from lookalike.core.catalog.store import Catalog, CatalogError, nearly_full
from lookalike.core.engines.projection import Projection
from lookalike.core.catalog.schema import Embedding, File

DTYPE = "i8"
CONNECTIVITY = 32
EXPANSION_ADD = 256
#: Nodes usearch explores for a person's search (search by image, `lookalike search`) in a
#: library below MIN_PHOTOS (a compact index scans its codes instead), and where a search names
#: no effort of its own. At a million photos 128 found 0.940 of the true 10 nearest at p99 2.2
#: ms, 384 0.958 at 3.5 ms, 512 0.969 at 5.0 ms (docs/calibration.md, "Vector index at 1M").
#: A search-time setting: saved indexes stay valid.
EXPANSION_SEARCH = 384
#: Nodes explored per photo where every photo of a library is searched (albums): three times
#: the effort for a million photos would be minutes, for candidates that are compared in full.
LIBRARY_EXPANSION = 128
#: usearch takes every core by default; the scan's decoders and the UI need theirs.
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
#: Vectors converted (projected, quantized) and inserted per usearch call.
_ADD_CHUNK = 65_536
#: Bump when the saved layout or the parameters above change: old files are rebuilt.
FORMAT = 2
#: Prime modulus of the per-row checksum (keeps SQLite's integer sum from overflowing).
_MODULUS = 4_294_967_311
#: Above this share of added/changed/removed files a rebuild beats editing in place.
REBUILD_SHARE = 0.3
#: Candidates a compact index proposes per query (at least; 2k when k is larger), re-ranked
#: by the full vectors: usearch explores EXPANSION_SEARCH nodes whatever k is, so asking for
#: 64 costs little more than for 10 (docs/calibration.md: recall by dimension and candidates).
RERANK_CANDIDATES = 64

#: Full float32 vectors of file ids, in the order asked (what compact candidates are re-ranked by).
FullVectors = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class CatalogState:
    """What the saved index must agree with: a cheap summary of one model's vectors."""

    count: int
    dim: int
    token: str


def catalog_state(catalog: Catalog, model_id: str) -> CatalogState:
    """Count, dimension and a change token of `model_id`'s vectors of present files.

    One SQL aggregate over the files and the vectors' key index, no vector read (the
    dimension is one vector's: a model's are all alike): a file re-embedded after an
    edit changes its size or mtime, so a checksum over (id, size, mtime) notices it.
    """
    # 64-bit arithmetic on every database (PostgreSQL's INTEGER ids would overflow).
    row_sum = (cast(Embedding.file_id, BigInteger) * 2_654_435_761 + _stamp_expression()) % _MODULUS
    stmt = (
        select(func.count(), func.coalesce(func.sum(row_sum), 0))
        .select_from(Embedding)
        .join(File, File.id == Embedding.file_id)
        .where(Embedding.model_id == model_id, File.status == "ok")
    )
    one = select(func.length(Embedding.vector)).where(Embedding.model_id == model_id).limit(1)
    with catalog.session() as session:
        count, checksum = session.execute(stmt).one()
        blob = session.scalar(one) if count else 0
    dim = blobs.vector_dim(int(blob or 0))
    return CatalogState(int(count), dim, f"{FORMAT}:{model_id}:{count}:{checksum}:{dim}")


def _stamp_expression():  # type: ignore[no-untyped-def]
    """A file's content stamp: its size and mtime change whenever its pixels do."""
    return (File.size * 40_503 + File.mtime_ns) % _MODULUS


@dataclass(frozen=True, slots=True)
class Stamps:
    """Present files' ids (ascending) and content stamps: what saved caches are diffed against."""

    ids: np.ndarray
    stamps: np.ndarray

    def changes_since(self, old: Stamps) -> tuple[np.ndarray, np.ndarray]:
        """(gone, fresh): ids to drop (removed or changed) and to (re)add (added or changed)."""
        common, mine, theirs = np.intersect1d(self.ids, old.ids, assume_unique=True, return_indices=True)
        changed = common[self.stamps[mine] != old.stamps[theirs]]
        added = np.setdiff1d(self.ids, old.ids, assume_unique=True)
        removed = np.setdiff1d(old.ids, self.ids, assume_unique=True)
        return np.union1d(removed, changed), np.union1d(added, changed)

    def small_change(self, old: Stamps) -> bool:
        gone, fresh = self.changes_since(old)
        return len(np.union1d(gone, fresh)) <= REBUILD_SHARE * max(len(self.ids), 1)

    def aligned(self, ids: np.ndarray) -> np.ndarray:
        """Stamps of `ids` (-1 where unknown, so such files count as changed next time)."""
        pos = np.clip(np.searchsorted(self.ids, ids), 0, max(len(self.ids) - 1, 0))
        known = (np.take(self.ids, pos, mode="clip") == ids) if len(self.ids) else np.zeros(len(ids), bool)
        return np.where(known, np.take(self.stamps, pos, mode="clip") if len(self.ids) else -1, -1)


def catalog_stamps(catalog: Catalog, model_id: str) -> Stamps:
    """Ids and stamps of every present file embedded with `model_id` (no vector read)."""
    stmt = (
        select(Embedding.file_id, _stamp_expression())
        .join(File, File.id == Embedding.file_id)
        .where(Embedding.model_id == model_id, File.status == "ok")
        .order_by(Embedding.file_id)
    )
    with catalog.session() as session:
        rows = session.execute(stmt).all()
    table = np.asarray(rows, dtype=np.int64).reshape(len(rows), 2)
    return Stamps(table[:, 0].copy(), table[:, 1].copy())


class VectorIndex:
    """Approximate cosine search over unit vectors keyed by file id.

    With a `projection` it holds compact vectors and needs `full`, the full
    vectors by id, to re-rank its candidates; `dim` is always the full dimension.
    A compact index holds their codes (core/engines/codes.py), which a person's search
    scans, and faiss's HNSW graph of them (core/engines/links.py), which serves the
    library-wide searches and, read back from its file, is read only when one of those
    needs it: searching alone leaves it on disk. A whole index is usearch's HNSW graph.
    """

    def __init__(
        self,
        dim: int,
        threads: int = DEFAULT_THREADS,
        token: str | None = None,
        projection: Projection | None = None,
        full: FullVectors | None = None,
    ) -> None:
        if projection is not None and (full is None or projection.full_dim != dim):
            raise ValueError("a compact index needs the full vectors, of its dimension, to re-rank")
        self.dim = dim
        self.threads = threads
        #: The catalog state this index was built from (None for a free-standing index).
        self.token = token
        self.projection = projection
        self._full = full
        self._index = self._new_usearch() if projection is None else None
        self._scan = CodeScan(projection.dim, threads) if projection is not None else None
        self._links = LinkGraph(projection.dim, threads) if projection is not None else None
        #: A saved compact index's graph file, open (read, on Windows) but not yet read.
        self._unopened: BinaryIO | None = None
        self._searching = threading.Lock()
        self._opening = threading.Lock()

    @property
    def stored_dim(self) -> int:
        """Dimensions of the vectors the HNSW graph holds."""
        return self.dim if self.projection is None else self.projection.dim

    @property
    def _whole(self) -> Index:
        """usearch's graph: a whole index's (a compact one keeps `_scan` and `_links` instead)."""
        if self._index is None:
            raise TypeError("a compact index has no usearch graph")
        return self._index

    def __len__(self) -> int:
        return len(self._scan) if self._scan is not None else len(self._whole)

    def __contains__(self, file_id: int) -> bool:
        return bool(self._held(np.array([file_id], dtype=np.int64))[0])

    def keys(self) -> np.ndarray:
        """Every file id held, ascending."""
        if self._scan is not None:
            return self._scan.keys.copy()
        return np.sort(np.asarray(self._whole.keys, dtype=np.int64))

    def _held(self, keys: np.ndarray) -> np.ndarray:
        if self._scan is not None:
            return self._scan.contains(keys)
        return np.asarray(self._whole.contains(keys), dtype=bool).reshape(-1)

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored (compact, where projected) vectors of `ids` as float32 unit rows, in the order asked."""
        keys = np.asarray(ids, dtype=np.int64)
        if len(keys) == 0:
            return np.zeros((0, self.stored_dim), dtype=np.float32)
        if self._scan is not None:
            return self._scan.unit_rows(keys)
        return blobs.unit_rows(np.asarray(self._whole.get(keys)).reshape(len(keys), self.stored_dim))

    def full_vectors(self, ids: Sequence[int] | np.ndarray, full: FullVectors | None = None) -> np.ndarray:
        """Full-dimension vectors of held `ids`: from `full` (or the index's own source)
        when compact, else the stored ones."""
        source = full or self._full
        if self.projection is None or source is None:
            return self.vectors(ids)
        return np.asarray(source(np.asarray(ids, dtype=np.int64)), dtype=np.float32).reshape(-1, self.dim)

    def build(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Replace the whole content with `ids` -> `vectors` (full vectors)."""
        self._index, self._unopened = self._new_usearch() if self.projection is None else None, None
        self._scan = CodeScan(self.projection.dim, self.threads) if self.projection is not None else None
        self._links = LinkGraph(self.projection.dim, self.threads) if self.projection is not None else None
        self.add(ids, vectors)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors; an id already present is replaced (a re-embedded file)."""
        keys = np.asarray(ids, dtype=np.int64)
        if len(keys) == 0:
            return
        rows = np.asarray(vectors).reshape(len(keys), self.dim)
        self.remove(keys)
        for start in range(0, len(keys), _ADD_CHUNK):  # the converted copies stay small at 1M photos
            part = slice(start, start + _ADD_CHUNK)
            if self._scan is None:
                self._insert(keys[part], quantize(rows[part]))
            else:
                stored = self._stored_form(rows[part])
                self._linked().add(keys[part], stored)
                self._scan.add(keys[part], stored)

    def _linked(self) -> LinkGraph:
        """A compact index's graph, read from its file when first needed. The file was opened
        when the index was read: a save that has replaced it since does not change what is read."""
        with self._opening:  # an index shared by two threads (a search and an album build) opens once
            if self._unopened is not None:
                with self._unopened:
                    self._links = LinkGraph.load(self._unopened, self.stored_dim, self.threads)
                self._unopened = None
        return self._links  # type: ignore[return-value]  (a compact index has one)

    def _insert(self, keys: np.ndarray, matrix: np.ndarray) -> None:
        graph = self._whole
        seed = one_at_a_time(len(graph), len(keys))
        if seed:
            graph.add(keys[:seed], matrix[:seed], threads=1)
        if seed < len(keys):
            graph.add(keys[seed:], matrix[seed:], threads=self.threads)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Drop ids; ones not present are ignored."""
        keys = np.asarray(ids, dtype=np.int64)
        present = keys[self._held(keys)] if len(keys) else keys
        if len(present):
            if self._scan is None:
                self._whole.remove(present)
            else:
                self._linked().remove(present)
                self._scan.remove(present)

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        full: FullVectors | None = None,
        expansion: int | None = None,
        candidates: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest ids per query row (full vectors) and their cosine similarities, best first.

        Rows are padded with id -1 and similarity -inf where fewer than `k` exist.
        A compact index finds `candidates` (by default RERANK_CANDIDATES, or 2k) and
        re-ranks them by the full vectors (`full`, else its own source), so similarities
        are always full-vector cosines. `expansion` is the nodes usearch explores per
        query (never fewer than it returns): a graph build gains nothing from exploring
        more than the candidates it asks for (docs/calibration.md). Without it, a person's
        search: a compact index scans every photo's code, a whole one explores EXPANSION_SEARCH.
        """
        queries = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if self.projection is None:
            return self._search_stored(quantize(queries), k, expansion or EXPANSION_SEARCH)
        found = max(k, candidates) if candidates is not None else max(RERANK_CANDIDATES, 2 * k)
        compact_queries = self.projection.apply(queries)
        if expansion is None:
            keys = self._scan.candidates(compact_queries, found)  # type: ignore[union-attr]  (a compact index has one)
        else:
            keys = self._linked().search(compact_queries, found, expansion)
        return _rerank(queries, keys, full or self._full, k, self.threads)  # type: ignore[arg-type]  (a compact index has one)

    def _new_usearch(self) -> Index:
        return Index(
            ndim=self.stored_dim,
            metric="cos",
            dtype=DTYPE,
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )

    @property
    def graph_bytes(self) -> int:
        """Memory the HNSW graph holds once opened (codes or vectors, links, keys)."""
        return self._linked().nbytes if self._scan is not None else int(self._whole.memory_usage)

    def _stored_form(self, vectors: np.ndarray) -> np.ndarray:
        return vectors if self.projection is None else self.projection.apply(vectors)

    def _search_stored(
        self, queries: np.ndarray, k: int, expansion: int = EXPANSION_SEARCH
    ) -> tuple[np.ndarray, np.ndarray]:
        """usearch's k nearest of quantized stored-form queries, padded (see `search`)."""
        keys = np.full((len(queries), k), -1, dtype=np.int64)
        sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
        if len(self) == 0 or len(queries) == 0 or k <= 0:
            return keys, sims
        with self._searching:  # usearch takes the effort as a setting of the index, not of a call
            graph = self._whole
            graph.expansion_search = expansion
            found = graph.search(queries, k, threads=self.threads)
        if isinstance(found, BatchMatches):
            filled = np.arange(k)[None, :] < np.asarray(found.counts)[:, None]
            keys[filled] = np.asarray(found.keys, dtype=np.int64)[filled]
            sims[filled] = _similarity(np.asarray(found.distances)[filled])
        else:  # usearch answers a single query with unpadded arrays
            count = len(found.keys)
            keys[0, :count] = found.keys
            sims[0, :count] = _similarity(np.asarray(found.distances))
        return keys, sims

    def save(self, path: Path | str) -> None:
        """Write atomically (a crash leaves the previous file, never half of one); SaveError.
        A compact index's codes go beside it (`codes_path`)."""
        scan = self._scan
        if scan is None:
            save_atomically(Path(path), lambda tmp: self._whole.save(str(tmp)))
            return
        links = self._linked()

        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:
                links.save(handle)

        save_atomically(Path(path), write)
        save_atomically(codes_path(Path(path)), scan.save)

    @classmethod
    def load(
        cls,
        path: Path | str,
        dim: int,
        threads: int = DEFAULT_THREADS,
        token: str | None = None,
        projection: Projection | None = None,
        full: FullVectors | None = None,
    ) -> VectorIndex:
        """Read a saved index; ValueError when the file (or a compact index's codes) is
        unreadable, of another dimension, or they disagree."""
        index = cls(dim, threads, token, projection, full)
        try:
            if projection is None:
                index._whole.load(str(path))
                found = index._whole.ndim
            else:
                index._scan = CodeScan.load(codes_path(Path(path)), threads)
                found = index._scan.dim
                # A person's search never reads the graph: it stays on disk until a library-wide
                # search needs it, read through the handle opened here, which keeps the file it
                # opened if a later save replaces it. Windows cannot replace an open file (the
                # next save would fail): there it is read now.
                handle = Path(path).open("rb")
                if os.name == "nt":
                    with handle:
                        handle = io.BytesIO(handle.read())
                try:
                    held = LinkGraph.held_in(handle)
                except ValueError:
                    handle.close()
                    raise
                index._unopened = handle
                if len(index._scan) != held:
                    raise ValueError(f"vector index {path} and its codes hold different photos")
        except (RuntimeError, OSError) as exc:
            raise ValueError(f"cannot read vector index {path}: {exc}") from exc
        if found != index.stored_dim:
            raise ValueError(f"vector index {path} has {found} dimensions, expected {index.stored_dim}")
        return index


@dataclass(frozen=True, slots=True)
class HeldVectors:
    """FullVectors over arrays (`ids` ascending), for a whole-graph build, which looks up
    every file's neighbours, too many for SQL. The catalog's int8 rows
    (`Catalog.stored_vectors`: a quarter of float32's memory) are read back as the
    catalog reads them (each divided by its norm); float rows are used as they are."""

    ids: np.ndarray
    rows: np.ndarray
    norms: np.ndarray  # float32 per row (ones for float rows)
    #: The row of each id, indexed by id, where the ids are dense enough for such a table: a
    #: graph build looks up 66M candidates at a million photos (by binary search: ~20 s).
    row_of_id: np.ndarray | None = None

    def __call__(self, wanted: np.ndarray) -> np.ndarray:
        pos = self._positions(wanted)
        return self.rows[pos].astype(np.float32) / self.norms[pos, None]

    def _positions(self, wanted: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ids, wanted) if self.row_of_id is None else self.row_of_id[wanted]

    def cosines(self, queries: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """(q, c) cosines of unit `queries` (q, d) with the rows of ids `wanted` (q, c): the
        products of the rows as stored, scaled after (a graph build's 66M re-ranked pairs
        at 1M photos: a third faster than normalising every row first)."""
        pos = self._positions(wanted)
        return np.matmul(self.rows[pos].astype(np.float32), queries[:, :, None])[..., 0] / self.norms[pos]


def held_in_memory(ids: np.ndarray, vectors: np.ndarray) -> HeldVectors:
    """`HeldVectors` of these arrays (int8 rows as the catalog stores them, or floats)."""
    keys = np.asarray(ids, dtype=np.int64)
    table = id_table(keys)
    if vectors.dtype != np.int8:
        return HeldVectors(keys, np.asarray(vectors, dtype=np.float32), np.ones(len(vectors), dtype=np.float32), table)
    norms = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), _ADD_CHUNK):  # bounded float temporaries at 1M photos
        norms[start : start + _ADD_CHUNK] = np.linalg.norm(vectors[start : start + _ADD_CHUNK].astype(np.float32), axis=1)
    return HeldVectors(keys, vectors, np.maximum(norms, np.float32(1e-12)), table)


def id_table(ids: np.ndarray) -> np.ndarray | None:
    """The position of each of the ascending `ids`, indexed by id (-1 for ids not among
    them), where they are dense enough for such a table (a catalog's: 1, 2, ... with
    gaps); None where they are not. Millions of lookups by binary search cost seconds."""
    if not len(ids) or ids[0] < 0 or ids[-1] >= _DENSE_IDS * len(ids) + 1024:
        return None
    table = np.full(int(ids[-1]) + 1, -1, dtype=np.int32)
    table[ids] = np.arange(len(ids), dtype=np.int32)
    return table


#: An id table is made when the largest id is at most this many times the count.
_DENSE_IDS = 4


def id_positions(ids: np.ndarray, wanted: np.ndarray, table: np.ndarray | None = None) -> np.ndarray:
    """The position of each of `wanted` among the ascending `ids`, -1 where it is not
    among them: through `table` (`id_table(ids)`) where there is one, else by binary search."""
    wanted = np.asarray(wanted, dtype=np.int64)
    if table is not None:
        inside = (wanted >= 0) & (wanted < len(table))
        return np.where(inside, table[np.where(inside, wanted, 0)], -1).astype(np.int64)
    at = np.searchsorted(ids, wanted)
    found = np.take(ids, at, mode="clip") == wanted if len(ids) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, at, -1)


def sidecar_path(index_path: Path) -> Path:
    """The file recording which catalog state (token and stamps) a saved index holds."""
    return index_path.with_name(index_path.name + ".state.npz")


def open_index(
    catalog: Catalog, model_id: str, dim: int, threads: int = DEFAULT_THREADS, refit: bool = True
) -> VectorIndex:
    """The saved index of `model_id`, brought up to date with the catalog and saved.

    An unchanged catalog costs one SQL aggregate; a small change edits the saved
    index in place; a large one (or an unreadable file) rebuilds it, and so does a
    library that needs a (new) projection (`projection.wanted`), which is then
    fitted on it first, unless `refit` is False: a scan passes that, so it never
    waits for a refit and rebuild (it keeps editing the index it has, and the next
    open outside a scan refits). The result is shared by later calls in this process
    while the catalog is unchanged (searching many times loads it once): do not add
    to or remove from it.
    """
    state = catalog_state(catalog, model_id)
    if state.count and state.dim != dim:
        raise ValueError(f"the catalog's {model_id} vectors have {state.dim} dimensions, expected {dim}")
    path = catalog.index_path(model_id)
    opened = _opened.get(path)
    if opened is not None and opened[0] == file_stamp(path) and opened[1].token == state.token and opened[1].dim == dim:
        if not (refit and compact.wanted(state.count, opened[1].projection)):  # else kept by a scan: refit now
            return opened[1]
    def full(ids: np.ndarray) -> np.ndarray:
        return catalog.vectors_of(model_id, ids)

    saved_token, saved_stamps = saved_state(path)
    index = _load_saved(path, dim, threads, state.token, full) if saved_token is not None else None
    if index is not None and refit and compact.wanted(state.count, index.projection):
        index = None  # the library outgrew its projection (or has none yet): refit and rebuild
    if index is None or saved_token != state.token:
        current = catalog_stamps(catalog, model_id)
        if index is not None and saved_stamps is not None and current.small_change(saved_stamps):
            gone, fresh = current.changes_since(saved_stamps)
            index.remove(gone)
            index.add(fresh, catalog.vectors_of(model_id, fresh))
        else:
            ids, vectors = catalog.vectors(model_id)  # one ordered scan, not a million look-ups
            fitted = Projection.fit(vectors) if compact.wanted(len(ids), None) else None
            _save_projection(projection_path(path), fitted)
            index = VectorIndex(dim, threads, state.token, fitted, full if fitted is not None else None)
            index.build(ids, vectors)
            del vectors
        try:
            index.save(path)
            _write_state(sidecar_path(path), state.token, current, index.projection)
        except SaveError:
            # Without its record the saved index counts as not saved: the next scan rebuilds it.
            sidecar_path(path).unlink(missing_ok=True)
            raise
    _opened[path] = (file_stamp(path), index)
    return index


def index_saved(catalog: Catalog, model_id: str) -> bool:
    """Whether `model_id`'s index and its record are on disk (two stats, no query): a scan that
    changed nothing still rebuilds an index that a full disk or a deleted file left missing."""
    path = catalog.index_path(model_id)
    return path.is_file() and sidecar_path(path).is_file()


def _load_saved(path: Path, dim: int, threads: int, token: str, full: FullVectors) -> VectorIndex | None:
    """The saved index with the projection its sidecar names; None (rebuilt) when
    either is unreadable or they do not belong together."""
    try:
        with np.load(sidecar_path(path), allow_pickle=False) as data:
            key = str(data["projection"]) if "projection" in data else ""
        projection = Projection.load(projection_path(path)) if key else None
        if projection is not None and projection.key != key:
            return None
        return VectorIndex.load(path, dim, threads, token, projection, full if projection is not None else None)
    except (OSError, ValueError, KeyError):
        return None


def codes_path(index_path: Path) -> Path:
    """Where a compact index's codes and compact rows are kept (core/engines/codes.py)."""
    return index_path.with_name(index_path.name + ".codes.npz")


def projection_path(index_path: Path) -> Path:
    """Where the projection of a compact index is kept (core/projection.py)."""
    return index_path.with_name(index_path.name + ".projection.npz")


def _save_projection(path: Path, fitted: Projection | None) -> None:
    """Write `fitted` atomically, or remove a previous one when the index is kept whole."""
    if fitted is None:
        path.unlink(missing_ok=True)
        return
    save_atomically(path, fitted.save)


#: The last index opened per file (with the file's mtime), reused while both still match.
_opened: dict[Path, tuple[int | None, VectorIndex]] = {}


class SaveError(CatalogError):
    """A cache beside the catalog (vector index, neighbour graph) could not be written;
    the catalog is intact, no temporary file is left, and the cache is rebuilt later."""

    def __init__(self, path: Path, exc: BaseException) -> None:
        if isinstance(exc, OSError):
            reason = (exc.strerror or str(exc)).lower()
        else:  # usearch says only "Failed to serialize into stream"
            reason = "no space left on device" if nearly_full(path.parent) else str(exc)
        super().__init__(
            f"cannot save {path.name} beside the catalog ({reason}); the catalog is intact and the "
            "next scan rebuilds it: free some space and run the command again"
        )


def save_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(temporary)` then rename it to `path`: a crash or a full disk leaves the previous
    file (or none), never half of one, and never the temporary file; failures are SaveError."""
    tmp = temporary_beside(path)
    try:
        write(tmp)
        tmp.replace(path)
    except (OSError, RuntimeError) as exc:  # usearch says "Failed to serialize into stream"
        tmp.unlink(missing_ok=True)
        raise SaveError(path, exc) from exc


def temporary_beside(path: Path) -> Path:
    """A scratch name next to `path`, distinct per process and thread (the UI and a CLI may both save)."""
    return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def file_stamp(path: Path) -> int | None:
    """A saved file's mtime (None when absent): a memoised copy is valid while it holds."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def saved_state(index_path: Path) -> tuple[str | None, Stamps | None]:
    """The token and stamps a saved index was written with; (None, None) if unusable."""
    if not index_path.is_file():
        return None, None
    try:
        with np.load(sidecar_path(index_path), allow_pickle=False) as data:
            return str(data["token"]), Stamps(data["ids"], data["stamps"])
    except (OSError, ValueError, KeyError):
        return None, None


def _write_state(path: Path, token: str, stamps: Stamps, projection: Projection | None) -> None:
    key = np.str_(projection.key if projection is not None else "")

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, token=np.str_(token), ids=stamps.ids, stamps=stamps.stamps, projection=key)

    save_atomically(path, write)


def _rerank(
    queries: np.ndarray, keys: np.ndarray, full: FullVectors, k: int, threads: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best of each query's candidate `keys` (-1: none) by exact cosine with their
    full vectors (`full`, by id); padded like `search`. The candidates are fetched a
    block of queries at a time, each once per query: a graph build re-ranks 48 per file.
    Vectors held in memory are re-ranked on `threads` side by side (usearch's own search
    keeps every core busy, the re-ranking left one idle: a tenth of a graph build); the
    catalog's are read on this thread only."""
    cosines = full.cosines if isinstance(full, HeldVectors) else _fetched_cosines(full)
    valid = keys >= 0
    sims = np.full(keys.shape, -np.inf, dtype=np.float32)

    def fill(blocks: np.ndarray) -> None:
        for start in blocks.tolist():  # bounds the gathered block's memory
            part = slice(start, start + _RERANK_ROWS)
            mask = valid[part]
            if mask.any():
                # Padding slots borrow a real candidate (their scores are discarded): one fetch, one shape.
                sims[part] = cosines(queries[part], np.where(mask, keys[part], keys[part][mask][0]))

    starts = np.arange(0, len(keys), _RERANK_ROWS)
    workers = min(threads if isinstance(full, HeldVectors) else 1, len(starts))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, np.array_split(starts, workers)))  # each block written by one thread
    else:
        fill(starts)
    sims = np.where(valid, np.clip(sims, -1.0, 1.0), -np.inf).astype(np.float32)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    best, top = np.take_along_axis(keys, order, axis=1), np.take_along_axis(sims, order, axis=1)
    pad = max(0, k - best.shape[1])  # fewer candidates than k (a tiny index)
    best = np.pad(np.where(np.isfinite(top), best, -1), ((0, 0), (0, pad)), constant_values=-1)
    top = np.pad(top, ((0, 0), (0, pad)), constant_values=-np.inf)
    return best, top


def _fetched_cosines(full: FullVectors) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`HeldVectors.cosines` for any FullVectors (the catalog's, a few files at a time)."""

    def cosines(queries: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        rows = np.asarray(full(wanted.ravel()), dtype=np.float32).reshape(*wanted.shape, -1)
        return np.matmul(rows, queries[:, :, None])[..., 0]

    return cosines


#: Queries re-ranked per gathered block: 8 x 66 candidates x 1280 dims = 2.7 MB of float32 stays
#: in the CPU cache between the conversion and the product (64 queries, 22 MB, did not: 57 us
#: a query against 40, 1M random int8 rows).
_RERANK_ROWS = 8


def _similarity(distances: np.ndarray) -> np.ndarray:
    """Cosine from usearch's cosine distance (rounding can step just outside [-1, 1])."""
    return np.clip(1.0 - distances.astype(np.float32), -1.0, 1.0)

