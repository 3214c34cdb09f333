"""The vector index: recall against exact search, add/remove, persistence, rebuild when stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import decode
from lookalike.core.engines.index import VectorIndex, _rerank, catalog_state, held_in_memory, open_index, quantize, sidecar_path
from lookalike.core.scan.pipeline import Scanner


def unit_rows(count: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def recall_at(index: VectorIndex, ids: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Share of the exact k nearest (brute force over the vectors the index holds) it returns.

    A returned file counts when it is as close as the exact k-th: identical copies
    have identical vectors, and which of two tied files comes 10th is arbitrary.
    """
    held = index.vectors(ids)
    exact = -np.sort(-(queries @ held.T), axis=1)[:, k - 1]
    found, _ = index.search(queries, k)
    found_sims = np.einsum("qd,qkd->qk", queries, index.vectors(found.ravel()).reshape(*found.shape, -1))
    hits = (found >= 0) & (found_sims >= exact[:, None] - 1e-6)
    return float(hits.sum() / (k * len(queries)))


def devset_vectors(devset: Path, truth: dict, embedder: Embedder) -> np.ndarray:
    names = sorted({n for g in truth["groups"] for n in g} | set(truth["distractors"]))
    pixels = [decode(devset / n, embedder.input_size).pixels for n in names]
    return embedder.embed(pixels).astype(np.float16).astype(np.float32)  # as a full graph build holds them


@pytest.mark.devset
def test_recall_on_devset_vectors(devset: Path, truth: dict, embedder: Embedder) -> None:
    vectors = devset_vectors(devset, truth, embedder)
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    index = VectorIndex(embedder.dim)
    index.build(ids, vectors)
    recall = recall_at(index, ids, index.vectors(ids), 10)
    print(f"devset recall@10 against exact search: {recall:.4f}")
    assert recall >= 0.999  # a small library is searched exactly (see the next test)


