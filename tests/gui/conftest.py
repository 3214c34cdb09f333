"""Fixtures for driving the real main window offscreen (pytest-qt)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from lookalike.ui.app import create_app
from lookalike.ui.main_window import MainWindow


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[Callable[[], MainWindow]]:  # type: ignore[no-untyped-def]
    """Opens the real main window on a fresh catalog in tmp_path (1280x800 the first time, shown)."""
    create_app([])
    # QSettings caches its folder: give each test its own (geometry, folders, catalog choice).
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow(tmp_path / "catalog.sqlite")
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def window(make_window: Callable[[], MainWindow]) -> MainWindow:
    return make_window()


@pytest.fixture
def confirm(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answer Yes to every confirmation; the texts asked are collected for assertions."""
    asked: list[str] = []

    def question(_parent, _title, text, *_args, **_kwargs):  # type: ignore[no-untyped-def]
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: pytest.fail(f"unexpected warning: {a[2:]}"))
    return asked


@pytest.fixture(autouse=True)
def _trash_follows_this_home() -> None:
    """send2trash reads XDG_DATA_HOME once, at import: point it at this test's private home."""
    module = sys.modules.get("send2trash.plat_other")
    if module is not None:
        importlib.reload(module)
