"""The deletion journal: batches, one row per file written before the file is touched.

A row is committed as "planned" (with where the file will go) before anything
happens on disk, and turns "done", "skipped" or "failed" after. So when a batch
is killed half-way, `recover` can compare each planned row with the disk and
write down what really happened; nothing is left unexplained.

One process at a time may run a batch, an undo or a recovery on a catalog: they
take an advisory lock on a file beside the catalog (core/locking.py), and the
catalog's scan lock too, so none of them overlaps a scan of the same catalog.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lookalike.core import locking, trash
from lookalike.core.catalog import Catalog, CatalogBusy
from lookalike.core.filemove import part_path
from lookalike.core.hashing import full_hash
from lookalike.core.schema import Batch, File, JournalEntry

#: Batch status while its files are being processed; a batch found open under the
#: lock was killed mid-way.
OPEN, DONE, INTERRUPTED, UNDONE = "open", "done", "interrupted", "undone"
INTERRUPTED_REASON = "interrupted before the file was touched"
DELETION_RUNNING = "another deletion or undo is running on this catalog"
SCAN_RUNNING = "a scan is running on this catalog; try again when it finishes"


class DeletionError(Exception):
    """A batch or undo that cannot start (bad mode, no confirmation, catalog busy)."""


@dataclass(frozen=True, slots=True)
class EntryReport:
    """What happened to one file of a batch."""

    file_id: int | None
    source: str
    destination: str | None
    size: int
    state: str  # planned | done | skipped | failed | restored
    reason: str | None

    @classmethod
    def of(cls, row: JournalEntry) -> EntryReport:
        return cls(row.file_id, row.source, row.destination, row.size, row.state, row.reason)


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """One line of the history."""

    id: int
    created_at: float
    mode: str
    target: str | None
    status: str
    counts: dict[str, int]  # journal state -> number of files
    bytes_removed: int  # size of the files still removed (done)


@contextmanager
def batch_lock(catalog: Catalog) -> Iterator[None]:
    """Hold the catalog's deletion lock and its scan lock, or raise DeletionError at once.

    A scan running meanwhile would diff folders whose photos are being moved
    and re-mark rows the journal is settling, so the two never overlap.
    """
    deletion_lock = catalog.path.with_name(catalog.path.name + ".deletion-lock")
    with ExitStack() as held:
        _hold(held, locking.exclusive(deletion_lock), DELETION_RUNNING)
        _hold(held, catalog.scan_lock(), SCAN_RUNNING)
        yield


def _hold(held: ExitStack, lock: AbstractContextManager[None], busy: str) -> None:
    """Enter `lock` into `held`; another holder becomes DeletionError(`busy`).

    Only taking the lock is translated: the errors of the locked block pass as they are.
    """
    try:
        held.enter_context(lock)
    except (locking.LockHeld, CatalogBusy) as exc:
        raise DeletionError(busy) from exc


def open_batch(catalog: Catalog, mode: str, target: str | None) -> int:
    with catalog.session() as session:
        batch = Batch(created_at=time.time(), mode=mode, target=target, status=OPEN)
        session.add(batch)
        session.flush()
        return batch.id


def set_batch_status(catalog: Catalog, batch_id: int, status: str) -> None:
    with catalog.session() as session:
        batch = session.get(Batch, batch_id)
        batch.status = status
        if status == UNDONE:
            batch.undone_at = time.time()


def finish_entry(
    session: Session, entry: JournalEntry, state: str, reason: str | None = None, destination: str | None = None
) -> None:
    """Record a file's outcome and keep its catalog row in step (deleted / ok again)."""
    entry.state, entry.reason, entry.updated_at = state, reason, time.time()
    if destination is not None:
        entry.destination = destination
    elif state in ("skipped", "failed"):
        entry.destination = None  # nothing went where the planned row said it would
    file_status = {"done": "deleted", "restored": "ok"}.get(state)
    if file_status and entry.file_id is not None:
        row = session.get(File, entry.file_id)
        if row is not None:
            row.status = file_status


