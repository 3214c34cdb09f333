"""Helpers for GUI tests: waiting for the window, measuring UI stalls, simulating drops."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from lookalike.ui.main_window import MainWindow

#: A scan of the devset on two busy cores takes about a minute; allow for slow machines.
SCAN_TIMEOUT_MS = 180_000


class StallMeter:
    """The longest gap between ticks of a 10 ms timer: how long the UI thread was ever blocked."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.monotonic()
        self._timer.start()

    def stop(self) -> float:
        self._timer.stop()
        return self.longest

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now


def wait_idle(qtbot, window: MainWindow, timeout: int = 30_000) -> None:  # type: ignore[no-untyped-def]
    """Until no scan, regroup or other job runs (results are then on screen)."""
    qtbot.waitUntil(lambda: not window.scanning() and not window.session.runner.busy()
                    and not any(p.busy() for p in window.pages.values()), timeout=timeout)


def scan(qtbot, window: MainWindow, folder: Path, timeout: int = SCAN_TIMEOUT_MS) -> float:  # type: ignore[no-untyped-def]
    """Add `folder` as the user would and wait for the scan and the regrouping; returns the longest UI stall.

    Also checks the progress shown while it ran: files done of total, on a determinate bar.
    """
    meter = StallMeter()
    meter.start()
    window.add_folders([str(folder)])
    assert window.scanning()
    seen: list[str] = []
    window.scan_job.progress.connect(lambda p: seen.append(window.scan_status.text.text()) if p.files_total else None)
    qtbot.waitUntil(lambda: not window.scanning(), timeout=timeout)
    stall = meter.stop()
    wait_idle(qtbot, window)
    assert any(" of " in text for text in seen), seen
    assert window.scan_status.isHidden()
    return stall


def drop_files(window: MainWindow, paths: list[Path]) -> None:
    """A drag from the file manager: enter, then drop, with file URLs."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    drop_mime(window, mime)


def drop_mime(window: MainWindow, mime: QMimeData) -> None:
    """A drag of `mime` (from anywhere, the window's own tiles included): enter, then drop."""
    center = QPointF(window.rect().center())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:
        enter = QDragEnterEvent(center, *args)  # PySide6 6.12 takes a QPointF here
    except TypeError:
        enter = QDragEnterEvent(center.toPoint(), *args)  # earlier versions a QPoint
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(center, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert drop.isAccepted()
