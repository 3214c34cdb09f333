"""The Problems panel: as tall as its few rows, and each row's actions (folder, copy, trash) work."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QContextMenuEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from lookalike.ui.main_window import MainWindow

from gui_helpers import scan, wait_idle

pytestmark = pytest.mark.gui


def broken_library(samples: Path, folder: Path) -> list[Path]:
    """Two good photos and three files no scan can use."""
    folder.mkdir()
    shutil.copy(samples / "coffee.jpg", folder)
    shutil.copy(samples / "rocket.jpg", folder)
    bad = [folder / "empty.jpg", folder / "notes.jpg", folder / "cut.jpg"]
    bad[0].write_bytes(b"")
    bad[1].write_text("not a picture", encoding="utf-8")
    bad[2].write_bytes((samples / "chelsea.jpg").read_bytes()[:300])
    return bad


def row_menu(panel, row: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Right-click a row: the texts of the menu shown (then closed)."""
    texts: list[str] = []

    def look() -> None:
        menu = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible())
        texts.extend(a.text() for a in menu.actions() if a.text())
        menu.close()

    pos = panel.visualItemRect(panel.topLevelItem(row)).center()
    QTimer.singleShot(0, look)
    QApplication.sendEvent(panel.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, panel.viewport().mapToGlobal(pos)))
    return texts


def test_problems_panel_is_compact_and_acts_on_a_row(qtbot, window: MainWindow, samples: Path, tmp_path: Path, confirm: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    bad = broken_library(samples, tmp_path / "photos")
    scan(qtbot, window, tmp_path / "photos")
    panel, dock = window.problems, window.problems_dock
    assert dock.isVisible() and panel.topLevelItemCount() == 3 and dock.windowTitle() == "Problems (3)"
    qtbot.wait(50)
    rows = [panel.visualItemRect(panel.topLevelItem(i)) for i in range(3)]
    assert all(panel.viewport().rect().contains(r) for r in rows)  # every row in view...
    slack = panel.viewport().height() - 3 * rows[0].height()
    assert slack < 2 * rows[0].height(), slack  # ...with no pane of empty space under them

    panel.setCurrentItem(panel.topLevelItem(0))
    path = panel.current_path()
    assert path in {str(p) for p in bad}
    assert row_menu(panel, 0) == ["Open Containing Folder", "Copy Path", "Move to Trash\u2026"]
    panel.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == path
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    panel.folder_action.trigger()
    assert [u.toLocalFile() for u in opened] == [str(Path(path).parent)]

    panel.trash_action.trigger()
    assert Path(path).name in confirm[-1] and "trash" in confirm[-1]
    qtbot.waitUntil(lambda: not Path(path).exists(), timeout=10_000)
    wait_idle(qtbot, window)
    assert (Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files" / Path(path).name).is_file()
    assert panel.topLevelItemCount() == 2 and dock.windowTitle() == "Problems (2)"
    assert path not in {panel.topLevelItem(i).data(0, 256) for i in range(2)}


def test_a_folder_in_the_problems_list_is_never_trashed(qtbot, window: MainWindow, tmp_path: Path, confirm: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "unreadable"
    (folder / "inside").mkdir(parents=True)
    window.problems.set_problems([(str(folder), "could not be read")])
    window.problems.setCurrentItem(window.problems.topLevelItem(0))
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *a, **k: errors.append(text))
    window.problems.trash_action.trigger()
    assert confirm  # asked first, answered Yes: core still refuses a folder
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert folder.is_dir() and (folder / "inside").is_dir()
    assert "not a file" in errors[0] and window.problems.topLevelItemCount() == 1
