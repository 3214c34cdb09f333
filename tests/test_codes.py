"""A person's search over a compact index scans every photo's code (core/engines/codes.py):
what it finds, how it follows adds and removals, and how it is saved and read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines import codes, projection
from lookalike.core.engines import index as index_module
from lookalike.core.catalog.blobs import quantize
from lookalike.core.engines.codes import CodeScan
from lookalike.core.engines.index import EXPANSION_SEARCH, VectorIndex, codes_path, held_in_memory, open_index
from lookalike.core.engines.links import LinkGraph
from lookalike.core.engines.projection import Projection
from usearch.index import Index
from test_projection import _store, low_rank

DIM = 96


def _compact_index(rows: np.ndarray, dim: int = 48) -> tuple[VectorIndex, np.ndarray]:
    ids = np.arange(len(rows), dtype=np.int64) * 2 + 5
    index = VectorIndex(rows.shape[1], projection=Projection.fit(rows, dim=dim), full=held_in_memory(ids, rows))
    index.build(ids, rows)
    return index, ids


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found.tolist(), exact.tolist())]))


def test_the_scan_finds_the_exact_neighbours_through_the_codes() -> None:
    """4,000 rows of a 40-dim spread, more than CANDIDATES: the codes are scanned, and their
    picks re-ranked into the exact top 10 with the full vectors' cosines."""
    rows = low_rank(4000, DIM, rank=40, seed=1)
    index, ids = _compact_index(rows)
    queries = rows[:200] + 0.05 * np.random.default_rng(2).standard_normal((200, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact_sims = queries @ rows.T
    exact = ids[np.argsort(-exact_sims, axis=1)[:, :10]]
    found, sims = index.search(queries, 10)
    print(f"recall@10 of the code scan over 4,000 rows: {_recall(found, exact):.4f}")
    assert _recall(found, exact) >= 0.99
    rows_found = np.searchsorted(ids, found)
    assert np.allclose(sims, np.take_along_axis(exact_sims, rows_found, axis=1), atol=1e-5)


def test_few_codes_taken_lose_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The codes, not the int8 rows alone, choose what is re-ranked: taking as few codes as
    the answer has misses neighbours that the default number finds."""
    rows = low_rank(4000, DIM, rank=40, seed=3)
    index, ids = _compact_index(rows)
    exact = ids[np.argsort(-(rows[:200] @ rows.T), axis=1)[:, :10]]
    full, _ = index.search(rows[:200], 10)
    monkeypatch.setattr(codes, "CANDIDATES", 10)
    few, _ = index.search(rows[:200], 10)
    assert _recall(full, exact) >= 0.99 > _recall(few, exact) + 0.05


def test_removed_photos_are_never_found_and_added_ones_are() -> None:
    rows = low_rank(3000, DIM, rank=30, seed=5)
    index, ids = _compact_index(rows)
    gone = ids[:100]
    index.remove(gone)
    assert len(index) == 2900 and int(gone[0]) not in index and int(ids[100]) in index
    found, _ = index.search(rows[:100], 5)
    assert not np.isin(found, gone).any()
    assert found[:, 0].tolist() != gone.tolist()
    index.add(gone, rows[:100])
    found, sims = index.search(rows[:100], 5)
    assert found[:, 0].tolist() == gone.tolist() and np.allclose(sims[:, 0], 1.0, atol=1e-5)
    assert np.array_equal(index.keys(), ids)


def test_a_saved_compact_index_reads_back_and_edits(tmp_path: Path) -> None:
    """Read back, it searches as before; its HNSW graph is read from the file when a
    library-wide search or an edit first needs it, and an edit does not change the saved file."""
    rows = low_rank(3000, DIM, rank=30, seed=6)
    index, ids = _compact_index(rows)
    path = tmp_path / "i.usearch"
    index.save(path)
    saved = path.read_bytes()
    loaded = VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(ids, rows))
    assert len(loaded) == 3000 and np.array_equal(loaded.keys(), ids)
    for expansion in (None, EXPANSION_SEARCH):  # the scan, and the HNSW graph (library-wide searches)
        assert np.array_equal(index.search(rows[:50], 5, expansion=expansion)[0],
                              loaded.search(rows[:50], 5, expansion=expansion)[0])
    loaded.remove(ids[:10])
    found, _ = loaded.search(rows[:10], 3, expansion=EXPANSION_SEARCH)
    assert not np.isin(found, ids[:10]).any()
    assert path.read_bytes() == saved
    loaded.save(path)
    again = VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(ids, rows))
    assert len(again) == 2990 and not np.isin(again.search(rows[:10], 3)[0], ids[:10]).any()


def test_codes_that_disagree_with_their_index_are_not_read(tmp_path: Path) -> None:
    rows = low_rank(1500, DIM, rank=30, seed=7)
    index, ids = _compact_index(rows)
    path = tmp_path / "i.usearch"
    index.save(path)
    other, _ = _compact_index(rows[:1400])
    other.save(tmp_path / "other.usearch")
    good = codes_path(path).read_bytes()
    codes_path(path).write_bytes(good[: len(good) // 2])  # cut short, as by a full disk
    with pytest.raises(ValueError, match="codes"):
        VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(ids, rows))
    codes_path(path).write_bytes(codes_path(tmp_path / "other.usearch").read_bytes())
    with pytest.raises(ValueError, match="different photos"):
        VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(ids, rows))
    codes_path(path).write_bytes(b"damaged")
    with pytest.raises(ValueError, match="codes"):
        VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(ids, rows))
    codes_path(path).unlink()
    with pytest.raises(ValueError, match="codes"):
        VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(ids, rows))


def test_small_sets_rerank_every_row_and_gain_codes_as_they_grow(tmp_path: Path) -> None:
    rows = low_rank(codes.CANDIDATES + 200, 64, rank=20, seed=8)
    compact = Projection.fit(rows, dim=32).apply(rows)
    scan = CodeScan(32, threads=1)
    keys = np.arange(len(rows), dtype=np.int64) + 1
    scan.add(keys[:500], compact[:500])
    held = quantize(compact).astype(np.float32)
    held /= np.linalg.norm(held, axis=1, keepdims=True)  # the int8 rows, as the scan re-ranks them
    exact = keys[np.argsort(-(compact[:20] @ held[:500].T), axis=1, kind="stable")[:, :5]]
    assert np.array_equal(scan.candidates(compact[:20], 5), exact)  # every row re-ranked: exact
    scan.add(keys[500:], compact[500:])  # past CANDIDATES: quantized from here
    scan.save(tmp_path / "c.npz")
    back = CodeScan.load(tmp_path / "c.npz", threads=1)
    assert np.array_equal(back.candidates(compact[:20], 5), scan.candidates(compact[:20], 5))
    assert scan.candidates(compact[:3], 1)[:, 0].tolist() == keys[:3].tolist()


@pytest.fixture
def compact_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Catalog, np.ndarray]]:
    """A catalog of 400 photos' vectors, compact from 200 photos on; and the vectors."""
    monkeypatch.setattr(projection, "MIN_PHOTOS", 200)
    monkeypatch.setattr(codes, "CANDIDATES", 64)
    rows = low_rank(400, DIM, rank=30, seed=9)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        _store(catalog, rows, 0)
        yield catalog, rows


def _reopened(catalog: Catalog) -> VectorIndex:
    """open_index as a new process calls it: nothing kept from this process's calls."""
    index_module._opened.clear()  # noqa: SLF001
    return open_index(catalog, "m", DIM)


def test_open_index_rebuilds_when_the_codes_are_lost(compact_catalog: tuple[Catalog, np.ndarray]) -> None:
    catalog, rows = compact_catalog
    index = open_index(catalog, "m", DIM)
    assert index.projection is not None and codes_path(catalog.index_path("m")).is_file()
    ids = catalog.vectors("m")[0]
    codes_path(catalog.index_path("m")).write_bytes(b"damaged")
    again = _reopened(catalog)
    assert len(again) == 400 and again.search(rows[:5], 1)[0][:, 0].tolist() == ids[:5].tolist()
    assert CodeScan.load(codes_path(catalog.index_path("m")), threads=1).keys.tolist() == ids.tolist()


def test_a_compact_index_saved_with_usearchs_graph_is_rebuilt(compact_catalog: tuple[Catalog, np.ndarray]) -> None:
    """Before faiss's graph (core/engines/links.py) a compact index saved usearch's in its
    file. Such a file is not read: open_index rebuilds the index, while the catalog's token,
    which the neighbour graph is cached under, stays the same."""
    catalog, rows = compact_catalog
    index = open_index(catalog, "m", DIM)
    ids, path = catalog.vectors("m")[0], catalog.index_path("m")
    old = Index(ndim=index.stored_dim, metric="cos", dtype="i8")
    old.add(ids, index.projection.apply(rows))  # type: ignore[union-attr]
    old.save(str(path))
    with pytest.raises(ValueError, match="graph"):
        VectorIndex.load(path, DIM, projection=index.projection, full=held_in_memory(*catalog.vectors("m")))
    again = _reopened(catalog)
    assert again.token == index.token and len(again) == 400
    found, _ = again.search(rows[:5], 1, expansion=EXPANSION_SEARCH)  # through the graph rebuilt
    assert found[:, 0].tolist() == ids[:5].tolist()
    with path.open("rb") as handle:
        assert LinkGraph.held_in(handle) == 400


def test_codes_in_parts_scanned_side_by_side_find_what_one_part_finds(tmp_path: Path) -> None:
    """Two threads hold the codes in two parts of one quantizer, shared out evenly as photos are
    added (a build adds them in chunks), and scan them side by side: the same candidates as
    one part, and the same after saving and reading back."""
    rows = low_rank(3 * codes.CANDIDATES, 64, rank=20, seed=10)
    compact = Projection.fit(rows, dim=32).apply(rows)
    keys = np.arange(len(rows), dtype=np.int64) * 3 + 1
    one, two = CodeScan(32, threads=1), CodeScan(32, threads=2)
    bounds = [0, codes.CANDIDATES + 100, 2 * codes.CANDIDATES, len(rows)]  # trained by the first chunk
    for scan in (one, two):
        for start, stop in zip(bounds[:-1], bounds[1:]):
            scan.add(keys[start:stop], compact[start:stop])
    assert [p.ntotal for p in one._parts] == [len(rows)]
    sizes = [p.ntotal for p in two._parts]
    assert len(sizes) == 2 and sum(sizes) == len(rows) and abs(sizes[0] - sizes[1]) <= 1
    queries = compact[:50] + 0.05 * np.random.default_rng(11).standard_normal((50, 32)).astype(np.float32)
    assert np.array_equal(two.candidates(queries, 10), one.candidates(queries, 10))
    assert two.candidates(compact[:20], 1)[:, 0].tolist() == keys[:20].tolist()
    two.remove(keys[:100])  # made again from the rows left, still in two even parts
    assert sorted(p.ntotal for p in two._parts) == [len(rows) // 2 - 50] * 2
    assert not np.isin(two.candidates(compact[:100], 3), keys[:100]).any()
    two.save(tmp_path / "c.npz")
    back = CodeScan.load(tmp_path / "c.npz", threads=2)
    assert [p.ntotal for p in back._parts] == [p.ntotal for p in two._parts]
    assert np.array_equal(back.candidates(queries, 10), two.candidates(queries, 10))


def test_codes_saved_in_one_part_by_version_1_are_read(tmp_path: Path) -> None:
    """A library indexed before the codes came in parts keeps its codes (a million photos'
    index takes minutes to build again): read as one part, they answer as before."""
    rows = low_rank(2 * codes.CANDIDATES, 64, rank=20, seed=12)
    compact = Projection.fit(rows, dim=32).apply(rows)
    keys = np.arange(len(rows), dtype=np.int64) + 7
    scan = CodeScan(32, threads=1)
    scan.add(keys, compact)
    with (tmp_path / "v1.npz").open("wb") as handle:  # version 1's layout: one `codes` field
        np.savez(handle, version=np.int64(1), keys=scan.keys, rows=scan.rows,
                 codes=faiss.serialize_index(scan._parts[0]), code_keys=scan._part_keys[0])
    back = CodeScan.load(tmp_path / "v1.npz", threads=2)
    assert len(back._parts) == 1
    assert np.array_equal(back.candidates(compact[:30], 5), scan.candidates(compact[:30], 5))
    back.remove(keys[:10])  # its codes are made again: in a part a thread from then on
    scan.remove(keys[:10])
    assert [p.ntotal for p in back._parts] == [len(rows) // 2 - 5] * 2
    assert np.array_equal(back.candidates(compact[10:30], 5), scan.candidates(compact[10:30], 5))
    with (tmp_path / "v9.npz").open("wb") as handle:  # a later layout is not guessed at
        np.savez(handle, version=np.int64(9), keys=scan.keys, rows=scan.rows, code_keys=scan._part_keys[0])
    with pytest.raises(ValueError, match="another format"):
        CodeScan.load(tmp_path / "v9.npz", threads=2)
