"""The deletion journal: batches, one row per file written before the file is touched.

A row is committed as "planned" (with where the file will go) before anything
happens on disk, and turns "done", "skipped" or "failed" after. Undo does the
same: a "done" row turns "restoring" before its file moves back, and "restored"
after. So when a batch or an undo is killed half-way, `recover` can compare each
planned or restoring row with the disk, looking for the bytes by their content
hash, and write down what really happened; nothing is left unexplained.

One process at a time may run a batch, an undo or a recovery on a catalog: they
take the catalog's deletion lock (`Catalog.lock`: a file beside a SQLite catalog,
an advisory lock on a PostgreSQL server, so people reviewing one catalog from
several machines never run two at once), and the catalog's scan lock too, so none of them overlaps a scan of the same catalog.

The journal's tables (`batches`, `journal`) are read and written here alone:
deletion and undo go through the functions below (`plan_entry`, `record_outcome`,
`begin_restore`, `end_restore`...), so every state change keeps the catalog row
of its file in step in one place.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lookalike.core.catalog import locking
from lookalike.core.removal import trash
from lookalike.core.catalog.store import Catalog, CatalogBusy
from lookalike.core.removal.filemove import part_path
from lookalike.core.hashing import full_hash
from lookalike.core.catalog.schema import Batch, File, JournalEntry

#: Batch status while its files are being processed; a batch found open under the
#: lock was killed mid-way.
OPEN, DONE, INTERRUPTED, UNDONE = "open", "done", "interrupted", "undone"
#: Row state while its file is being put back by an undo (written before the move).
RESTORING = "restoring"
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
    state: str  # planned | done | skipped | failed | restoring | restored
    reason: str | None
    id: int | None = None  # the journal row, for undo
    content_hash: str | None = None  # the bytes the file had when it was removed

    @classmethod
    def of(cls, row: JournalEntry) -> EntryReport:
        return cls(
            row.file_id, row.source, row.destination, row.size, row.state, row.reason, row.id, row.content_hash
        )


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
    with ExitStack() as held:
        _hold(held, catalog.lock("deletion"), DELETION_RUNNING)
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


def plan_entry(
    catalog: Catalog,
    batch_id: int,
    file_id: int | None,
    source: Path,
    destination: Path | None,
    size: int,
    mtime_ns: int,
    content_hash: str | None,
) -> int:
    """Commit a file's "planned" row (where it will go) before it is touched; returns the row's id."""
    with catalog.session() as session:
        entry = JournalEntry(
            batch_id=batch_id,
            file_id=file_id,
            source=str(source),
            destination=str(destination) if destination else None,
            size=size,
            mtime_ns=mtime_ns,
            content_hash=content_hash,
            state="planned",
            updated_at=time.time(),
        )
        session.add(entry)
        session.flush()
        return entry.id


def record_outcome(
    catalog: Catalog, entry_id: int, state: str, reason: str | None = None, destination: str | None = None
) -> EntryReport:
    """`finish_entry` for one row in its own transaction; the row as it ends."""
    with catalog.session() as session:
        entry = session.get(JournalEntry, entry_id)
        finish_entry(session, entry, state, reason, destination)
        return EntryReport.of(entry)


def batch_to_undo(catalog: Catalog) -> int | None:
    """The most recent batch that is not undone yet (done or interrupted), or None."""
    with catalog.session() as session:
        return session.scalar(
            select(Batch.id).where(Batch.status.in_((DONE, INTERRUPTED))).order_by(Batch.id.desc()).limit(1)
        )


def batch_summary(catalog: Catalog, batch_id: int) -> BatchSummary | None:
    """One batch as `history` shows it, or None when there is no such batch."""
    return next(iter(_summaries(catalog, batch_id)), None)


def removed_entries(catalog: Catalog, batch_id: int) -> list[EntryReport]:
    """The files of a batch that are still removed ("done"), the last removed first."""
    with catalog.session() as session:
        rows = session.scalars(
            select(JournalEntry)
            .where(JournalEntry.batch_id == batch_id, JournalEntry.state == DONE)
            .order_by(JournalEntry.id.desc())
        )
        return [EntryReport.of(row) for row in rows]


def begin_restore(catalog: Catalog, entry_id: int) -> None:
    """Commit that a file is being put back ("restoring") before it moves."""
    with catalog.session() as session:
        entry = session.get(JournalEntry, entry_id)
        entry.state, entry.updated_at = RESTORING, time.time()


def end_restore(catalog: Catalog, entry_id: int, failure: str | None) -> EntryReport:
    """Record a move back: "restored", or (with `failure`) wherever `settle_restoring` finds the file."""
    with catalog.session() as session:
        entry = session.get(JournalEntry, entry_id)
        if failure is None:
            finish_entry(session, entry, "restored")
        else:
            settle_restoring(session, entry, failure)
        return EntryReport.of(entry)


def close_batch_if_undone(catalog: Catalog, batch_id: int) -> None:
    """`close_if_undone` in its own transaction."""
    with catalog.session() as session:
        close_if_undone(session, batch_id)


def set_batch_status(catalog: Catalog, batch_id: int, status: str) -> None:
    with catalog.session() as session:
        _set_status(session.get(Batch, batch_id), status)


def _set_status(batch: Batch, status: str) -> None:
    batch.status = status
    if status == UNDONE:
        batch.undone_at = time.time()


def close_if_undone(session: Session, batch_id: int) -> None:
    """Mark the batch undone once none of its files is still removed (or on its way back)."""
    left = session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.batch_id == batch_id, JournalEntry.state.in_((DONE, RESTORING)))
    )
    if not left:
        _set_status(session.get(Batch, batch_id), UNDONE)


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
    """Reconcile batches and undos a crash left half-way with the disk; returns the rows it settled.

    A file still at its source was not touched ("skipped: interrupted"); one found
    at its destination was moved ("done"). A file an undo was putting back is
    "restored" if its bytes are at its original path, else "done" again (see
    `settle_restoring`). Does nothing while another process holds the lock, since
    its batch or undo is alive, or while a scan runs (the next batch or undo
    settles it).
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
        restoring = list(session.scalars(select(JournalEntry).where(JournalEntry.state == RESTORING)))
        for entry in restoring:
            settle_restoring(session, entry, "undo interrupted")
            settled.append(EntryReport.of(entry))
        for batch_id in {entry.batch_id for entry in restoring}:
            close_if_undone(session, batch_id)
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


