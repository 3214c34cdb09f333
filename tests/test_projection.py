"""The compact index: a PCA fitted on the library (core/projection.py), persisted beside
the index and refitted as the library grows, and search quality against exact
full-vector search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.core.engines import projection
from lookalike.core.catalog import blobs
from lookalike.core.catalog.store import Catalog, FileRecord, Location
from lookalike.core.engines.embedder import Embedder
from lookalike.core.matching import graph as graph_module
from lookalike.core.matching.graph import KnnGraph
from lookalike.core.engines.index import VectorIndex, held_in_memory, open_index, projection_path, quantize
from lookalike.core.engines.projection import Projection
from test_index import devset_vectors

DIM = 96


def low_rank(count: int, dim: int, rank: int, seed: int = 0) -> np.ndarray:
    """Unit rows around a common direction that vary in a `rank`-dim subspace (like embeddings)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((dim, rank)))[0].T
    rows = 2.0 * np.abs(rng.standard_normal(dim)) + rng.standard_normal((count, rank)) @ basis
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_fit_keeps_a_low_rank_librarys_geometry() -> None:
    """Rows in an 8-dim subspace keep every cosine through 8 dims (a whitened fit: every
    centred cosine through the 8 dims of an affine one)."""
    rng = np.random.default_rng(2)
    rows = (rng.standard_normal((500, 8)) @ rng.standard_normal((8, 64))).astype(np.float32)
    fitted = Projection.fit(rows, dim=8)
    compact = fitted.apply(rows)
    assert compact.shape == (500, 8) and np.allclose(np.linalg.norm(compact, axis=1), 1.0, atol=1e-5)
    assert np.allclose(compact @ compact.T, unit(rows) @ unit(rows).T, atol=1e-3)


def test_whitening_gives_each_kept_direction_unit_variance() -> None:
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((4000, 32)).astype(np.float32) * np.linspace(3.0, 0.2, 32, dtype=np.float32)
    for whiten in (False, True):
        fitted = Projection.fit(rows, dim=6, whiten=whiten)
        raw = (rows - fitted.mean) @ fitted.components.T
        variance = np.diag(raw.T @ raw / len(rows))
        if whiten:
            assert np.allclose(variance, 1.0, atol=0.02)
        else:  # the six strongest directions, strongest first
            assert np.allclose(variance, np.linspace(3.0, 0.2, 32)[:6] ** 2, rtol=0.1)
        assert fitted.key.split(":")[2] == str(int(whiten))


def test_round_trip_and_unreadable_files(tmp_path: Path) -> None:
    fitted = Projection.fit(low_rank(300, 48, rank=12), dim=10, whiten=True)
    path = tmp_path / "p.npz"
    fitted.save(path)
    again = Projection.load(path)
    assert again.key == fitted.key and again.whiten and again.fitted_count == 300
    rows = low_rank(5, 48, rank=12, seed=9)
    assert np.array_equal(again.apply(rows), fitted.apply(rows))
    with path.open("wb") as handle:
        np.savez(handle, version=np.int64(projection.VERSION + 1), mean=fitted.mean, components=fitted.components,
                 whiten=np.bool_(False), fitted_count=np.int64(1))
    with pytest.raises(ValueError, match="format"):
        Projection.load(path)
    path.write_bytes(b"not a projection")
    with pytest.raises(ValueError):
        Projection.load(path)
    with pytest.raises(ValueError):
        Projection.load(tmp_path / "absent.npz")


@pytest.mark.devset
def test_compact_index_recall_on_devset_vectors(devset: Path, truth: dict, embedder: Embedder) -> None:
    """Searched through the compact vectors and re-ranked by the full ones, the devset's
    neighbours are the exact ones, with the full-vector cosines."""
    vectors = devset_vectors(devset, truth, embedder)
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64) * 3
    index = VectorIndex(embedder.dim, projection=Projection.fit(vectors), full=held_in_memory(ids, vectors))
    index.build(ids, vectors)
    assert index.stored_dim == projection.DIM < embedder.dim
    exact = vectors @ vectors.T
    kth = -np.sort(-exact, axis=1)[:, 9]
    found, sims = index.search(vectors, 10)
    rows = np.searchsorted(ids, found)
    true_sims = np.take_along_axis(exact, rows, axis=1)
    recall = float((true_sims >= kth[:, None] - 1e-6).mean())  # ties for 10th place count
    print(f"devset recall@10 of the compact index (dim {index.stored_dim}): {recall:.4f}")
    assert recall >= 0.995
    assert np.allclose(sims, np.clip(true_sims, -1, 1), atol=1e-5)  # the full-vector cosine, not the compact one


def _store(catalog: Catalog, vectors: np.ndarray, first: int) -> None:
    root = catalog.add_root("/p")
    catalog.store(
        [
            FileRecord(Location(f"/p/{first + i:05d}.jpg", 100 + first + i, 7 + first + i, None, None, root),
                       vector=row, width=4, height=3)
            for i, row in enumerate(vectors)
        ],
        "m",
    )


