"""What a person tells Lookalike from the app: "keep this one", "not a duplicate" taken back
with Ctrl+Z, and the Decisions view that lists and revokes what was remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from lookalike.core.review.decisions import KEEP, remembered
from lookalike.ui.decisions_dialog import DecisionsDialog
from lookalike.ui.groups_view import GroupsPage, member_tiles
from lookalike.ui.main_window import MainWindow

from gui_helpers import scan, wait_idle

pytestmark = pytest.mark.gui


def row_of(page: GroupsPage, name: str) -> int:
    """The row of the group holding the photo called `name`."""
    return next(r for r, g in enumerate(page.model.groups) if any(Path(m.file.path).name == name for m in g.members))


def keeper_name(page: GroupsPage, name: str) -> str:
    """The kept photo's name in the group of `name` ("" while no such group is shown)."""
    for group in page.model.groups:
        if any(Path(m.file.path).name == name for m in group.members):
            return ", ".join(Path(m.file.path).name for m in group.members if m.keep)
    return ""


def grouped(page: GroupsPage, names: set[str]) -> bool:
    return any(names <= {Path(m.file.path).name for m in g.members} for g in page.model.groups)


def said(window: MainWindow) -> list[str]:
    """Every status message from now on."""
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    return messages


def menu_entries(qtbot, widget, pos: QPoint) -> list[str]:  # type: ignore[no-untyped-def]
    """Right-click at `pos`: the texts of the menu shown (then closed)."""
    found: list[str] = []

    def look() -> None:
        menu = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible())
        found.extend(a.text() for a in menu.actions())
        menu.close()

    QTimer.singleShot(0, look)
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos)))
    widget.window().activateWindow()  # offscreen, a closed menu stays the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is widget.window())
    return found


def test_keep_this_one_moves_the_keep_badge_and_is_remembered(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    row = row_of(page, "rocket_rotated.jpg")
    group = page.model.groups[row]
    assert keeper_name(page, "rocket_rotated.jpg") == "rocket.jpg"  # the rules keep the original
    chosen = next(i for i, m in enumerate(group.members) if Path(m.file.path).name == "rocket_rotated.jpg")
    chosen_id = group.members[chosen].file.id

    page.list.setFocus()
    page.list.select(row, chosen)
    qtbot.keyClick(page.list, Qt.Key.Key_Space)  # marked first: keeping it must unmark it
    assert chosen_id in window.session.marks
    index = page.model.index(row, 0)
    tile = page.list.itemDelegate().member_rects(page.list.visualRect(index), index)[chosen].center()
    assert "Keep This One" in menu_entries(qtbot, page.list.viewport(), tile)
    page.list.select(row, chosen)

    messages = said(window)
    qtbot.keyClick(page.list, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: keeper_name(page, "rocket.jpg") == "rocket_rotated.jpg", timeout=15_000)
    wait_idle(qtbot, window)
    assert any("kept in its group" in m for m in messages), messages
    assert chosen_id not in window.session.marks
    # The list stays on the photo chosen, and only its tile says KEEP.
    assert page.list.member().file.id == chosen_id
    group = page.model.groups[row_of(page, "rocket.jpg")]
    badges = {Path(t.path).name: t.badge for t in member_tiles(group, window.session.marks)}
    assert badges == {name: "KEEP" if name == "rocket_rotated.jpg" else "" for name in badges}
    (choice,) = remembered(window.session.catalog)
    assert choice.kind == KEEP and choice.files[0] == chosen_id

    # In Compare: the Keep This One button moves the keeper again, and a marked keeper shows no KEEP.
    window.open_compare("duplicate", row_of(page, "rocket.jpg"))
    compare = window.compare
    original = next(i for i, m in enumerate(compare.group().members) if Path(m.file.path).name == "rocket.jpg")
    for _ in range(original):
        qtbot.keyClick(compare, Qt.Key.Key_Right)
    compare.keep_button.trigger()
    qtbot.waitUntil(lambda: keeper_name(page, "rocket.jpg") == "rocket.jpg", timeout=15_000)
    wait_idle(qtbot, window)
    assert window.tabs.currentWidget() is compare and compare.member().file.id == compare.group().members[original].file.id
    assert "KEEP" in compare.panels[original].caption.text()
    qtbot.keyClick(compare, Qt.Key.Key_Space)
    caption = compare.panels[original].caption.text()
    assert "MARKED" in caption and "KEEP" not in caption
    marked_tiles = [t for t in member_tiles(compare.group(), window.session.marks) if t.marked]
    assert marked_tiles and all(t.badge == "" for t in marked_tiles)
    assert [r.files[0] for r in remembered(window.session.catalog)] == [compare.group().members[original].file.id]


def test_ctrl_z_takes_back_not_a_duplicate_then_the_removal_before_it(qtbot, window: MainWindow, samples: Path, confirm: list[str]) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    victim = samples / "copies" / "coffee_cropped.jpg"
    row = row_of(page, victim.name)
    page.list.setFocus()
    page.list.select(row, next(i for i, m in enumerate(page.model.groups[row].members) if m.file.path == str(victim)))
    qtbot.keyClick(page.list, Qt.Key.Key_Space)
    window.remove_marked()
    qtbot.waitUntil(lambda: not victim.exists(), timeout=20_000)
    wait_idle(qtbot, window)

    pair = {"chelsea.jpg", "chelsea_small.jpg"}
    page.list.setFocus()
    page.list.select(row_of(page, "chelsea.jpg"))
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not grouped(page, pair), timeout=15_000)
    wait_idle(qtbot, window)
    assert [a.kind for a in remembered(window.session.catalog)] == ["not_duplicate"]
    assert window.undo_action.text() == "&Undo Not a Duplicate"

    messages = said(window)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: grouped(page, pair), timeout=15_000)
    wait_idle(qtbot, window)
    assert remembered(window.session.catalog) == []
    assert any(m.startswith("Undone: \u201cNot a Duplicate\u201d for 2 photos") for m in messages), messages
    assert not victim.exists()  # the decision came back first, the removal is still there
    assert window.undo_action.text() == "&Undo Last Removal"

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(victim.exists, timeout=20_000)
    wait_idle(qtbot, window)
    assert grouped(page, {"coffee.jpg", victim.name}) and grouped(page, pair)