def test_small_library_built_by_two_threads_is_searched_exactly() -> None:
    """Threads inserting into a nearly empty HNSW graph miss each other's nodes
    (recall 0.96-0.98 on a few hundred vectors): the first nodes go in one by one."""
    rng = np.random.default_rng(4)
    vectors = np.repeat(unit_rows(40, 256, seed=5), 8, axis=0) + 0.05 * rng.standard_normal((320, 256)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(320, dtype=np.int64)
    for _ in range(4):
        index = VectorIndex(256, threads=2)
        index.build(ids, vectors)
        assert recall_at(index, ids, index.vectors(ids), 10) == 1.0


@pytest.mark.devset
def test_int8_storage_keeps_cosines(devset: Path, truth: dict, embedder: Embedder) -> None:
    """What int8 storage costs: the cosines the index reports against the float ones."""
    vectors = devset_vectors(devset, truth, embedder)
    ids = np.arange(len(vectors), dtype=np.int64)
    index = VectorIndex(embedder.dim)
    index.build(ids, vectors)
    found, sims = index.search(vectors, 10)
    exact = np.einsum("qd,qkd->qk", vectors, vectors[found])
    error = np.abs(sims - exact)
    print(f"int8 storage: cosine error max {error.max():.4f}, mean {error.mean():.5f}")
    assert error.max() < 0.005
    true_top = np.argsort(-(vectors @ vectors.T), axis=1)[:, :10]
    kth = np.take_along_axis(vectors @ vectors.T, true_top, axis=1)[:, -1]
    assert np.mean(exact >= kth[:, None] - 0.005) >= 0.99  # nothing far from the true top 10 comes back


def test_recall_on_clustered_vectors() -> None:
    rng = np.random.default_rng(1)
    centres = unit_rows(300, 64, seed=2)
    vectors = np.repeat(centres, 10, axis=0) + 0.15 * rng.standard_normal((3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(10, 3010, dtype=np.int64)
    index = VectorIndex(64)
    index.build(ids, vectors)
    assert recall_at(index, ids, vectors[::6], 10) >= 0.99
    _, sims = index.search(vectors[:100], 10)
    assert np.all(np.diff(sims, axis=1) <= 1e-6)  # best first


def test_add_remove_and_replace() -> None:
    vectors = unit_rows(50, 16)
    index = VectorIndex(16)
    index.build(np.arange(100, 150), vectors)
    assert len(index) == 50 and 120 in index

    index.remove([120, 121, 999])  # an unknown id is ignored
    assert len(index) == 48 and 120 not in index
    keys, _ = index.search(vectors[20:22], 5)
    assert not {120, 121} & set(keys.ravel().tolist())

    index.add([120], vectors[20:21])
    keys, sims = index.search(vectors[20:21], 1)
    assert keys[0, 0] == 120 and sims[0, 0] == pytest.approx(1.0, abs=1e-3)

    index.add([120], vectors[30:31])  # an id added again is replaced, not doubled
    assert len(index) == 49
    keys, _ = index.search(vectors[30:31], 2)
    assert set(keys[0].tolist()) == {120, 130}


def test_search_pads_when_fewer_than_k() -> None:
    index = VectorIndex(8)
    keys, sims = index.search(unit_rows(2, 8), 3)
    assert keys.tolist() == [[-1, -1, -1]] * 2 and np.isneginf(sims).all()
    index.build([7, 8], unit_rows(2, 8))
    keys, sims = index.search(unit_rows(1, 8, seed=5), 4)
    assert sorted(keys[0, :2].tolist()) == [7, 8] and keys[0, 2:].tolist() == [-1, -1]
    assert np.isfinite(sims[0, :2]).all() and np.isneginf(sims[0, 2:]).all()


def test_save_load_round_trip(tmp_path: Path) -> None:
    vectors = unit_rows(200, 32)
    index = VectorIndex(32)
    index.build(np.arange(200), vectors)
    index.save(tmp_path / "i.usearch")
    loaded = VectorIndex.load(tmp_path / "i.usearch", 32)
    assert len(loaded) == 200
    assert np.array_equal(index.search(vectors[:20], 5)[0], loaded.search(vectors[:20], 5)[0])
    with pytest.raises(ValueError, match="dimensions"):
        VectorIndex.load(tmp_path / "i.usearch", 31)
    (tmp_path / "bad.usearch").write_bytes(b"not an index" * 10)
    with pytest.raises(ValueError, match="cannot read"):
        VectorIndex.load(tmp_path / "bad.usearch", 32)


def test_open_index_follows_the_catalog(samples: Path, tmp_path: Path, embedder: Embedder) -> None:
    with Catalog(tmp_path / "cat" / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder, workers=1).run([samples])
        model = embedder.model_id
        ids, vectors = catalog.vectors(model)
        path = catalog.index_path(model)

        index = open_index(catalog, model, embedder.dim)
        assert path.is_file() and sidecar_path(path).is_file()
        assert index.keys().tolist() == ids.tolist()
        keys, sims = index.search(vectors, 1)  # every photo finds itself (or its identical copy)
        assert np.einsum("nd,nd->n", index.vectors(keys[:, 0]), vectors).min() > 0.998
        assert sims[:, 0] == pytest.approx(1.0, abs=1e-3)

        saved = path.stat().st_mtime_ns
        assert open_index(catalog, model, embedder.dim).keys().tolist() == ids.tolist()
        assert path.stat().st_mtime_ns == saved  # unchanged catalog: nothing rebuilt

        catalog.mark_missing([int(ids[0])])  # the catalog changed: the saved index is stale
        assert catalog_state(catalog, model).count == len(ids) - 1
        assert open_index(catalog, model, embedder.dim).keys().tolist() == ids[1:].tolist()

        path.write_bytes(b"damaged")  # unreadable file with a matching sidecar: rebuilt too
        assert len(open_index(catalog, model, embedder.dim)) == len(ids) - 1
        assert VectorIndex.load(path, embedder.dim).keys().tolist() == ids[1:].tolist()


def test_open_index_on_an_empty_catalog(tmp_path: Path) -> None:
    with Catalog(tmp_path / "empty.sqlite") as catalog:
        index = open_index(catalog, "model:0", 8)
        assert len(index) == 0
        assert index.search(unit_rows(1, 8), 3)[0].tolist() == [[-1, -1, -1]]


@pytest.mark.parametrize("ids", [np.array([1, 2, 3, 5, 8, 9]), np.array([7, 10**12, 10**12 + 5, 4 * 10**12, 5 * 10**12, 6 * 10**12])])
def test_held_vectors_find_each_row_by_id(ids: np.ndarray) -> None:
    """Rows held for a graph build are found by id, through a table where the ids are a
    catalog's (dense) and by search where they are too sparse for one."""
    rng = np.random.default_rng(3)
    rows = rng.integers(-127, 128, (len(ids), 24)).astype(np.int8)
    held = held_in_memory(ids, rows)
    assert (held.row_of_id is not None) == (ids[-1] < 100)
    wanted = ids[[4, 0, 4, 2]]
    unit = rows.astype(np.float32) / np.linalg.norm(rows.astype(np.float32), axis=1, keepdims=True)
    np.testing.assert_allclose(held(wanted), unit[[4, 0, 4, 2]], rtol=1e-6)
    query = unit[[1]]
    np.testing.assert_allclose(held.cosines(query, wanted[None, :]), query @ unit[[4, 0, 4, 2]].T, rtol=1e-5)


def test_re_ranking_on_several_threads_is_that_of_one() -> None:
    """A graph build re-ranks held vectors on both cores: each query's block is written by one
    thread, so the answer is the single thread's, missing candidates (-1) included."""
    rng = np.random.default_rng(8)
    rows = rng.standard_normal((3000, 64)).astype(np.float32)
    ids = np.arange(3000, dtype=np.int64) * 3 + 1
    full = held_in_memory(ids, quantize(rows))
    queries = rows[rng.integers(0, 3000, 1000)]
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    keys = ids[rng.integers(0, 3000, (1000, 20))]
    keys[::5, -4:] = -1
    keys[7] = -1  # a query with no candidate at all
    one = _rerank(queries, keys, full, 10, threads=1)
    two = _rerank(queries, keys, full, 10, threads=3)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert (one[0][7] == -1).all() and (one[0][0] >= 0).all()
    expected = np.sort(full(keys[1]) @ queries[1])[::-1][:10]  # the exact cosines, best first
    assert np.allclose(one[1][1], expected, atol=1e-5)