def settle_restoring(session: Session, entry: JournalEntry, cause: str) -> None:
    """Write down where the file of a "restoring" row is, found by its content hash; `cause` says why.

    At its original path it is "restored" (a copy still held in the quarantine or
    trash has the same bytes and is dropped: the move back had verified it and
    only removing the held one was missed); still held it is "done" again, so
    `undo` can retry; anywhere else it is "failed" and the row keeps where it was.
    """
    source = Path(entry.source)
    held = Path(entry.destination) if entry.destination else None
    part_path(source).unlink(missing_ok=True)  # an unfinished cross-device copy back
    back = _has_bytes(source, entry.content_hash)
    away = held is not None and _has_bytes(held, entry.content_hash)
    if back and away:
        with suppress(OSError):  # were it to stay, it is a spare copy: nothing is lost
            held.unlink()
    if back:
        finish_entry(session, entry, "restored", f"{cause}; the file is back at its original path")
    elif away:
        finish_entry(session, entry, DONE, f"{cause}; the file is still at {held}")
    else:
        where = f"its original path nor {held}" if held else "its original path"
        finish_entry(session, entry, "failed", f"{cause}; the file is neither at {where}", entry.destination)


def _has_bytes(path: Path, content_hash: str | None) -> bool:
    """Whether `path` is a regular file (not a link) holding exactly the bytes of `content_hash`."""
    try:
        return content_hash is not None and stat.S_ISREG(path.lstat().st_mode) and full_hash(path) == content_hash
    except OSError:
        return False


def history(catalog: Catalog) -> list[BatchSummary]:
    """Every batch, newest first, with per-state file counts and the bytes still removed."""
    return _summaries(catalog)


def _summaries(catalog: Catalog, batch_id: int | None = None) -> list[BatchSummary]:
    """Summaries of every batch (or of `batch_id` only), newest first."""
    batches_stmt = select(Batch).order_by(Batch.id.desc())
    counts_stmt = select(JournalEntry.batch_id, JournalEntry.state, func.count(), func.sum(JournalEntry.size))
    if batch_id is not None:
        batches_stmt = batches_stmt.where(Batch.id == batch_id)
        counts_stmt = counts_stmt.where(JournalEntry.batch_id == batch_id)
    with catalog.session() as session:
        batches = list(session.scalars(batches_stmt))
        rows = session.execute(counts_stmt.group_by(JournalEntry.batch_id, JournalEntry.state)).all()
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
