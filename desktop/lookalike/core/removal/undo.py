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

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from lookalike.core.removal import trash
from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.deletion import root_problem, scanned_roots
from lookalike.core.removal.filemove import is_inside, move_file
from lookalike.core.hashing import full_hash
from lookalike.core.removal.journal import (
    UNDONE,
    EntryReport,
    batch_lock,
    batch_summary,
    batch_to_undo,
    begin_restore,
    close_batch_if_undone,
    end_restore,
    recover_locked,
    removed_entries,
)


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
        batch_id = batch_to_undo(catalog)
        if batch_id is None:
            return UndoReport(None, None, (), "nothing to undo")
        return _undo(catalog, batch_id)


def undo_batch(catalog: Catalog, batch_id: int) -> UndoReport:
    """Undo one batch by id (see `journal.history`), e.g. one older than a permanent one."""
    with batch_lock(catalog):
        recover_locked(catalog)
        batch = batch_summary(catalog, batch_id)
        if batch is None:
            return UndoReport(batch_id, None, (), f"there is no batch {batch_id}")
        if batch.status == UNDONE:
            return UndoReport(batch_id, batch.mode, (), f"batch {batch_id} was already undone")
        return _undo(catalog, batch_id)


def _undo(catalog: Catalog, batch_id: int) -> UndoReport:
    batch = batch_summary(catalog, batch_id)
    assert batch is not None  # the caller found it under the lock
    mode, target = batch.mode, batch.target
    done = removed_entries(catalog, batch_id)
    if mode == "permanent" and done:
        entries = tuple(_refused(entry, "deleted permanently; it cannot be restored") for entry in done)
        message = (
            f"batch {batch_id} deleted files permanently: it cannot be undone "
            "(an older batch can still be undone by its number)"
        )
        return UndoReport(batch_id, mode, entries, message)
    roots = scanned_roots(catalog)
    reports = [_undo_entry(catalog, entry, mode, target, roots) for entry in done]
    close_batch_if_undone(catalog, batch_id)
    restored = sum(r.state == "restored" for r in reports)
    return UndoReport(batch_id, mode, tuple(reports), f"batch {batch_id}: restored {restored} of {len(reports)} files")


def _undo_entry(catalog: Catalog, entry: EntryReport, mode: str, target: str | None, roots: list[Path]) -> EntryReport:
    """Put one file back, its intent committed first; the row as it ends, with why when not restored."""
    problem = _problem(mode, entry, target, roots)
    if problem is not None:
        return _refused(entry, problem)
    assert entry.id is not None  # read from the journal
    begin_restore(catalog, entry.id)
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
    return end_restore(catalog, entry.id, failure)


def _refused(entry: EntryReport, reason: str) -> EntryReport:
    """The row as it stays (done), with why it was not restored."""
    return dataclasses.replace(entry, reason=reason)


def _problem(mode: str, entry: EntryReport, target: str | None, roots: list[Path]) -> str | None:
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


def _untrusted(mode: str, entry: EntryReport, held: Path, target: str | None, roots: list[Path]) -> str | None:
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
