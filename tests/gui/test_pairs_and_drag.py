"""A photo from the groups or the compare view: "not a duplicate of" its reference, and dragging it out."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QContextMenuEvent, QDrag
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from lookalike.ui.groups_view import GroupsList, GroupsPage
from lookalike.ui.main_window import MainWindow

from gui_helpers import drop_mime, scan, wait_idle

pytestmark = pytest.mark.gui


def together(page: GroupsPage, pair: set[int]) -> bool:
    return any(pair <= {m.file.id for m in g.members} for g in page.model.groups)


def tile_center(view: GroupsList, row: int, member: int) -> QPoint:
    index = view.model().index(row, 0)
    return view.itemDelegate().member_rects(view.visualRect(index), index)[member].center()


def apart_entry(widget: QWidget, pos: QPoint) -> QAction:
    """Right-click at `pos`: the "Not a Duplicate of ..." entry of the menu shown (then closed)."""
    found: list[QAction] = []

    def look() -> None:
        menu = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible())
        found.extend(a for a in menu.actions() if a.text().startswith("Not a Duplicate of"))
        menu.close()

    QTimer.singleShot(0, look)  # runs inside the menu's own event loop
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos)))
    assert len(found) == 1
    return found[0]


def largest_group(page: GroupsPage) -> int:
    return max(range(len(page.model.groups)), key=lambda r: len(page.model.groups[r].members))


def test_not_a_duplicate_of_the_reference_splits_the_pair_at_every_threshold(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    row = largest_group(page)
    group = page.model.groups[row]
    reference, photo = group.members[0], group.members[-1]
    assert reference.file.id == group.representative_id
    pair = {reference.file.id, photo.file.id}

    entry = apart_entry(page.list.viewport(), tile_center(page.list, row, len(group.members) - 1))
    assert entry.text() == f"Not a Duplicate of {Path(reference.file.path).name}"
    entry.trigger()
    qtbot.waitUntil(lambda: not together(page, pair), timeout=10_000)
    wait_idle(qtbot, window)
    assert "Remembered" in window.statusBar().currentMessage()

    for value in (page.slider.minimum(), 75, page.slider.maximum()):
        page.slider.setValue(value)
        wait_idle(qtbot, window)
        assert not together(page, pair), value
    page.reset_threshold()
    wait_idle(qtbot, window)
    assert not together(page, pair)


def test_not_a_duplicate_in_compare_by_shortcut_and_menu(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    row = largest_group(page)
    group = page.model.groups[row]
    reference, photo = group.members[0], group.members[1]
    window.open_compare("duplicate", row)
    compare = window.compare
    qtbot.keyClick(compare, Qt.Key.Key_Right)
    assert compare.member().file.id == photo.file.id
    qtbot.keyClick(compare, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    pair = {reference.file.id, photo.file.id}
    qtbot.waitUntil(lambda: not together(page, pair), timeout=10_000)
    wait_idle(qtbot, window)
    assert not pair <= {p.property("file_id") for p in compare.panels}

    group = compare.group()
    pane = compare.panels[-1].pane
    entry = apart_entry(pane.viewport(), pane.viewport().rect().center())
    assert compare.member().file.id == group.members[-1].file.id  # the right-click chose that photo
    assert entry.text() == f"Not a Duplicate of {Path(group.members[0].file.path).name}"


def best_matches(window: MainWindow) -> set[str]:
    """The search results as alike as a photo is to itself (it, and any identical copy)."""
    return {file.path for file, similarity in window.search.model.matches if similarity > 0.999}


def drag_from(qtbot, viewport: QWidget, pos: QPoint, monkeypatch: pytest.MonkeyPatch) -> QMimeData:  # type: ignore[no-untyped-def]
    """Press on `pos` and move well past the drag distance; returns what the drag carries."""
    carried: list[QMimeData] = []

    def exec_(drag: QDrag, *_a: object) -> Qt.DropAction:
        copy = QMimeData()
        copy.setUrls(drag.mimeData().urls())
        carried.append(copy)
        return Qt.DropAction.CopyAction

    monkeypatch.setattr(QDrag, "exec", exec_)
    step = QPoint(QApplication.startDragDistance() + 2, 0)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseMove(viewport, pos + step)
    qtbot.mouseMove(viewport, pos + step * 2)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=pos + step * 2)
    assert len(carried) == 1
    return carried[0]


def test_photo_tiles_drag_out_as_files_and_dropping_one_searches(qtbot, window: MainWindow, samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    group = page.model.groups[0]
    photo = group.members[-1].file
    mime = drag_from(qtbot, page.list.viewport(), tile_center(page.list, 0, len(group.members) - 1), monkeypatch)
    assert [u.toLocalFile() for u in mime.urls()] == [photo.path]

    drop_mime(window, mime)
    search = window.search
    assert window.tabs.currentWidget() is search
    qtbot.waitUntil(lambda: search.model.rowCount() > 1, timeout=60_000)
    assert photo.path in best_matches(window)

    second = search.model.matches[1][0]
    rect = search.grid.visualRect(search.model.index(1, 0))
    mime = drag_from(qtbot, search.grid.viewport(), rect.center(), monkeypatch)
    assert [u.toLocalFile() for u in mime.urls()] == [second.path]
    drop_mime(window, mime)
    qtbot.waitUntil(lambda: bool(search.results) and str(search.results[0].query) == second.path, timeout=60_000)
    assert second.path in best_matches(window)
