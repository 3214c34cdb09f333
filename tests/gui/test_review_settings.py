"""Settings that change the review: keep-rule order, preferred folders, and what Delete does."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QPushButton, QWidget

from lookalike.core.config import load_settings
from lookalike.core.review.keeprules import human_bytes
from lookalike.ui.main_window import MainWindow
from lookalike.ui.settings_dialog import SettingsDialog

from exif_photos import gps_photo
from gui_helpers import scan, wait_idle

pytestmark = pytest.mark.gui


def edit_settings(qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, edit: Callable[[SettingsDialog], None]) -> None:  # type: ignore[no-untyped-def]
    """File > Settings, `edit` acts on the dialog, then OK; waits until the groups are redone."""

    def run(dialog: SettingsDialog) -> int:
        edit(dialog)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(SettingsDialog, "exec", run)
    window.settings_action.trigger()
    wait_idle(qtbot, window)


def button(box: QWidget, text: str) -> QPushButton:
    return next(b for b in box.findChildren(QPushButton) if b.text() == text)


def rule_names(dialog: SettingsDialog) -> list[str]:
    return [dialog.rules.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.rules.count())]


def move_rule_to_top(qtbot, dialog: SettingsDialog, rule: str) -> None:  # type: ignore[no-untyped-def]
    dialog.rules.setCurrentRow(rule_names(dialog).index(rule))
    while dialog.rules.currentRow() > 0:
        qtbot.mouseClick(button(dialog.rules.parentWidget(), "Move Up"), Qt.MouseButton.LeftButton)
    assert rule_names(dialog)[0] == rule


def keeper_beside(window: MainWindow, name: str) -> str:
    """The name of the proposed keeper in the Duplicates group that holds the photo `name`."""
    group = next(g for g in window.pages["duplicate"].model.groups if any(Path(m.file.path).name == name for m in g.members))
    return Path(next(m for m in group.members if m.keep).file.path).name


def mark_a_copy(qtbot, window: MainWindow) -> Path:  # type: ignore[no-untyped-def]
    """Select a copy the keep rules would remove and press Space; returns its path."""
    page = window.pages["duplicate"]
    row, group = 0, page.model.groups[0]
    column = max(i for i, m in enumerate(group.members) if not m.keep)
    page.list.select(row, column)
    qtbot.keyClick(page.list, Qt.Key.Key_Space)
    return Path(group.members[column].file.path)


def test_keep_rule_order_and_preferred_folders_decide_the_keeper(qtbot, window: MainWindow, samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    assert keeper_beside(window, "chelsea_small.jpg") == "chelsea.jpg"  # the larger picture

    copies = samples / "copies"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(copies))

    def prefer_copies(dialog: SettingsDialog) -> None:
        qtbot.mouseClick(button(dialog.preferred.parentWidget(), "Add Folder\u2026"), Qt.MouseButton.LeftButton)
        move_rule_to_top(qtbot, dialog, "preferred_folder")

    edit_settings(qtbot, window, monkeypatch, prefer_copies)
    assert load_settings().preferred_folders == [os.path.realpath(copies)]
    assert keeper_beside(window, "chelsea_small.jpg") == "chelsea_small.jpg"

    edit_settings(qtbot, window, monkeypatch, lambda dialog: move_rule_to_top(qtbot, dialog, "resolution"))
    saved = load_settings()
    assert saved.keep_rules[:2] == ["resolution", "preferred_folder"] == window.session.settings.keep_rules[:2]
    assert keeper_beside(window, "chelsea_small.jpg") == "chelsea.jpg"

    reopened = SettingsDialog(window.session, window.session.catalog.location, window)
    qtbot.addWidget(reopened)
    assert rule_names(reopened)[: len(saved.keep_rules)] == saved.keep_rules
    assert reopened.preferred.item(0).text() == os.path.realpath(copies)


def test_quarantine_confirmation_names_the_folder_and_undo(qtbot, window: MainWindow, samples: Path, tmp_path: Path, confirm: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    quarantine = tmp_path / "quarantine"

    def choose_quarantine(dialog: SettingsDialog) -> None:
        dialog.quarantine.setChecked(True)
        dialog.quarantine_dir.setText(str(quarantine))

    edit_settings(qtbot, window, monkeypatch, choose_quarantine)
    path = mark_a_copy(qtbot, window)
    size = human_bytes(path.stat().st_size)
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    window.delete_action.trigger()
    assert f"Move 1 photo ({size}) to the quarantine folder {quarantine}?" in confirm[-1]
    assert "trash" not in confirm[-1] and "Ctrl+Z" in confirm[-1]
    qtbot.waitUntil(lambda: not path.exists(), timeout=20_000)
    wait_idle(qtbot, window)
    assert [p.name for p in quarantine.rglob("*") if p.is_file()] == [path.name]
    assert any("to the quarantine folder" in m and "Ctrl+Z undoes it" in m for m in said), said


def test_permanent_deletion_says_so_and_needs_the_word_typed(qtbot, window: MainWindow, samples: Path, confirm: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    edit_settings(qtbot, window, monkeypatch, lambda dialog: dialog.permanent.setChecked(True))
    assert load_settings().deletion_mode == "permanent"
    path = mark_a_copy(qtbot, window)
    size = human_bytes(path.stat().st_size)
    prompts: list[str] = []
    typed = ["delete it"]
    monkeypatch.setattr(QInputDialog, "getText", lambda _parent, _title, label, *_a, **_k: (prompts.append(label), (typed[0], True))[1])
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)

    window.delete_action.trigger()  # the first answer is Yes, but the word typed is wrong
    assert f"Delete 1 photo ({size}) permanently?" in confirm[-1] and "cannot be restored" in confirm[-1]
    assert "DELETE" in prompts[-1]
    assert "Nothing was deleted." in said and path.exists()

    typed[0] = "DELETE"
    window.delete_action.trigger()
    assert len(confirm) == len(prompts) == 2
    qtbot.waitUntil(lambda: not path.exists(), timeout=20_000)
    wait_idle(qtbot, window)
    assert not list((Path(os.environ["XDG_DATA_HOME"]) / "Trash").rglob(path.name))
    assert f"Deleted 1 photo ({size}) permanently." in said
    assert not any("Ctrl+Z" in m for m in said if m.startswith("Deleted")), said


def test_removal_first_saves_the_date_and_gps_the_keeper_lacks(qtbot, window: MainWindow, samples: Path, tmp_path: Path, confirm: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    photos, exports = tmp_path / "Photos", tmp_path / "Photos" / "Exports"
    exports.mkdir(parents=True)
    gps_photo(photos / "IMG_0001.jpg", "2015:06:01 10:00:00", gps=True, picture=samples / "coffee.jpg")
    gps_photo(exports / "coffee.jpg", None, gps=False, picture=samples / "coffee.jpg")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(exports))

    def prefer_exports(dialog: SettingsDialog) -> None:
        assert dialog.merge_metadata.isChecked()  # on by default, and said in every confirmation
        qtbot.mouseClick(button(dialog.preferred.parentWidget(), "Add Folder\u2026"), Qt.MouseButton.LeftButton)

    edit_settings(qtbot, window, monkeypatch, prefer_exports)
    scan(qtbot, window, photos)
    assert keeper_beside(window, "IMG_0001.jpg") == "coffee.jpg"
    mark_a_copy(qtbot, window)
    window.delete_action.trigger()
    assert "coffee.jpg.xmp" in confirm[-1] and "date taken or GPS" in confirm[-1]
    qtbot.waitUntil(lambda: not (photos / "IMG_0001.jpg").exists(), timeout=20_000)
    wait_idle(qtbot, window)
    sidecar = (exports / "coffee.jpg.xmp").read_text()
    assert "2015-06-01T10:00:00" in sidecar and "exif:GPSLatitude" in sidecar


def test_metadata_merge_can_be_turned_off(qtbot, window: MainWindow, samples: Path, tmp_path: Path, confirm: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    gps_photo(tmp_path / "IMG_0001.jpg", "2015:06:01 10:00:00", gps=True, picture=samples / "coffee.jpg")
    gps_photo(tmp_path / "coffee.jpg", None, gps=False, picture=samples / "coffee.jpg")
    edit_settings(qtbot, window, monkeypatch, lambda dialog: dialog.merge_metadata.setChecked(False))
    assert load_settings().merge_metadata is False
    scan(qtbot, window, tmp_path)
    removed = mark_a_copy(qtbot, window)
    window.delete_action.trigger()
    assert "xmp" not in confirm[-1]
    qtbot.waitUntil(lambda: not removed.exists(), timeout=20_000)
    wait_idle(qtbot, window)
    assert not list(tmp_path.glob("*.xmp"))
