"""A changed catalog updates its index and graph in place, with the same result as a rebuild."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.matching.graph import KnnGraph, graph_path, open_graph
from lookalike.core.matching.grouping import star_groups
from lookalike.core.matching.proof import Verdict
from lookalike.core.engines import projection
from lookalike.core.engines.index import Stamps, VectorIndex, catalog_stamps, open_index, projection_path
from lookalike.core.scan.pipeline import Scanner


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.abs(rng.standard_normal((n // 4, dim)))
    vectors = np.repeat(centres, 4, axis=0) + 0.05 * rng.standard_normal((n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def edge_set(graph: KnnGraph) -> set[tuple[int, int]]:
    src, dst, _ = graph.edges_above(graph.floor)
    return {(int(graph.ids[a]), int(graph.ids[b])) for a, b in zip(src, dst)}


def plain_photos(folder: Path, count: int, step: int) -> Path:
    """`count` flat-coloured PNGs in `folder` (made), each colour `step` apart: unrelated photos."""
    folder.mkdir()
    for i in range(count):
        Image.new("RGB", (64, 48), (i * step, 255 - i * step, (i * 37) % 256)).save(folder / f"plain{i}.png")
    return folder


def test_updated_graph_equals_a_rebuilt_one() -> None:
    vectors = clustered(80, 12, seed=5)
    ids = np.arange(1, 81) * 7
    index = VectorIndex(12)
    index.build(ids[:60], vectors[:60])
    before = KnnGraph.build(index, k=100, floor=0.3)  # k above n: every pair over the floor

    index.remove(ids[:8])  # files removed
    index.add(ids[60:], vectors[60:])  # files added
    index.add(ids[20:24], vectors[20:24][:, ::-1].copy())  # files whose content changed
    fresh = np.concatenate([ids[60:], ids[20:24]])
    updated = before.updated(index, index.keys(), fresh)
    rebuilt = KnnGraph.build(index, k=100, floor=0.3)
    assert updated.ids.tolist() == rebuilt.ids.tolist()
    assert edge_set(updated) == edge_set(rebuilt)


def test_stamps_name_the_changed_files() -> None:
    old = Stamps(np.array([1, 2, 3, 4]), np.array([10, 20, 30, 40]))
    new = Stamps(np.array([2, 3, 4, 5]), np.array([20, 31, 40, 50]))
    gone, fresh = new.changes_since(old)
    assert gone.tolist() == [1, 3] and fresh.tolist() == [3, 5]
    assert not new.small_change(old)  # 3 of 4 files touched: rebuild
    assert new.aligned(np.array([3, 9])).tolist() == [31, -1]


def test_rescan_updates_graph_in_place(samples: Path, tmp_path: Path, embedder: Embedder) -> None:
    """Groups after an in-place update match those of a graph built from nothing."""
    extra = plain_photos(tmp_path / "more", 30, 8)  # a bigger library, so that the change below is a small one
    with Catalog(tmp_path / "c" / "catalog.sqlite") as catalog:
        scanner = Scanner(catalog, embedder, workers=1)
        scanner.run([samples, extra])
        model = embedder.model_id
        first = open_graph(catalog, model)
        assert first.stamps is not None and len(first.stamps) == len(first.ids)

        shutil.copyfile(samples / "chelsea.jpg", samples / "chelsea again.jpg")  # added
        (samples / "copies" / "chelsea_small.jpg").unlink()  # removed
        scanner.run([samples, extra])
        current = catalog_stamps(catalog, model)
        assert current.small_change(Stamps(first.ids, first.stamps))

        updated = open_graph(catalog, model)
        assert updated.token != first.token
        graph_path(catalog, model).unlink()
        rebuilt = KnnGraph.build(open_index(catalog, model, embedder.dim)).with_structure(catalog.signatures)
        assert updated.ids.tolist() == current.ids.tolist()
        assert edge_set(updated) == edge_set(rebuilt)
        assert np.allclose(np.sort(updated.structure[~np.isnan(updated.structure)]),
                           np.sort(rebuilt.structure[~np.isnan(rebuilt.structure)]), atol=1e-5)


def test_scan_grows_the_graph_batch_by_batch(samples: Path, tmp_path: Path, embedder: Embedder) -> None:
    """The graph is saved while the scan embeds (its files found their neighbours batch by
    batch), and the finished graph groups exactly as one built from nothing."""
    extra = plain_photos(tmp_path / "more", 24, 10)
    with Catalog(tmp_path / "c" / "catalog.sqlite") as catalog:
        model = embedder.model_id
        during: list[int] = []

        def watch(progress: object) -> None:
            if getattr(progress, "phase") == "embedding" and graph_path(catalog, model).is_file():
                during.append(len(KnnGraph.load(graph_path(catalog, model))))

        Scanner(catalog, embedder, workers=1, batch_size=4, graph_step=4).run([samples, extra], progress=watch)
        grown = open_graph(catalog, model)
        total = catalog_stamps(catalog, model).ids
        assert during and 0 < min(during) < len(total)  # saved, partly grown, before the scan ended
        assert grown.ids.tolist() == total.tolist()

        graph_path(catalog, model).unlink()
        for saved in catalog.index_path(model).parent.glob(catalog.index_path(model).name + "*"):
            saved.unlink()
        rebuilt = open_graph(catalog, model)
        assert edge_set(grown) == edge_set(rebuilt)
        for by, threshold, proven in (("structure", 0.9, Verdict.SAME_PICTURE), ("structure", 0.6, Verdict.SAME_MOMENT),
                                      ("cosine", 0.62, None), ("scene", 0.58, None)):
            ours, theirs = (star_groups(g, threshold, by=by, proven=proven) for g in (grown, rebuilt))
            assert [g.members for g in ours] == [g.members for g in theirs], by
            # A pair's cosine found from either end may differ in its last bit (usearch's float rounding);
            # the scene axes are fitted in float32 from the same vectors gathered in another order.
            assert np.allclose(np.concatenate([g.similarities for g in ours] or [[]]),
                               np.concatenate([g.similarities for g in theirs] or [[]]),
                               atol=1e-4 if by == "scene" else 1e-6), by
        assert star_groups(grown, 0.9, by="structure", proven=Verdict.SAME_PICTURE)  # the samples' copies are found


def test_scan_never_waits_for_a_projection_refit(
    samples: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library growing past projection.MIN_PHOTOS during a scan keeps the index it has
    (edited in place); the next open outside a scan fits the projection."""
    monkeypatch.setattr(projection, "MIN_PHOTOS", 24)  # reached by in-place steps (a step of 4 is a small change from 16 on)
    extra = plain_photos(tmp_path / "more", 20, 12)
    with Catalog(tmp_path / "c" / "catalog.sqlite") as catalog:
        model = embedder.model_id
        Scanner(catalog, embedder, workers=1, batch_size=4, graph_step=4).run([samples, extra])
        count = len(catalog_stamps(catalog, model).ids)
        assert count > projection.MIN_PHOTOS
        saved = projection_path(catalog.index_path(model))
        assert not saved.exists()  # grown past MIN_PHOTOS within the scan, no refit there
        kept = open_index(catalog, model, embedder.dim, refit=False)
        assert kept.projection is None and len(kept) == count

        refitted = open_index(catalog, model, embedder.dim)
        assert refitted.projection is not None and refitted.projection.fitted_count == count and saved.exists()
        ids, vectors = catalog.vectors(model)
        found, sims = refitted.search(vectors, 3)  # every photo finds itself (or its identical copy) first
        assert all(i in row for i, row in zip(ids.tolist(), found.tolist())) and np.allclose(sims[:, 0], 1.0, atol=1e-3)
