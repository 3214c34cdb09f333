"""Search by image: no green "match" below the close-match cut-off, said plainly in the app and
the CLI alike; and the window shows where a dragged file will go while it hovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QImage
from PySide6.QtWidgets import QApplication

from lookalike.cli import main
from lookalike.core.explore.search import CLOSE_MATCH
from lookalike.ui.main_window import MainWindow
from lookalike.ui.tiles import KEEP_COLOR

from gui_helpers import drop_files, scan

pytestmark = pytest.mark.gui


def unrelated_picture(folder: Path) -> Path:
    """Stripes and a disc: like none of the sample photos."""
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (400, 300), (30, 90, 200))
    draw = ImageDraw.Draw(image)
    for x in range(0, 400, 40):
        draw.rectangle([x, 0, x + 20, 300], fill=(240, 220, 40))
    draw.ellipse([120, 80, 280, 220], fill=(200, 30, 30))
    image.save(folder / "stripes.png")
    return folder / "stripes.png"


def green_pixels(window: MainWindow) -> int:
    """Pixels of the results grid painted in the match green (badges and notes of close matches)."""
    image = window.search.grid.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    green = KEEP_COLOR
    return sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if abs(image.pixelColor(x, y).red() - green.red()) < 12
        and abs(image.pixelColor(x, y).green() - green.green()) < 12
        and abs(image.pixelColor(x, y).blue() - green.blue()) < 12
    )


def search_done(qtbot, window: MainWindow, query: Path) -> None:  # type: ignore[no-untyped-def]
    drop_files(window, [query])
    qtbot.waitUntil(lambda: bool(window.search.results) and window.search.results[0].query == str(query.resolve()), timeout=60_000)
    qtbot.wait(300)  # thumbnails painted


def test_no_close_match_is_said_plainly(qtbot, window: MainWindow, samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    query = unrelated_picture(tmp_path / "query")
    search_done(qtbot, window, query)
    matches = window.search.model.matches
    assert matches and all(s < CLOSE_MATCH for _, s in matches)
    assert "No close match" in window.search.title.text()
    assert green_pixels(window) == 0

    search_done(qtbot, window, samples / "chelsea.jpg")
    assert window.search.model.matches[0][1] >= CLOSE_MATCH
    assert "No close match" not in window.search.title.text()
    assert green_pixels(window) > 0  # the close ones are still green: the check above can fail

    capsys.readouterr()
    assert main(["--catalog", str(window.session.catalog.path), "search", str(query), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "No close match" in out and out.count("not close") == 3
    assert main(["--catalog", str(window.session.catalog.path), "search", str(samples / "chelsea.jpg"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "No close match" not in out and out.count("  match  ") >= 2


def test_a_dragged_file_highlights_the_window_until_it_leaves_or_drops(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(samples / "coffee.jpg"))])
    center = QPointF(window.rect().center())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:
        enter = QDragEnterEvent(center, *args)
    except TypeError:
        enter = QDragEnterEvent(center.toPoint(), *args)
    QApplication.sendEvent(window, enter)
    overlay = window.drop_overlay
    assert overlay.isVisible() and overlay.text == "Drop to find similar photos"
    assert overlay.geometry() == window.rect()
    QApplication.sendEvent(window, QDragLeaveEvent())
    assert not overlay.isVisible()

    folder = QMimeData()
    folder.setUrls([QUrl.fromLocalFile(str(samples))])
    try:
        enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, folder, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    except TypeError:
        enter = QDragEnterEvent(center.toPoint(), Qt.DropAction.CopyAction, folder, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert overlay.isVisible() and "add the folder" in overlay.text
    drop_files(window, [samples / "coffee.jpg"])  # enter then drop: gone after the drop
    assert not overlay.isVisible()
