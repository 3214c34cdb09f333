"""The review screen on a real window: keyboard navigation in Compare, zoom shown, dense tiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWidget

from lookalike.ui.main_window import MainWindow

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
