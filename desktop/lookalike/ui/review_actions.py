"""What a person does to the catalog from any view: remove marked photos, undo, remember verdicts
and "keep this one".

Each action asks core (deletion, undo, decisions) in a worker, after the
confirmation a person needs, then tells every view that the catalog changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from lookalike.core import decisions
from lookalike.core.deletion import BatchReport, execute, plan_removal
from lookalike.core.sidecar import MetadataOffer, metadata_offers, write_offers
from lookalike.core.trash import undoable  # also what Settings says of undo
from lookalike.core.journal import history
from lookalike.core.review import ReviewGroup
from lookalike.core.undo import UndoReport, undo_batch, undo_last
from lookalike.ui import format as fmt
from lookalike.ui.history_dialog import HistoryDialog
from lookalike.ui.session import Session

DECISIONS = {"duplicate": "not_duplicate", "burst": "not_similar", "similar": "not_similar"}
#: What a person types to confirm a permanent deletion a second time.
PERMANENT_WORD = "DELETE"


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


def _destination(mode: str, quarantine_dir: str) -> str:
    return f"the quarantine folder {quarantine_dir}" if mode == "quarantine" else "the trash"


def confirmation_text(mode: str, count: int, size: int, quarantine_dir: str = "") -> str:
    """The question before a removal: how many photos, how much space, where they go, and whether Undo helps."""
    photos = f"{_plural(count, 'photo')} ({fmt.human_bytes(size)})"
    if mode == "permanent":
        return (
            f"Delete {photos} permanently?\n\n"
            "They do not go to the trash: they are erased from the disk and cannot be restored, not even with Undo."
        )
    if undoable(mode):
        after = "You can bring them back with Edit \u25b8 Undo (Ctrl+Z)."
    else:
        after = "Lookalike cannot bring them back on this system: restore them from the Trash yourself if needed."
    return f"Move {photos} to {_destination(mode, quarantine_dir)}?\n\n{after}"


def metadata_text(offers: Sequence[MetadataOffer]) -> str:
    """The confirmation's line about the sidecars written first ("" when none would be)."""
    if not offers:
        return ""
    names = ", ".join(offer.sidecar.name for offer in offers[:3]) + (", …" if len(offers) > 3 else "")
    return (
        f"\n\n{_plural(len(offers), 'kept photo')} lack the date taken or GPS of a removed copy: "
        f"they are saved first in {names} beside them (Settings turn this off)."
    )


def removed_text(report: BatchReport) -> str:
    """The status after a removal; it offers Ctrl+Z only when every removed photo can come back."""
    if not report.done:
        return "No photo was removed."
    photos = f"{_plural(len(report.done), 'photo')} ({fmt.human_bytes(report.bytes_freed)})"
    if report.mode == "permanent":
        return f"Deleted {photos} permanently."
    where = _destination(report.mode, report.target or "")
    if undoable(report.mode) and all(e.destination for e in report.done):
        return f"Moved {photos} to {where}. Ctrl+Z undoes it."
    return f"Moved {photos} to {where}. Restore them from the Trash if needed: Lookalike cannot undo this here."


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
        """Confirm (how many files, how much space, where they go; twice for a permanent
        deletion), then remove in a worker."""
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
        mode, target, count = settings.deletion_mode, settings.quarantine_dir, len(plan.removals)
        offers = metadata_offers(session.catalog, plan) if settings.merge_metadata else []
        answer = QMessageBox.question(
            self.window,
            "Delete photos permanently" if mode == "permanent" else "Remove photos",
            confirmation_text(mode, count, plan.bytes_freed, target) + metadata_text(offers),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel if mode == "permanent" else QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes or (mode == "permanent" and not self._confirm_permanent(count)):
            return
        catalog, permanent = session.catalog, mode == "permanent"
        self.status(f"Removing {_plural(count, 'photo')}\u2026")

        def work(_progress, cancel):  # type: ignore[no-untyped-def]
            write_offers(offers)  # what the confirmation named
            return execute(catalog, plan, mode, target or None, confirm_permanent=permanent, cancel=cancel)

        session.run(work, self._removed, self._failed)

    def _confirm_permanent(self, count: int) -> bool:
        """The second, explicit confirmation a permanent deletion needs: typing a word, not a click."""
        typed, ok = QInputDialog.getText(
            self.window,
            "Delete photos permanently",
            f"This erases {_plural(count, 'photo')} for good. Type {PERMANENT_WORD} to confirm:",
            QLineEdit.EchoMode.Normal,
        )
        if ok and typed.strip() == PERMANENT_WORD:
            return True
        self.status("Nothing was deleted.")
        return False

    def _removed(self, report: BatchReport) -> None:
        self.session.marks.set((e.file_id for e in report.done if e.file_id is not None), marked=False)
        self.status(removed_text(report))
        problems = report.skipped + report.failed
        if problems:
            details = "\n".join(f"{fmt.path_text(e.source)}: {fmt.path_text(e.reason)}" for e in problems[:20])
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
            details = "\n".join(f"{fmt.path_text(e.source)}: {fmt.path_text(e.reason)}" for e in report.not_restored[:20])
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

    def keep_one(self, keeper: int, group: list[int]) -> None:
        """'Keep this one': core remembers `keeper` over the rest of its group, whatever the rules say."""
        catalog = self.session.catalog
        self.session.run(
            lambda _p, _c: decisions.remember_keeper(catalog, keeper, group), self._kept, self._failed
        )

    def _kept(self, _stored: int) -> None:
        self.status("Remembered: this photo is the one kept in its group (Lookalike decisions can revoke it).")
        self.session.changed()