def test_open_index_fits_keeps_and_refits_the_projection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(projection, "MIN_PHOTOS", 200)
    rows = low_rank(1100, DIM, rank=40)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        saved = projection_path(catalog.index_path("m"))
        _store(catalog, rows[:150], 0)
        assert open_index(catalog, "m", DIM).projection is None and not saved.exists()  # small: full vectors

        _store(catalog, rows[150:250], 150)
        index = open_index(catalog, "m", DIM)
        fitted = index.projection
        assert fitted is not None and fitted.fitted_count == 250 and Projection.load(saved).key == fitted.key
        found, sims = index.search(rows[:5], 3)
        assert found[:, 0].tolist() == catalog.vectors("m")[0][:5].tolist()  # each finds itself
        assert np.allclose(sims[:, 0], 1.0, atol=1e-3)

        _store(catalog, rows[250:300], 250)  # a small change: edited in place, same projection
        index = open_index(catalog, "m", DIM)
        assert index.projection is not None and index.projection.key == fitted.key and len(index) == 300

        saved.write_bytes(b"damaged")  # never searched with numbers it was not built with: rebuilt
        _store(catalog, rows[300:310], 300)
        index = open_index(catalog, "m", DIM)
        assert index.projection is not None and Projection.load(saved).key == index.projection.key
        assert len(index) == 310

        _store(catalog, rows[310:], 310)  # grown past REFIT_GROWTH x the fitted size: refitted
        index = open_index(catalog, "m", DIM)
        assert index.projection is not None and index.projection.fitted_count == 1100
        assert Projection.load(saved).key == index.projection.key != fitted.key


def test_graph_over_a_compact_index_has_the_full_vector_edges() -> None:
    """A k-NN graph searched through compact vectors holds the edges, and the exact
    cosines, that exact search over the full vectors gives."""
    rng = np.random.default_rng(3)
    centres = unit(rng.standard_normal((60, 256)).astype(np.float32))
    rows = unit(np.repeat(centres, 6, axis=0) + 0.01 * rng.standard_normal((360, 256)).astype(np.float32))
    ids = np.arange(360, dtype=np.int64) + 10
    stored = quantize(rows)  # the catalog's int8 rows, as a full build holds them
    index = VectorIndex(256, projection=Projection.fit(rows, dim=64), full=held_in_memory(ids, stored))
    index.build(ids, rows)
    graph = KnnGraph.build(index, k=8, floor=0.3)
    src, dst, sims = graph.edges_above(0.9)
    exact = rows @ rows.T
    a, b = np.nonzero(np.triu(exact >= 0.9, 1))  # every cluster mate (5 per photo, fewer than k)
    assert {(int(x), int(y)) for x, y in zip(src, dst)} == {(int(x), int(y)) for x, y in zip(a, b)}
    assert len(src) == 60 * 15
    read = blobs.unit_rows(stored)  # the cosines of the vectors as the catalog reads them back
    assert np.allclose(sims, np.clip(np.einsum("ij,ij->i", read[src], read[dst]), -1, 1), atol=1e-5)


def test_a_compact_search_re_ranks_the_candidates_it_is_given() -> None:
    """`candidates` sets how many compact neighbours are re-ranked by the full vectors: as
    few as k keeps the int8 compact ranking's picks, the default finds the exact top k (the
    graph build trades between the two with COMPACT_GRAPH_CANDIDATES)."""
    rows = low_rank(2000, DIM, rank=12, seed=4)
    ids = np.arange(2000, dtype=np.int64) + 1
    index = VectorIndex(DIM, projection=Projection.fit(rows, dim=12), full=held_in_memory(ids, rows))
    index.build(ids, rows)
    queries = rows[:40]
    exact = ids[np.argsort(-(queries @ rows.T), axis=1)[:, :5]]
    few, _ = index.search(queries, 5, candidates=5)
    many, sims = index.search(queries, 5)
    assert all(set(a) == set(b) for a, b in zip(many.tolist(), exact.tolist()))
    assert sum(set(a) != set(b) for a, b in zip(few.tolist(), exact.tolist())) >= 10
    assert np.all(np.diff(sims, axis=1) <= 0)


def test_a_compact_graph_build_re_ranks_its_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph build asks a compact index for COMPACT_GRAPH_CANDIDATES per file: enough to
    re-rank the int8 picks into each file's exact k nearest; as few as k + 1 are not."""
    rows = low_rank(2000, DIM, rank=12, seed=4)
    ids = np.arange(2000, dtype=np.int64) + 1
    index = VectorIndex(DIM, projection=Projection.fit(rows, dim=12), full=held_in_memory(ids, rows))
    index.build(ids, rows)
    exact = np.argsort(-(rows @ rows.T), axis=1)[:, 1:6]  # each file's 5 nearest but itself

    def missed(graph: KnnGraph) -> int:
        lists = [set(graph.nbr[graph.indptr[i] : graph.indptr[i + 1]].tolist()) for i in range(len(ids))]
        return sum(not set(row.tolist()) <= lists[i] for i, row in enumerate(exact))

    assert missed(KnnGraph.build(index, k=5, floor=-1.0)) <= 20
    monkeypatch.setattr(graph_module, "COMPACT_GRAPH_CANDIDATES", 6)
    assert missed(KnnGraph.build(index, k=5, floor=-1.0)) >= 500
