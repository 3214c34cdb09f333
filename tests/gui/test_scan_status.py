"""What the window says about a scan: its progress alone in the status bar, the pause action's
icon, and after a cancel the photos really catalogued (not the files found)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from lookalike.ui.main_window import MainWindow

from generated_photos import small_jpegs

pytestmark = pytest.mark.gui

PHOTOS = 300


def icon_image(window: MainWindow) -> QImage:
    return window.pause_action.icon().pixmap(16, 16).toImage()


def test_a_cancelled_scan_reports_what_it_catalogued(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "holidays_in_the_mountains_with_a_long_folder_name"
    small_jpegs(folder / "day_one", PHOTOS)
    window.add_folders([str(folder)])
    assert window.scanning()
    overlaps: list[str] = []
    done: list[int] = []

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        done.append(p.files_done)
        if window.scan_status.isVisible() and window.statusBar().currentMessage():
            overlaps.append(window.statusBar().currentMessage())  # painted under the progress line

    window.scan_job.progress.connect(progress)
    qtbot.waitUntil(lambda: bool(done) and done[-1] >= 30, timeout=120_000)
    assert not overlaps, overlaps

    running = icon_image(window)
    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert window.pause_action.text() == "&Resume Scan" and icon_image(window) != running
    qtbot.waitUntil(lambda: window.scan_status.text.text().startswith("Paused"), timeout=10_000)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: not window.scanning(), timeout=10_000)
    assert icon_image(window) == running  # back to "Pause" for the next scan

    catalogued = window.session.catalog.status_counts()["ok"]
    assert 0 < catalogued < PHOTOS
    message = window.statusBar().currentMessage()
    assert f"{catalogued} of {PHOTOS} new or changed photos catalogued" in message
    assert f": {PHOTOS} new," not in message  # the files found are not what was catalogued
    qtbot.waitUntil(lambda: f"{catalogued} photos" in window.library.list.item(0).text(), timeout=10_000)
    row = window.library.list.item(0).text()
    assert "partly scanned" in row and "not scanned yet" not in row


def test_resume_shows_the_play_icon_only_while_held(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small_jpegs(tmp_path / "photos", 120)
    window.add_folders([str(tmp_path / "photos")])
    running = icon_image(window)
    window.pause_action.trigger()
    held = icon_image(window)
    assert held != running
    window.pause_action.trigger()
    assert icon_image(window) == running and window.pause_action.text() == "&Pause Scan"
    qtbot.waitUntil(lambda: not window.scanning(), timeout=180_000)