def recover(catalog: Catalog) -> list[EntryReport]:
    """Reconcile batches a crash left open with the disk; returns the rows it settled.

    A file still at its source was not touched ("skipped: interrupted"); one found
    at its destination was moved ("done"). Does nothing while another process
    holds the lock, since its open batch is alive, or while a scan runs (the
    next batch or undo settles it).
    """
    try:
        with batch_lock(catalog):
            return recover_locked(catalog)
    except DeletionError:
        return []


def recover_locked(catalog: Catalog) -> list[EntryReport]:
    """`recover` for callers that already hold the lock."""
    settled: list[EntryReport] = []
    with catalog.session() as session:
        batches = list(session.scalars(select(Batch).where(Batch.status == OPEN)))
        for batch in batches:
            planned = session.scalars(
                select(JournalEntry).where(JournalEntry.batch_id == batch.id, JournalEntry.state == "planned")
            )
            for entry in planned:
                _settle(session, batch.mode, entry)
                settled.append(EntryReport.of(entry))
            batch.status = INTERRUPTED
    return settled


def _settle(session: Session, mode: str, entry: JournalEntry) -> None:
    source = Path(entry.source)
    destination = Path(entry.destination) if entry.destination else None
    at_source = os.path.lexists(source)
    if mode == "quarantine" and destination is not None:
        part_path(destination).unlink(missing_ok=True)  # an unfinished cross-device copy
        if at_source and os.path.lexists(destination):
            # A verified copy got its name but the source was not unlinked yet: drop the copy.
            if full_hash(destination) != (entry.content_hash or full_hash(source)):
                finish_entry(session, entry, "failed", f"interrupted; a different file is at {destination}")
                return
            destination.unlink()
    if at_source:
        finish_entry(session, entry, "skipped", INTERRUPTED_REASON)
    elif mode == "quarantine" and destination is not None and os.path.lexists(destination):
        finish_entry(session, entry, "done", "interrupted after the file was moved")
    elif mode == "permanent":
        finish_entry(session, entry, "done", "interrupted after the file was deleted")
    elif mode == "trash" and not trash.CAN_RESTORE:
        finish_entry(session, entry, "done", "interrupted; the file is presumably in the system trash")
    elif mode == "trash" and (found := trash.locate(source, entry.size)) is not None:
        finish_entry(session, entry, "done", "interrupted after the file was trashed", str(found))
    else:
        finish_entry(session, entry, "failed", "interrupted; the file is neither at its source nor its destination")


def history(catalog: Catalog) -> list[BatchSummary]:
    """Every batch, newest first, with per-state file counts and the bytes still removed."""
    with catalog.session() as session:
        batches = list(session.scalars(select(Batch).order_by(Batch.id.desc())))
        rows = session.execute(
            select(JournalEntry.batch_id, JournalEntry.state, func.count(), func.sum(JournalEntry.size)).group_by(
                JournalEntry.batch_id, JournalEntry.state
            )
        ).all()
    counts: dict[int, dict[str, int]] = {}
    removed: dict[int, int] = {}
    for batch_id, state, count, size in rows:
        counts.setdefault(batch_id, {})[state] = count
        if state == "done":
            removed[batch_id] = int(size or 0)
    return [
        BatchSummary(b.id, b.created_at, b.mode, b.target, b.status, counts.get(b.id, {}), removed.get(b.id, 0))
        for b in batches
    ]


def batch_entries(catalog: Catalog, batch_id: int) -> list[EntryReport]:
    """The files of one batch, in the order they were processed."""
    with catalog.session() as session:
        rows = session.scalars(
            select(JournalEntry).where(JournalEntry.batch_id == batch_id).order_by(JournalEntry.id)
        )
        return [EntryReport.of(row) for row in rows]
