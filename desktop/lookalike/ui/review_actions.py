"""What a person does to the catalog from any view: remove marked photos, undo, remember verdicts
and "keep this one", list and revoke what was remembered.

Each action asks core (deletion, undo, decisions) in a worker, after the
confirmation a person needs, then tells every view that the catalog changed.
Ctrl+Z takes back this window's actions newest first, a removal batch or a
remembered decision alike; with none left, the journal's last removal (one made
in an earlier session, or by the CLI).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from lookalike.core.review import decisions
from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.deletion import BatchReport, execute, plan_removal
from lookalike.core.removal.sidecar import MetadataOffer, metadata_offers, write_offers
from lookalike.core.removal.trash import undoable  # also what Settings says of undo
from lookalike.core.removal.journal import history
from lookalike.core.review.tiers import ReviewGroup
from lookalike.core.removal.undo import UndoReport, undo_batch, undo_last
from lookalike.ui import format as fmt
from lookalike.ui.decisions_dialog import WORDS, DecisionRow, DecisionsDialog, load_decisions
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


#: Something Ctrl+Z can take back: a remembered decision, or a removal batch (its id).
Undoable = decisions.Remembered | int


def undo_title(last: Undoable | None) -> str:
    """What Edit ▸ Undo says it will take back."""
    if isinstance(last, decisions.Remembered):
        return f"&Undo {WORDS[last.kind]}"
    return "&Undo Last Removal"


def revoked_text(action: decisions.Remembered | None) -> str:
    """The status after Ctrl+Z took a decision back (None: it was already gone)."""
    if action is None:
        return "That decision was already taken back (in the Decisions view or with `lookalike decisions`)."
    photos = _plural(len(action.files), "photo")
    if action.kind == decisions.KEEP:
        return f"Undone: “Keep This One” for {photos}; the keep rules choose again."
    return f"Undone: “{WORDS[action.kind]}” for {photos}; they may group together again."


class ReviewActions(QObject):
    """Delete marked, undo, history and remembered decisions, with their dialogs."""

    #: Edit ▸ Undo's new title (see `undo_title`).
    undoChanged = Signal(str)

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
        #: This window's actions that Ctrl+Z takes back, oldest first.
        self._done: list[Undoable] = []
        self.decisions_dialog: DecisionsDialog | None = None
        session.catalogOpened.connect(self._another_catalog)

    def _another_catalog(self) -> None:
        """What this window did concerned the catalog left behind: nothing of it to undo here."""
        self._done.clear()
        self.undoChanged.emit(undo_title(None))
        self._reload_decisions()

    def _did(self, action: Undoable) -> None:
        self._done.append(action)
        self.undoChanged.emit(undo_title(action))

    def _forget(self, gone: Undoable) -> None:
        """`gone` was taken back elsewhere (History, Decisions): Ctrl+Z skips it."""
        self._done = [a for a in self._done if _key(a) != _key(gone)]
        self.undoChanged.emit(undo_title(self._done[-1] if self._done else None))

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
        if report.done:
            self._did(report.batch_id)
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
        """Take back the newest action of this window (a decision or a removal); with none, the
        journal's last removal."""
        last = self._done.pop() if self._done else None
        self.undoChanged.emit(undo_title(self._done[-1] if self._done else None))
        catalog = self.session.catalog
        if isinstance(last, decisions.Remembered):
            self.status(f"Undoing \u201c{WORDS[last.kind]}\u201d\u2026")
            self.session.run(lambda _p, _c: _revoke_if_there(catalog, last.id), self._revoked, self._failed)
            return
        self.status("Undoing the last removal\u2026")
        work = (lambda _p, _c: undo_last(catalog)) if last is None else (lambda _p, _c: undo_batch(catalog, last))
        self.session.run(work, self._undone, self._failed)

    def _revoked(self, action: decisions.Remembered | None) -> None:
        self.status(revoked_text(action))
        self.session.changed()
        self._reload_decisions()

    def undo_batch(self, batch_id: int) -> None:
        catalog = self.session.catalog
        self.session.run(lambda _p, _c: undo_batch(catalog, batch_id), self._undone, self._failed)

    def _undone(self, report: UndoReport) -> None:
        if report.batch_id is not None and report.restored:
            self._forget(report.batch_id)
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
        """'Not a duplicate' / 'Not similar': core remembers it and the group dissolves (Ctrl+Z brings it back)."""
        catalog, verdict = self.session.catalog, DECISIONS[kind]

        def work(_p, _c):  # type: ignore[no-untyped-def]
            return _stored(catalog, verdict, decisions.remember(catalog, file_ids, verdict))  # type: ignore[arg-type]

        self.session.run(work, self._remembered, self._failed)

    def _remembered(self, action: decisions.Remembered | None) -> None:
        if action is None:
            self.status("Already remembered: these photos are kept apart.")
            return
        self._did(action)
        self.status("Remembered: these photos will not be grouped together again (Ctrl+Z undoes it).")
        self.session.changed()
        self._reload_decisions()

    def keep_one(self, keeper: int, group: list[int]) -> None:
        """'Keep this one': core remembers `keeper` over the rest of its group, whatever the rules
        say; it is no longer marked for removal, so no tile is both KEEP and marked."""
        catalog = self.session.catalog
        self.session.marks.set([keeper], marked=False)
        self.session.run(
            lambda _p, _c: _stored(catalog, decisions.KEEP, decisions.remember_keeper(catalog, keeper, group)),
            self._kept, self._failed,
        )

    def _kept(self, action: decisions.Remembered | None) -> None:
        if action is not None:
            self._did(action)
        self.status("Remembered: this photo is the one kept in its group (Ctrl+Z undoes it; Edit \u25b8 Decisions lists it).")
        self.session.changed()
        self._reload_decisions()

    # --- the Decisions view -----------------------------------------------------------

    def show_decisions(self) -> None:
        """Open (or bring up) the list of remembered decisions, read in a worker."""
        if self.decisions_dialog is None:
            dialog = DecisionsDialog(self.session.thumbnails, self.window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.revokeRequested.connect(self.revoke)
            dialog.finished.connect(lambda _result: setattr(self, "decisions_dialog", None))
            self.decisions_dialog = dialog
            dialog.open()
        self.decisions_dialog.raise_()
        self._reload_decisions()

    def _reload_decisions(self) -> None:
        """Read the list again for an open Decisions view (after anything that changes it)."""
        if self.decisions_dialog is None:
            return
        catalog = self.session.catalog
        self.session.run(lambda _p, _c: load_decisions(catalog), self._show_decisions, self._failed)

    def _show_decisions(self, rows: list[DecisionRow]) -> None:
        if self.decisions_dialog is not None:
            self.decisions_dialog.set_rows(rows)

    def revoke(self, action_ids: list[str]) -> None:
        """Take back remembered decisions by id (core `revoke`); the groups form again."""
        catalog = self.session.catalog
        self.session.run(
            lambda _p, _c: [a for i in action_ids if (a := _revoke_if_there(catalog, i)) is not None],
            self._revoked_listed, self._failed,
        )

    def _revoked_listed(self, actions: list[decisions.Remembered]) -> None:
        for action in actions:
            self._forget(action)
        self.status(f"Revoked {_plural(len(actions), 'decision')}: the groups form again as the rules say.")
        self.session.changed()
        self._reload_decisions()


def _key(action: Undoable) -> str | int:
    return action.id if isinstance(action, decisions.Remembered) else action


def _stored(catalog: Catalog, kind: str, rows: int) -> decisions.Remembered | None:
    """The action just remembered (the newest of its kind), None when nothing new was stored."""
    return decisions.remembered(catalog, [kind])[0] if rows else None


def _revoke_if_there(catalog: Catalog, action_id: str) -> decisions.Remembered | None:
    """Core `revoke`, None when the decision is gone already (revoked elsewhere)."""
    try:
        return decisions.revoke(catalog, action_id)
    except ValueError:
        return None
