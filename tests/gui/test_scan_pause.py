"""Pausing a scan from the app: F6 holds it, says "Paused", and F6 again lets it finish."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from lookalike.ui.main_window import MainWindow

from generated_photos import small_jpegs

pytestmark = pytest.mark.gui

PHOTOS = 300


def test_f6_pauses_and_resumes_the_scan(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small_jpegs(tmp_path / "photos", PHOTOS)
    assert not window.pause_action.isEnabled()
    window.add_folders([str(tmp_path / "photos")])
    assert window.scanning() and window.pause_action.isEnabled()
    done: list[int] = []
    window.scan_job.progress.connect(lambda p: done.append(p.files_done))
    qtbot.waitUntil(lambda: bool(done) and done[-1] >= 30, timeout=120_000)

    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert window.pause_action.text() == "&Resume Scan"
    qtbot.waitUntil(lambda: window.scan_status.text.text().startswith("Paused"), timeout=10_000)
    catalog = window.session.catalog
    held = catalog.status_counts()["ok"]
    qtbot.wait(1000)
    assert window.scanning() and catalog.status_counts()["ok"] == held < PHOTOS  # held, not cancelled
    assert window.scan_status.text.text().startswith("Paused")

    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert window.pause_action.text() == "&Pause Scan"
    qtbot.waitUntil(lambda: not window.scanning(), timeout=180_000)
    assert window.last_report is not None and not window.last_report.cancelled
    assert catalog.status_counts()["ok"] == PHOTOS
    assert not window.pause_action.isEnabled()


def test_cancel_wins_over_a_pause(qtbot, window: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small_jpegs(tmp_path / "photos", PHOTOS)
    window.add_folders([str(tmp_path / "photos")])
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.scan_status.text.text().startswith("Paused"), timeout=120_000)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: not window.scanning(), timeout=5_000)
    assert window.last_report is not None and window.last_report.cancelled
    assert window.pause_action.text() == "&Pause Scan" and not window.pause_action.isEnabled()
