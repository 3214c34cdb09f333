"""What the window looks like: the compare table's highlights, cached thumbnails, the dark palette."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QTableWidgetItem

from lookalike.ui.main_window import MainWindow

from gui_helpers import scan

pytestmark = pytest.mark.gui

#: Rows that describe the photo's place in the group, not the file: they differ by nature.
RELATION_ROWS = {"Similarity", "Keep rule"}


def highlighted(item: QTableWidgetItem) -> bool:
    return item.background().style() != Qt.BrushStyle.NoBrush


def test_compare_table_highlights_every_fact_that_differs_from_the_keeper(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    row = next(r for r, g in enumerate(page.model.groups) if any(Path(m.file.path).name == "chelsea_small.jpg" for m in g.members))
    window.open_compare("duplicate", row)
    table, group = window.compare.table, window.compare.group()
    keeper = next(i for i, m in enumerate(group.members) if m.keep)
    copy = next(i for i, m in enumerate(group.members) if not m.keep)
    labels = [table.verticalHeaderItem(r).text() for r in range(table.rowCount())]

    for r, label in enumerate(labels):
        assert not highlighted(table.item(r, keeper)), label
        if label not in RELATION_ROWS:
            differs = table.item(r, copy).text() != table.item(r, keeper).text()
            assert highlighted(table.item(r, copy)) == differs, label
    for label in ("Name", "Folder", "Dimensions", "File size"):  # chelsea.jpg against copies/chelsea_small.jpg
        assert highlighted(table.item(labels.index(label), copy)), label


def test_a_thumbnail_comes_from_the_disk_cache_the_second_time(qtbot, make_window, samples: Path) -> None:  # type: ignore[no-untyped-def]
    photo = str(samples / "coffee.jpg")

    def thumbnail_size(window: MainWindow) -> tuple[int, int]:
        thumbnails = window.session.thumbnails
        assert thumbnails.get(photo) is None  # not in memory yet: queued for loading
        qtbot.waitUntil(lambda: thumbnails.get(photo) is not None, timeout=10_000)
        pixmap = thumbnails.get(photo)
        return pixmap.width(), pixmap.height()

    first = make_window()
    decoded = thumbnail_size(first)
    cached = [p for p in first.session.thumbnails.directory.rglob("*") if p.is_file()]
    assert len(cached) == 1 and cached[0].suffix == ".jpg"
    first.close()

    Image.new("RGB", (7, 5), "red").save(cached[0], "JPEG")  # only a read of the cache file gives 7x5
    assert thumbnail_size(make_window()) == (7, 5)

    stat = os.stat(photo)
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # the photo changed: the cached one is stale
    assert thumbnail_size(make_window()) == decoded


def test_the_palette_follows_a_dark_system_scheme(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    hints = QApplication.styleHints()

    def window_colour() -> int:
        return window.palette().color(QPalette.ColorRole.Window).lightness()

    try:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # as the desktop does when switching to dark
        qtbot.waitUntil(lambda: window_colour() < 80)
        assert window.palette().color(QPalette.ColorRole.WindowText).lightness() > 180
    finally:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    qtbot.waitUntil(lambda: window_colour() > 180)