def test_decisions_view_lists_and_revokes(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    page = window.pages["duplicate"]
    page.list.select(row_of(page, "chelsea.jpg"))
    window.not_duplicate()
    qtbot.waitUntil(lambda: not grouped(page, {"chelsea.jpg", "chelsea_small.jpg"}), timeout=15_000)
    wait_idle(qtbot, window)
    row = row_of(page, "coffee_cropped.jpg")
    page.list.select(row, next(i for i, m in enumerate(page.model.groups[row].members) if m.file.path.endswith("coffee_cropped.jpg")))
    window.keep_action.trigger()
    qtbot.waitUntil(lambda: keeper_name(page, "coffee.jpg") == "coffee_cropped.jpg", timeout=15_000)
    wait_idle(qtbot, window)

    window.decisions_action.trigger()
    dialog = window.review.decisions_dialog
    assert isinstance(dialog, DecisionsDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 2, timeout=10_000)
    rows = [[dialog.tree.topLevelItem(i).text(c) for c in range(3)] for i in range(2)]
    assert rows[0][:2] == ["coffee_cropped.jpg kept over coffee.jpg", "Keep This One"]  # newest first
    assert rows[1][1] == "Not a Duplicate" and set(rows[1][0].split(", ")) == {"chelsea.jpg", "chelsea_small.jpg"}
    assert all(r[2][:4].isdigit() for r in rows)  # the date
    assert not dialog.tree.topLevelItem(0).icon(0).isNull()

    messages = said(window)
    dialog.tree.topLevelItem(1).setSelected(True)
    qtbot.mouseClick(dialog.revoke_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: grouped(page, {"chelsea.jpg", "chelsea_small.jpg"}), timeout=15_000)
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=10_000)
    wait_idle(qtbot, window)
    assert [a.kind for a in remembered(window.session.catalog)] == [KEEP]
    assert any("Revoked 1 decision" in m for m in messages), messages
    assert keeper_name(page, "coffee.jpg") == "coffee_cropped.jpg"
    # Ctrl+Z now takes back the keep choice (the revoked verdict is no longer its to undo).
    assert window.undo_action.text() == "&Undo Keep This One"
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: keeper_name(page, "coffee.jpg") == "coffee.jpg", timeout=15_000)
    assert remembered(window.session.catalog) == []
