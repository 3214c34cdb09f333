"""The Explore tab in the real window: the cluster browser, the map's rubber band, album comparison."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest

from lookalike.core.explore.clusters import catalog_clusters
from lookalike.ui.main_window import MainWindow

from gui_helpers import scan, wait_idle


def open_explore(qtbot, window: MainWindow, page: int) -> None:  # type: ignore[no-untyped-def]
    window.tabs.setCurrentWidget(window.explore)
    window.explore.setCurrentIndex(page)
    qtbot.waitUntil(lambda: not window.explore.busy() and not window.session.runner.busy(), timeout=120_000)


def check_clusters(qtbot, window: MainWindow) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The browser lists core's clusters, largest first, and shows a picked cluster's photos."""
    open_explore(qtbot, window, 0)
    view = window.explore.clusters
    expected = catalog_clusters(window.session.catalog, window.session.model_id)
    assert view.list.count() == len(expected) > 0
    assert [view.list.item(i).text() for i in range(2)][0].endswith(f"{len(expected[0].ids)} photos")
    shown: list[list[str]] = []
    for row in range(view.list.count()):
        view.list.setCurrentRow(row)
        shown.append([f.path for f, _ in view.model.matches])
    assert shown == [c.paths for c in expected]
    assert "%" in view.model.index(0, 0).data()
    return shown


def drag_band(qtbot, window: MainWindow, start: QPoint, end: QPoint) -> None:  # type: ignore[no-untyped-def]
    """A left-button drag on the map, as a person draws a selection rectangle."""
    viewport = window.explore.map.canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(viewport, start + (end - start) * step / 5)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def check_map_selection(qtbot, window: MainWindow) -> list[str]:  # type: ignore[no-untyped-def]
    """A rubber band selects exactly the photos whose points it encloses on screen."""
    open_explore(qtbot, window, 1)
    view = window.explore.map
    canvas = view.canvas
    assert canvas.layout_ is not None and canvas.layout_.method == "tsne"
    assert len(canvas.items) == window.session.catalog.embedded_count(window.session.model_id)
    where = {i: canvas.mapFromScene(item.pos()) for i, item in canvas.items.items()}
    # A band around the two points nearest each other, a little larger than they need.
    points = np.array([[p.x(), p.y()] for p in where.values()])
    gaps = np.linalg.norm(points[:, None] - points[None], axis=2) + np.eye(len(points)) * 1e9
    a, b = np.unravel_index(np.argmin(gaps), gaps.shape)
    low, high = np.minimum(points[a], points[b]) - 6, np.maximum(points[a], points[b]) + 6
    start, end = QPoint(int(low[0]), int(low[1])), QPoint(int(high[0]), int(high[1]))
    band = QRect(start, end)
    expected = sorted(canvas.items[i].path for i, p in where.items() if band.contains(p))
    assert 2 <= len(expected) < len(where)
    drag_band(qtbot, window, start, end)
    qtbot.waitUntil(lambda: view.selected_paths() == expected, timeout=5000)
    assert view.search_button.isEnabled() and str(len(expected)) in view.selection_label.text()
    return expected


def test_explore_on_samples(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    shown = check_clusters(qtbot, window)
    assert sorted(p for c in shown for p in c) == sorted(m.path for m in window.session.catalog.iter_files(("ok",)))
    selected = check_map_selection(qtbot, window)

    window.explore.map.compare_button.click()  # the selection side by side, one group, a keeper proposed
    assert window.tabs.currentWidget() is window.compare
    group = window.compare.group()
    assert sorted(m.file.path for m in group.members) == sorted(selected)
    assert sum(m.keep for m in group.members) == 1 and group.members[0].file.id == group.representative_id
    window.tabs.setCurrentWidget(window.explore)

    window.explore.map.mark_button.click()
    assert len(window.session.marks) == len(selected)
    window.explore.map.search_button.click()  # the selection searched: the search tab shows its results
    assert window.tabs.currentWidget() is window.search
    qtbot.waitUntil(lambda: window.search.model.rowCount() > 0, timeout=60_000)
    assert window.search.queries.count() == len(selected)


def test_map_empty_catalog_says_so(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    open_explore(qtbot, window, 1)
    assert "No photos yet" in window.explore.map.status.text()
    window.explore.setCurrentIndex(2)
    window.explore.albums.folder_a.setText("/no/such/folder")
    window.explore.albums.compare()
    assert "Not a folder" in window.explore.albums.summary.text()


@pytest.mark.devset
def test_explore_on_the_devset(qtbot, window: MainWindow, devset_copy: Path, truth: dict, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, devset_copy)

    shown = check_clusters(qtbot, window)
    where = {str(Path(p).relative_to(devset_copy)): n for n, c in enumerate(shown) for p in c}
    assert len(where) == sum(len(c) for c in shown)  # each photo in exactly one cluster
    pairs = [pair for g in truth["groups"] for pair in itertools.combinations(g, 2)] + [tuple(p) for p in truth["similar"]]
    together = sum(where[a] == where[b] for a, b in pairs) / len(pairs)
    assert together >= 0.8, together

    check_map_selection(qtbot, window)

    backup = tmp_path / "backup"
    shutil.copytree(devset_copy, backup, ignore=shutil.ignore_patterns("broken", "*.json", "*.md", "*.py"))
    removed = sorted(truth["distractors"][20:25])
    for name in removed:
        (backup / name).unlink()
    for name in truth["distractors"][30:40]:
        with Image.open(backup / name) as image:
            pixels = image.convert("RGB")
        pixels.save(backup / name, "JPEG", quality=70)
    albums = window.explore.albums
    window.explore.setCurrentIndex(2)
    albums.folder_a.setText(str(devset_copy))
    albums.folder_b.setText(str(backup))
    albums.compare_button.click()  # the backup is not in the catalog: scanned first
    qtbot.waitUntil(lambda: albums.result is not None and not albums.loading, timeout=180_000)
    only_a = sorted(albums.only_a.item(i).toolTip() for i in range(albums.only_a.count()))
    assert only_a == sorted(str(devset_copy / n) for n in removed)
    assert albums.only_b.count() == 0
    assert f"{len(removed)}</b> only in A" in albums.summary.text()
    wait_idle(qtbot, window)

    albums.find_button.click()
    qtbot.waitUntil(lambda: not albums.loading, timeout=60_000)
    found = {frozenset((albums.found.topLevelItem(i).text(1), albums.found.topLevelItem(i).text(2))) for i in range(albums.found.topLevelItemCount())}
    assert frozenset((str(devset_copy), str(backup))) in found
