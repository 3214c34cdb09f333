"""The Similar tab holds other shots, not copies: bulk marking and removing them asks first, in
plain words, and no "could free" is promised for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from lookalike.ui.main_window import MainWindow

from gui_helpers import scan, wait_idle

pytestmark = pytest.mark.gui


def library(samples: Path, folder: Path) -> Path:
    """Two overlapping shots of one scene (left and right of a photo) and a copy pair."""
    folder.mkdir()
    with Image.open(samples / "astronaut.jpg") as image:
        width, height = image.size
        image.crop((0, 0, width * 62 // 100, height)).save(folder / "shot_left.jpg", quality=92)
        image.crop((width * 38 // 100, 0, width, height)).save(folder / "shot_right.jpg", quality=92)
    for name in ("chelsea.jpg", "copies/chelsea_small.jpg"):
        (folder / Path(name).name).write_bytes((samples / name).read_bytes())
    return folder


class Answers:
    """QMessageBox.question answered from a script; every question asked is kept."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[str] = []
        self.answer = QMessageBox.StandardButton.Cancel
        monkeypatch.setattr(QMessageBox, "question", self._question)

    def _question(self, _parent, _title, text, *_args, **_kwargs):  # type: ignore[no-untyped-def]
        self.asked.append(text)
        return self.answer


def test_similar_shots_are_never_marked_or_removed_without_an_explicit_yes(qtbot, window: MainWindow, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    folder = library(samples, tmp_path / "photos")
    scan(qtbot, window, folder)
    similar, duplicates = window.pages["similar"], window.pages["duplicate"]
    shots = next(g for g in similar.model.groups if {Path(m.file.path).name for m in g.members} == {"shot_left.jpg", "shot_right.jpg"})
    assert not any(Path(m.file.path).name.startswith("shot") for g in duplicates.model.groups for m in g.members)
    assert "could free" not in similar.count_label.text() and "not copies" in similar.count_label.text()
    assert "could free" in duplicates.count_label.text()

    answers = Answers(monkeypatch)
    window.tabs.setCurrentWidget(similar)
    similar.mark_button.click()
    assert len(answers.asked) == 1 and "different shots" in answers.asked[0] and "not copies" in answers.asked[0]
    assert len(window.session.marks) == 0  # Cancel, the default, marks nothing

    answers.answer = QMessageBox.StandardButton.Yes
    similar.mark_button.click()
    extra = next(m for m in shots.members if not m.keep)
    assert extra.file.id in window.session.marks

    answers.answer = QMessageBox.StandardButton.Cancel
    window.delete_action.trigger()
    assert len(answers.asked) == 3 and answers.asked[-1].startswith("Remove 1 photo") and "different shots" in answers.asked[-1]
    assert Path(extra.file.path).is_file()  # nothing removed, and no second question after Cancel

    window.session.marks.clear()
    window.tabs.setCurrentWidget(duplicates)
    duplicates.mark_button.click()  # copies: no question
    assert len(answers.asked) == 3 and len(window.session.marks) == 1
    window.delete_action.trigger()  # the usual confirmation only
    assert len(answers.asked) == 4 and "different shots" not in answers.asked[-1] and "to the trash" in answers.asked[-1]
    wait_idle(qtbot, window)
