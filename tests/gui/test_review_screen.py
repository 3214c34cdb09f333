"""The review screen on a real window: keyboard navigation in Compare, zoom shown, dense tiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

from lookalike.ui.groups_view import member_tiles
from lookalike.ui.main_window import MainWindow
from lookalike.ui.tiles import NOTE_LINES, PADDING, TEXT_LINES, wrap_lines

from gui_helpers import scan

pytestmark = pytest.mark.gui


def key(qtbot, window: MainWindow, code: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    """A key pressed as on a real keyboard: it goes to whichever widget has the focus."""
    target: QWidget | None = QApplication.focusWidget()
    assert target is not None and target.window() is window
    qtbot.keyClick(target, code)


def test_compare_keys_still_navigate_after_a_click_and_a_pan(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    groups = window.pages["duplicate"].model.groups
    assert len(groups) >= 3
    window.activateWindow()
    qtbot.waitActive(window)
    window.open_compare("duplicate", 0)
    compare = window.compare
    qtbot.waitUntil(lambda: all(p.property("full") for p in compare.panels), timeout=20_000)

    pane = compare.panels[-1].pane
    compare.actual_all()  # large enough to pan
    centre = pane.viewport().rect().center()
    qtbot.mouseClick(pane.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert compare.current == len(compare.panels) - 1
    qtbot.mousePress(pane.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(pane.viewport(), centre + QPoint(-40, -30))
    qtbot.mouseRelease(pane.viewport(), Qt.MouseButton.LeftButton, pos=centre + QPoint(-40, -30))

    key(qtbot, window, Qt.Key.Key_Down)
    assert compare.row == 1
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert compare.row == 2
    key(qtbot, window, Qt.Key.Key_Up)
    assert compare.row == 1

    qtbot.waitUntil(lambda: all(p.property("full") for p in compare.panels), timeout=20_000)
    qtbot.mouseClick(compare.panels[0].pane.viewport(), Qt.MouseButton.LeftButton)
    key(qtbot, window, Qt.Key.Key_Right)
    assert compare.current == 1
    key(qtbot, window, Qt.Key.Key_Left)
    assert compare.current == 0


def test_compare_shows_the_zoom_level(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    window.open_compare("duplicate", 0)
    compare = window.compare
    qtbot.waitUntil(lambda: all(p.property("full") for p in compare.panels), timeout=20_000)
    pane = compare.panels[0].pane
    assert compare.zoom_label.isVisible()
    assert compare.zoom_label.text() == f"Fit \u00b7 {round(pane.transform().m11() * 100)}%"
    qtbot.keyClick(compare, Qt.Key.Key_1)
    assert compare.zoom_label.text() == "100%"
    qtbot.keyClick(compare, Qt.Key.Key_Plus)
    assert compare.zoom_label.text() == "125%"
    qtbot.keyClick(compare, Qt.Key.Key_F)
    assert compare.zoom_label.text().startswith("Fit")


def same_name_copies(folder: Path, samples: Path) -> tuple[Path, Path]:
    """One photo stored twice under the same name in two folders whose own names match too."""
    first, second = folder / "2019" / "trip" / "beach.jpg", folder / "2020" / "trip" / "beach.jpg"
    for target in (first, second):
        target.parent.mkdir(parents=True)
        target.write_bytes((samples / "chelsea.jpg").read_bytes())
    return first, second


def test_tiles_show_the_folder_and_reasons_on_two_lines(qtbot, window: MainWindow, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = same_name_copies(samples / "albums", samples)
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    row = next(r for r, g in enumerate(page.model.groups) if str(first) in {m.file.path for m in g.members})
    group = page.model.groups[row]
    tiles = {t.path: t for t in member_tiles(group, window.session.marks)}
    assert tiles[str(first)].lines[0] == tiles[str(second)].lines[0] == "beach.jpg"
    assert tiles[str(first)].lines[1] == "in 2019/trip" and tiles[str(second)].lines[1] == "in 2020/trip"

    # Every verdict that fits on two lines of a tile is shown whole, not cut after one line.
    index = page.model.index(row, 0)
    rect = page.list.itemDelegate().member_rects(page.list.visualRect(index), index)[0]
    width = rect.width() - 2 * PADDING
    font = page.list.font()
    for tile in tiles.values():
        lines = wrap_lines(tile.note, font, width)
        if QFontMetrics(font).horizontalAdvance(tile.note) > width:
            assert len(lines) == 2
        if len(lines) == 2 and "\u2026" not in lines[1]:
            assert " ".join(lines).split() == tile.note.split()
        assert all(QFontMetrics(font).horizontalAdvance(line) <= width for line in lines)
    assert rect.height() >= page.list.thumb + (TEXT_LINES + NOTE_LINES) * QFontMetrics(font).height()


def tile_width(window: MainWindow) -> int:
    page = window.pages["duplicate"]
    index = page.model.index(0, 0)
    return page.list.itemDelegate().member_rects(page.list.visualRect(index), index)[0].width()


def test_small_groups_share_a_row_and_the_tile_size_is_remembered(qtbot, make_window, samples: Path) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.resize(1920, 1080)
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    rects = [page.list.visualRect(page.model.index(r, 0)) for r in range(page.model.rowCount())]
    assert len(rects) >= 3 and all(len(g.members) <= 3 for g in page.model.groups)
    assert len({r.top() for r in rects}) == 1  # every small group in one row at 1920 px
    assert max(r.right() for r in rects) < page.list.viewport().width()
    page.list.setFocus()
    page.list.select(0)
    qtbot.keyClick(page.list, Qt.Key.Key_Down)  # the next group, though it sits beside, not below
    assert page.list.currentIndex().row() == 1
    qtbot.keyClick(page.list, Qt.Key.Key_Up)
    assert page.list.currentIndex().row() == 0

    default = window.session.settings.thumbnail_size
    before = tile_width(window)
    qtbot.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    larger = window.session.settings.thumbnail_size
    assert larger > default and window.thumb_slider.value() == larger
    qtbot.waitUntil(lambda: tile_width(window) == before + larger - default, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    smaller = window.session.settings.thumbnail_size
    assert smaller < default
    qtbot.waitUntil(lambda: tile_width(window) == before + smaller - default, timeout=5_000)
    window.close()

    again = make_window()
    assert again.session.settings.thumbnail_size == smaller == again.thumb_slider.value()
    assert again.pages["duplicate"].list.thumb == smaller == again.search.grid.thumb


def test_a_tile_size_out_of_range_in_the_settings_file_is_brought_back(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    from lookalike.core.config import THUMBNAIL_SIZES, settings_path

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('{"thumbnail_size": 9999}', encoding="utf-8")
    window = make_window()
    assert window.session.settings.thumbnail_size == THUMBNAIL_SIZES.stop - 1 == window.pages["similar"].list.thumb
