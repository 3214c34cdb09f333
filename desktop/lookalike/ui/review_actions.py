"""What a person does to the catalog from any view: remove marked photos, undo, remember verdicts.

Each action asks core (deletion, undo, decisions) in a worker, after the
confirmation a person needs, then tells every view that the catalog changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from lookalike.core import decisions
from lookalike.core.deletion import BatchReport, execute, plan_removal
from lookalike.core.journal import history
from lookalike.core.review import ReviewGroup
from lookalike.core.undo import UndoReport, undo_batch, undo_last
from lookalike.ui import format as fmt
from lookalike.ui.history_dialog import HistoryDialog
from lookalike.ui.session import Session

DECISIONS = {"duplicate": "not_duplicate", "similar": "not_similar"}


def removal_selection(sources: Sequence[Sequence[ReviewGroup]], marked: frozenset[int]) -> list[tuple[list[int], list[int]]]:
    """(ids kept, ids removed) per group holding marked photos; each marked photo goes with
    the first group (in `sources` order) that holds it, and the unmarked photos of that group stay."""
    taken: set[int] = set()
    selections: list[tuple[list[int], list[int]]] = []
    for groups in sources:
        for group in groups:
            remove = [m.file.id for m in group.members if m.file.id in marked and m.file.id not in taken]
            if remove:
                selections.append(([m.file.id for m in group.members if m.file.id not in marked], remove))
                taken.update(remove)
    return selections


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class ReviewActions(QObject):
    """Delete marked, undo, history and "not a duplicate", with their dialogs."""

    def __init__(
        self,
        session: Session,
        window: QWidget,
        status: Callable[[str], None],
        sources: Callable[[], Sequence[Sequence[ReviewGroup]]],
    ) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.status = status
        self.sources = sources

    # --- removal ------------------------------------------------------------------

    def delete_marked(self) -> None:
        """Confirm (how many files, how much space, where they go), then remove in a worker."""
        session = self.session
        marked = session.marks.ids()
        selections = removal_selection(self.sources(), marked)
        if not selections:
            self.status("Nothing is marked: select a photo and press Space to mark it for removal.")
            return
        reasons = {m.file.id: m.reason for groups in self.sources() for g in groups for m in g.members}
        try:
            plan = plan_removal(session.catalog, selections, reasons)
        except ValueError as exc:
            QMessageBox.warning(
                self.window, "Cannot remove these photos",
                f"{exc}.\n\nEvery photo of a group is marked: unmark the copy you want to keep.",
            )
            return
        settings = session.settings
        quarantine = settings.deletion_mode == "quarantine"
        where = f"to the quarantine folder {settings.quarantine_dir}" if quarantine else "to the trash"
        count = len(plan.removals)
        answer = QMessageBox.question(
            self.window,
            "Remove photos",
            f"Move {_plural(count, 'photo')} ({fmt.human_bytes(plan.bytes_freed)}) {where}?\n\n"
            "You can bring them back with Edit \u25b8 Undo (Ctrl+Z).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        catalog, mode, target = session.catalog, settings.deletion_mode, settings.quarantine_dir or None
        self.status(f"Removing {_plural(count, 'photo')}\u2026")
        session.run(lambda _p, cancel: execute(catalog, plan, mode, target, cancel=cancel), self._removed, self._failed)

    def _removed(self, report: BatchReport) -> None:
        self.session.marks.set((e.file_id for e in report.done if e.file_id is not None), marked=False)
        self.status(f"Moved {_plural(len(report.done), 'photo')} ({fmt.human_bytes(report.bytes_freed)}) away. Ctrl+Z undoes it.")
        problems = report.skipped + report.failed
        if problems:
            details = "\n".join(f"{e.source}: {e.reason}" for e in problems[:20])
            QMessageBox.warning(self.window, "Some photos were not removed", f"{_plural(len(problems), 'photo')} stayed where they are:\n\n{details}")
        self.session.changed()

    def _failed(self, message: str) -> None:
        QMessageBox.warning(self.window, "Lookalike", message)
        self.session.changed()

    # --- undo and history ---------------------------------------------------------

    def undo(self) -> None:
        catalog = self.session.catalog
        self.status("Undoing the last removal\u2026")
        self.session.run(lambda _p, _c: undo_last(catalog), self._undone, self._failed)

    def undo_batch(self, batch_id: int) -> None:
        catalog = self.session.catalog
        self.session.run(lambda _p, _c: undo_batch(catalog, batch_id), self._undone, self._failed)

    def _undone(self, report: UndoReport) -> None:
        self.session.thumbnails.forget([e.source for e in report.restored])
        self.status(report.message[0].upper() + report.message[1:] + ".")
        if report.not_restored:
            details = "\n".join(f"{e.source}: {e.reason}" for e in report.not_restored[:20])
            QMessageBox.warning(self.window, "Some photos were not restored", details)
        self.session.changed()

    def show_history(self) -> None:
        catalog = self.session.catalog
        self.session.run(lambda _p, _c: history(catalog), self._show_history, self._failed)

    def _show_history(self, batches: list) -> None:
        dialog = HistoryDialog(batches, self.window)
        dialog.undoRequested.connect(self.undo_batch)
        dialog.exec()
        dialog.deleteLater()

    # --- decisions ------------------------------------------------------------------

    def remember_apart(self, file_ids: list[int], kind: str) -> None:
        """'Not a duplicate' / 'Not similar': core remembers it and the group dissolves."""
        catalog, verdict = self.session.catalog, DECISIONS[kind]
        self.session.run(lambda _p, _c: decisions.remember(catalog, file_ids, verdict), self._remembered, self._failed)  # type: ignore[arg-type]

    def _remembered(self, _added: int) -> None:
        self.status("Remembered: these photos will not be grouped together again.")
        self.session.changed()
