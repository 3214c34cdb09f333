"""Nearest-neighbour search over a catalog's vectors (usearch HNSW), persisted beside it.

The index is a cache of the catalog: it is saved next to the catalog file with a
small JSON sidecar holding a token of the catalog's state, and rebuilt from
`Catalog.vectors` whenever that token no longer matches (files added, changed,
removed) or the saved file cannot be read. Keys are file ids; similarity is the
cosine (1 - usearch's cosine distance).

The storage type and graph parameters were measured (docs/calibration.md): f16
keeps everything the catalog stores (its blobs are f16 already) at half the
memory of f32, while i8 lost recall; usearch's default connectivity/expansions
gave recall@10 of 0.95 on 100k clustered vectors, the values below >= 0.99.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from usearch.index import BatchMatches, Index

from lookalike.core.catalog import Catalog
from lookalike.core.schema import Embedding, File

DTYPE = "f16"
CONNECTIVITY = 32
EXPANSION_ADD = 256
EXPANSION_SEARCH = 128
#: usearch takes every core by default; the scan's decoders and the UI need theirs.
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
#: Bump when the saved layout or the parameters above change: old files are rebuilt.
FORMAT = 1
#: Prime modulus of the per-row checksum (keeps SQLite's integer sum from overflowing).
_MODULUS = 4_294_967_311


@dataclass(frozen=True, slots=True)
class CatalogState:
    """What the saved index must agree with: a cheap summary of one model's vectors."""

    count: int
    dim: int
    token: str


def catalog_state(catalog: Catalog, model_id: str) -> CatalogState:
    """Count, dimension and a change token of `model_id`'s vectors of present files.

    One SQL aggregate, no vector read: a file re-embedded after an edit changes its
    size or mtime, so a checksum over (id, size, mtime) notices it.
    """
    row_sum = (Embedding.file_id * 2_654_435_761 + File.size * 40_503 + File.mtime_ns) % _MODULUS
    stmt = (
        select(
            func.count(),
            func.coalesce(func.sum(row_sum), 0),
            func.coalesce(func.max(func.length(Embedding.vector)), 0),
        )
        .select_from(Embedding)
        .join(File, File.id == Embedding.file_id)
        .where(Embedding.model_id == model_id, File.status == "ok")
    )
    with catalog.session() as session:
        count, checksum, blob = session.execute(stmt).one()
    dim = int(blob) // np.dtype(np.float16).itemsize
    return CatalogState(int(count), dim, f"{FORMAT}:{model_id}:{count}:{checksum}:{dim}")


class VectorIndex:
    """Approximate cosine search over unit vectors keyed by file id."""

    def __init__(self, dim: int, threads: int = DEFAULT_THREADS, token: str | None = None) -> None:
        self.dim = dim
        self.threads = threads
        #: The catalog state this index was built from (None for a free-standing index).
        self.token = token
        self._index = _new_usearch(dim)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, file_id: int) -> bool:
        return bool(self._index.contains(int(file_id)))

    def keys(self) -> np.ndarray:
        """Every file id held, ascending."""
        return np.sort(np.asarray(self._index.keys, dtype=np.int64))

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of `ids` (float32 rows, in the order asked)."""
        keys = np.asarray(ids, dtype=np.int64)
        if len(keys) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._index.get(keys), dtype=np.float32).reshape(len(keys), self.dim)

    def build(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Replace the whole content with `ids` -> `vectors`."""
        self._index = _new_usearch(self.dim)
        self.add(ids, vectors)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors; an id already present is replaced (a re-embedded file)."""
        keys = np.asarray(ids, dtype=np.int64)
        if len(keys) == 0:
            return
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(keys), self.dim)
        self.remove(keys)
        self._index.add(keys, matrix, threads=self.threads)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Drop ids; ones not present are ignored."""
        keys = np.asarray(ids, dtype=np.int64)
        present = keys[np.asarray(self._index.contains(keys), dtype=bool).reshape(-1)] if len(keys) else keys
        if len(present):
            self._index.remove(present)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest ids per query row and their cosine similarities, best first.

        Rows are padded with id -1 and similarity -inf where fewer than `k` exist.
        """
        queries = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        keys = np.full((len(queries), k), -1, dtype=np.int64)
        sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
        if len(self) == 0 or len(queries) == 0 or k <= 0:
            return keys, sims
        found = self._index.search(queries, k, threads=self.threads)
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
        """Write atomically (a crash leaves the previous file, never half of one)."""
        path = Path(path)
        tmp = temporary_beside(path)
        self._index.save(str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | str, dim: int, threads: int = DEFAULT_THREADS, token: str | None = None) -> VectorIndex:
        """Read a saved index; ValueError when the file is unreadable or of another dimension."""
        index = cls(dim, threads, token)
        try:
            index._index.load(str(path))
        except (RuntimeError, OSError) as exc:
            raise ValueError(f"cannot read vector index {path}: {exc}") from exc
        if index._index.ndim != dim:
            raise ValueError(f"vector index {path} has {index._index.ndim} dimensions, expected {dim}")
        return index


def sidecar_path(index_path: Path) -> Path:
    """The JSON file recording which catalog state a saved index was built from."""
    return index_path.with_name(index_path.name + ".json")


def open_index(catalog: Catalog, model_id: str, dim: int, threads: int = DEFAULT_THREADS) -> VectorIndex:
    """The saved index of `model_id` if it matches the catalog, else one rebuilt and saved.

    The result is shared by later calls in this process while the catalog is
    unchanged (searching many times loads it once): do not add to or remove from it.
    """
    state = catalog_state(catalog, model_id)
    if state.count and state.dim != dim:
        raise ValueError(f"the catalog's {model_id} vectors have {state.dim} dimensions, expected {dim}")
    path = catalog.index_path(model_id)
    opened = _opened.get(path)
    if opened is not None and opened[0] == file_stamp(path) and opened[1].token == state.token and opened[1].dim == dim:
        return opened[1]
    index = None
    if _saved_token(path) == state.token:
        try:
            index = VectorIndex.load(path, dim, threads, state.token)
        except ValueError:
            pass  # unreadable: rebuilt below
    if index is None:
        index = VectorIndex(dim, threads, state.token)
        ids, vectors = catalog.vectors(model_id)
        index.build(ids, vectors)
        index.save(path)
        _write_json(sidecar_path(path), {"token": state.token, "count": len(ids)})
    _opened[path] = (file_stamp(path), index)
    return index


#: The last index opened per file (with the file's mtime), reused while both still match.
_opened: dict[Path, tuple[int | None, VectorIndex]] = {}


def temporary_beside(path: Path) -> Path:
    """A scratch name next to `path`, distinct per process and thread (the UI and a CLI may both save)."""
    return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def file_stamp(path: Path) -> int | None:
    """A saved file's mtime (None when absent): a memoised copy is valid while it holds."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _saved_token(index_path: Path) -> str | None:
    try:
        data = json.loads(sidecar_path(index_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("token") if isinstance(data, dict) and index_path.is_file() else None


def _write_json(path: Path, data: dict) -> None:
    tmp = temporary_beside(path)
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def _similarity(distances: np.ndarray) -> np.ndarray:
    """Cosine from usearch's cosine distance (f16 rounding can step just outside [-1, 1])."""
    return np.clip(1.0 - distances.astype(np.float32), -1.0, 1.0)


def _new_usearch(dim: int) -> Index:
    return Index(
        ndim=dim,
        metric="cos",
        dtype=DTYPE,
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
