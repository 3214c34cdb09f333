"""Undoing a deletion batch: files come back to their original paths, proven by hash.

Quarantined files move back; trashed ones come back from the freedesktop trash
(Linux/BSD; elsewhere the user restores them from the Trash); permanent deletions
cannot be undone and the report says so. A file is never restored over one that
now exists at its original path: that row stays "done" and the report says why,
so undoing again after moving the newcomer away finishes the job.

Undo writes ahead like deletion: a row turns "restoring" (committed) before its
file moves back and "restored" after, so a crash in between is settled by
`journal.recover` from where the file's bytes really are.

The journal is not trusted blindly: a row is acted on only when its held copy
lies in the batch's quarantine folder (or the trash), its original path passes
deletion's own check of the scanned folders, and it has a content hash to prove
the bytes by. A damaged or tampered row is reported, never followed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from lookalike.core import trash
from lookalike.core.catalog import Catalog
from lookalike.core.deletion import root_problem, scanned_roots
from lookalike.core.filemove import is_inside, move_file
from lookalike.core.hashing import full_hash
from lookalike.core.journal import (
    DONE,
    INTERRUPTED,
    RESTORING,
    UNDONE,
    EntryReport,
    batch_lock,
    close_if_undone,
    finish_entry,
    recover_locked,
    settle_restoring,
)
from lookalike.core.schema import Batch, JournalEntry


@dataclass(frozen=True, slots=True)
class UndoReport:
    """Each file the batch had removed: "restored", or still "done" with the reason."""

    batch_id: int | None
    mode: str | None
    entries: tuple[EntryReport, ...]
    message: str

    @property
    def restored(self) -> list[EntryReport]:
        return [e for e in self.entries if e.state == "restored"]

    @property
    def not_restored(self) -> list[EntryReport]:
        return [e for e in self.entries if e.state != "restored"]


def undo_last(catalog: Catalog) -> UndoReport:
    """Undo the most recent batch that is not undone yet."""
    with batch_lock(catalog):
        recover_locked(catalog)
        with catalog.session() as session:
            batch_id = session.scalar(
                select(Batch.id).where(Batch.status.in_((DONE, INTERRUPTED))).order_by(Batch.id.desc()).limit(1)
            )
        if batch_id is None:
            return UndoReport(None, None, (), "nothing to undo")
        return _undo(catalog, batch_id)


def undo_batch(catalog: Catalog, batch_id: int) -> UndoReport:
    """Undo one batch by id (see `journal.history`), e.g. one older than a permanent one."""
    with batch_lock(catalog):
        recover_locked(catalog)
        with catalog.session() as session:
            batch = session.get(Batch, batch_id)
        if batch is None:
            return UndoReport(batch_id, None, (), f"there is no batch {batch_id}")
        if batch.status == UNDONE:
            return UndoReport(batch_id, batch.mode, (), f"batch {batch_id} was already undone")
        return _undo(catalog, batch_id)


def _undo(catalog: Catalog, batch_id: int) -> UndoReport:
    with catalog.session() as session:
        batch = session.get(Batch, batch_id)
        mode, target = batch.mode, batch.target
        done_ids = list(
            session.scalars(
                select(JournalEntry.id)
                .where(JournalEntry.batch_id == batch_id, JournalEntry.state == "done")
                .order_by(JournalEntry.id.desc())
            )
        )
    if mode == "permanent" and done_ids:
        with catalog.session() as session:
            entries = tuple(
                _refused(session.get(JournalEntry, i), "deleted permanently; it cannot be restored") for i in done_ids
            )
        message = (
            f"batch {batch_id} deleted files permanently: it cannot be undone "
            "(an older batch can still be undone by its number)"
        )
        return UndoReport(batch_id, mode, entries, message)
    roots = scanned_roots(catalog)
    reports = [_undo_entry(catalog, entry_id, mode, target, roots) for entry_id in done_ids]
    with catalog.session() as session:
        close_if_undone(session, batch_id)
    restored = sum(r.state == "restored" for r in reports)
    return UndoReport(batch_id, mode, tuple(reports), f"batch {batch_id}: restored {restored} of {len(reports)} files")


def _undo_entry(catalog: Catalog, entry_id: int, mode: str, target: str | None, roots: list[Path]) -> EntryReport:
    """Put one file back, its intent committed first; the row as it ends, with why when not restored."""
    with catalog.session() as session:
        entry = session.get(JournalEntry, entry_id)
        problem = _problem(mode, entry, target, roots)
        if problem is not None:
            return _refused(entry, problem)
        entry.state, entry.updated_at = RESTORING, time.time()
    held, source = Path(entry.destination or ""), Path(entry.source)
    try:
        if mode == "trash":
            trash.restore(held, source, entry.content_hash)
        else:
            move_file(held, source, entry.content_hash)
            _prune_empty(held.parent, Path(target or held.parent))
        failure = None
    except OSError as exc:
        failure = f"could not restore: {exc.strerror or exc}"
    with catalog.session() as session:
        entry = session.get(JournalEntry, entry_id)
        if failure is None:
            finish_entry(session, entry, "restored")
        else:
            settle_restoring(session, entry, failure)
        return EntryReport.of(entry)


def _refused(entry: JournalEntry, reason: str) -> EntryReport:
    """The row as it stays (done), with why it was not restored."""
    return EntryReport(entry.file_id, entry.source, entry.destination, entry.size, entry.state, reason)


def _problem(mode: str, entry: JournalEntry, target: str | None, roots: list[Path]) -> str | None:
    """Why this file must not be put back now, or None; touches nothing."""
    if mode == "trash" and not entry.destination:
        return trash.CANNOT_RESTORE_REASON if not trash.CAN_RESTORE else "not found in the trash"
    held = Path(entry.destination or "")
    untrusted = _untrusted(mode, entry, held, target, roots)
    if untrusted:
        return untrusted
    if os.path.lexists(entry.source):
        return "a file already exists at the original path; move it away and undo again"
    if not os.path.lexists(held):
        return f"no longer at {held} (was the trash emptied or the quarantine folder cleaned?)"
    try:
        if full_hash(held) != entry.content_hash:
            return f"the copy at {held} was changed; it was left there"
    except OSError as exc:
        return f"could not read {held}: {exc.strerror or exc}"
    return None


def _untrusted(mode: str, entry: JournalEntry, held: Path, target: str | None, roots: list[Path]) -> str | None:
    """Why the journal row must not be followed, or None.

    Undo moves the file a row names to the path it names: a tampered row could
    otherwise pull any file into the photo folders, or write one anywhere.
    """
    if not entry.content_hash:
        return "the journal has no content hash for it, so the restored bytes could not be proven; not restored"
    if mode == "quarantine" and not (target and is_inside(held, target)):
        return f"the journal places it at {held}, outside the batch's quarantine folder; not restored"
    if mode == "trash" and not trash.holds(held, Path(entry.source)):
        return f"the journal places it at {held}, outside the system trash; not restored"
    problem = root_problem(Path(entry.source), roots)
    return f"its original path is refused ({problem}); not restored" if problem else None


def _prune_empty(folder: Path, top: Path) -> None:
    """Remove the folders an undo emptied below the quarantine folder `top` (kept itself)."""
    while folder != top and folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty
        folder = folder.parent
