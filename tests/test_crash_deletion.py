"""A batch or an undo killed with SIGKILL leaves a journal that, after `recover`, tells the truth."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select

from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.filemove import part_path
from lookalike.core.hashing import full_hash
from lookalike.core.removal.deletion import execute, plan_removal
from lookalike.core.removal.journal import DONE, INTERRUPTED, UNDONE, open_batch, recover
from lookalike.core.catalog.schema import Batch, JournalEntry
from lookalike.core.removal.undo import undo_last
from test_deletion import add_photos

#: The child removes every file but the first, pausing after each so the kill lands mid-batch.
CHILD = textwrap.dedent(
    """
    import sys, time
    from lookalike.core.catalog.store import Catalog
    from lookalike.core.removal.deletion import execute, plan_removal
    catalog = Catalog(sys.argv[1])
    ids = sorted(catalog.files(range(1, 10_000)))
    plan = plan_removal(catalog, [([ids[0]], ids[1:])])
    execute(catalog, plan, sys.argv[2], sys.argv[3], progress=lambda done, total: time.sleep(0.01))
    """
)


def peek(catalog_location: Path | str, query: str) -> list[tuple]:
    """Read-only peek (opening a Catalog would write to it while the child works)."""
    if isinstance(catalog_location, str):  # a PostgreSQL catalog (tests/postgres.py)
        import psycopg

        with psycopg.connect(catalog_location) as db:
            return db.execute(query).fetchall()
    with closing(sqlite3.connect(f"file:{catalog_location}?mode=ro", uri=True, timeout=10)) as db:
        return db.execute(query).fetchall()


def done_rows(catalog_location: Path | str) -> int:
    return peek(catalog_location, "SELECT count(*) FROM journal WHERE state = 'done'")[0][0]


@pytest.mark.parametrize("mode", ["quarantine", "trash"])
def test_sigkill_mid_batch_loses_nothing(tmp_path: Path, mode: str, catalog_location: Path | str) -> None:
    """Killed mid-batch, on SQLite or on a server (whose advisory lock dies with the process)."""
    if mode == "trash" and sys.platform in ("darwin", "win32"):
        pytest.skip("freedesktop trash only")
    catalog_path = catalog_location
    with Catalog(catalog_path) as catalog:
        ids = add_photos(catalog, tmp_path / "Photos", {f"p{n:03}.jpg": b"photo %d" % n * 500 for n in range(300)})
    hashes = {name: full_hash(tmp_path / "Photos" / name) for name in ids}

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(catalog_path), mode, str(tmp_path / "Q")])
    try:
        while done_rows(catalog_path) < 5 and child.poll() is None:
            time.sleep(0.01)
        assert child.poll() is None, "the batch finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()

    with Catalog(catalog_path) as catalog:
        settled = recover(catalog)
        with catalog.session() as session:
            batch = session.scalars(select(Batch)).one()
            entries = list(session.scalars(select(JournalEntry)))
        rows = catalog.files(list(ids.values()))
    assert batch.status == INTERRUPTED
    assert all(e.state in ("done", "skipped") for e in entries)
    assert all(s.reason.startswith("interrupted") for s in settled)
    journalled = {e.source: e for e in entries}
    for name, file_id in ids.items():
        source = tmp_path / "Photos" / name
        entry = journalled.get(str(source))
        if entry is not None and entry.state == "done":
            assert not source.exists() and full_hash(entry.destination) == hashes[name]
            assert rows[file_id].status == "deleted"
        else:  # skipped (interrupted) or never reached
            assert full_hash(source) == hashes[name]
            assert rows[file_id].status == "ok"
            assert entry is None or entry.destination is None or not os.path.exists(entry.destination)


@pytest.fixture
def crashed(tmp_path: Path) -> tuple[Catalog, dict[str, Path]]:
    """A quarantine batch with one planned row per crash point, as a kill would leave it."""
    catalog = Catalog(tmp_path / "catalog.sqlite")
    names = ["untouched.jpg", "moved.jpg", "copied.jpg", "partial.jpg"]
    ids = add_photos(catalog, tmp_path / "Photos", {n: n.encode() * 100 for n in names})
    quarantine = tmp_path / "Q" / "Photos"
    quarantine.mkdir(parents=True)
    batch_id = open_batch(catalog, "quarantine", str(tmp_path / "Q"))
    with catalog.session() as session:
        for name, file_id in ids.items():
            source = tmp_path / "Photos" / name
            info = source.stat()
            session.add(
                JournalEntry(
                    batch_id=batch_id, file_id=file_id, source=str(source), destination=str(quarantine / name),
                    size=info.st_size, mtime_ns=info.st_mtime_ns, content_hash=full_hash(source), updated_at=0.0,
                )
            )  # fmt: skip
    (tmp_path / "Photos" / "moved.jpg").rename(quarantine / "moved.jpg")
    (quarantine / "copied.jpg").write_bytes((tmp_path / "Photos" / "copied.jpg").read_bytes())
    part_path(quarantine / "partial.jpg").write_bytes(b"half")
    yield catalog, {"photos": tmp_path / "Photos", "quarantine": quarantine}
    catalog.close()


def test_recover_settles_each_crash_point(crashed: tuple[Catalog, dict[str, Path]]) -> None:
    catalog, where = crashed
    settled = {Path(e.source).name: (e.state, e.reason) for e in recover(catalog)}
    assert settled == {
        "untouched.jpg": ("skipped", "interrupted before the file was touched"),
        "moved.jpg": ("done", "interrupted after the file was moved"),
        "copied.jpg": ("skipped", "interrupted before the file was touched"),
        "partial.jpg": ("skipped", "interrupted before the file was touched"),
    }
    assert sorted(p.name for p in where["quarantine"].iterdir()) == ["moved.jpg"]
    assert sorted(p.name for p in where["photos"].iterdir()) == ["copied.jpg", "partial.jpg", "untouched.jpg"]
    assert recover(catalog) == []  # nothing left open
    with catalog.session() as session:
        assert session.scalars(select(Batch.status)).one() == INTERRUPTED != DONE


#: The child undoes the last batch; on the 4th file it stops, just before or just after the
#: move back (the real move), and waits there to be killed.
UNDO_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lookalike.core.removal import trash, undo
    from lookalike.core.catalog.store import Catalog
    catalog_path, pause, marker = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    moves = []

    def paused(move):
        def wrapper(source, destination, expected_hash=None):
            moves.append(source)
            if len(moves) == 4 and pause == "before":
                marker.touch(); time.sleep(60)
            move(source, destination, expected_hash)
            if len(moves) == 4 and pause == "after":
                marker.touch(); time.sleep(60)
        return wrapper

    undo.move_file = paused(undo.move_file)
    trash.move_file = paused(trash.move_file)
    undo.undo_last(Catalog(catalog_path))
    """
)


def journal_states(catalog_location: Path | str) -> list[str]:
    """Read-only peek at the journal while the child holds it."""
    return [state for (state,) in peek(catalog_location, "SELECT state FROM journal ORDER BY id")]


@pytest.mark.parametrize("pause", ["before", "after"])
@pytest.mark.parametrize("mode", ["quarantine", "trash"])
def test_sigkill_mid_undo_loses_nothing(tmp_path: Path, mode: str, pause: str, catalog_location: Path | str) -> None:
    if mode == "trash" and sys.platform in ("darwin", "win32"):
        pytest.skip("freedesktop trash only")
    catalog_path, photos = catalog_location, tmp_path / "Photos"
    with Catalog(catalog_path) as catalog:
        ids = add_photos(catalog, photos, {f"p{n}.jpg": b"photo %d" % n * 500 for n in range(8)})
    hashes = {name: full_hash(photos / name) for name in ids}
    # The batch runs in a process of its own too: the trash it uses is the one the undo will see.
    subprocess.run([sys.executable, "-c", CHILD, str(catalog_path), mode, str(tmp_path / "Q")], check=True)
    assert sorted(p.name for p in photos.iterdir()) == ["p0.jpg"]
    marker = tmp_path / "paused"

    child = subprocess.Popen([sys.executable, "-c", UNDO_CHILD, str(catalog_path), pause, str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists(), "the undo never reached its fourth file"
        # Written ahead: the row of the file in flight says so before the file moves.
        assert journal_states(catalog_path).count("restoring") == 1
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()

    with Catalog(catalog_path) as catalog:
        settled = recover(catalog)
        assert [(s.state, s.reason.split(";")[0]) for s in settled] == [
            ("done" if pause == "before" else "restored", "undo interrupted")
        ]
        with catalog.session() as session:
            entries = list(session.scalars(select(JournalEntry)))
            assert session.scalars(select(Batch.status)).one() == DONE  # some files are still removed
        rows = catalog.files(list(ids.values()))
        restored = 4 if pause == "after" else 3
        assert sorted(e.state for e in entries) == ["done"] * (7 - restored) + ["restored"] * restored
        for entry in entries:  # each file is in exactly one place, and the catalog agrees
            back = entry.state == "restored"
            assert Path(entry.source).exists() == back and Path(entry.destination).exists() != back
            assert full_hash(entry.source if back else entry.destination) == entry.content_hash
            assert rows[entry.file_id].status == ("ok" if back else "deleted")

        undo_last(catalog)  # the rest comes back
        with catalog.session() as session:
            assert session.scalars(select(Batch.status)).one() == UNDONE
    assert {p.name: full_hash(p) for p in photos.iterdir()} == hashes


def test_recover_settles_each_undo_crash_point(tmp_path: Path) -> None:
    """A quarantine batch being undone, one "restoring" row per point a kill can leave."""
    names = ["not_moved.jpg", "moved.jpg", "copied.jpg", "partial.jpg", "lost.jpg", "newcomer.jpg"]
    photos, quarantine = tmp_path / "Photos", tmp_path / "Q" / "Photos"
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        ids = add_photos(catalog, photos, {"keep.jpg": b"K" * 100} | {n: n.encode() * 100 for n in names})
        plan = plan_removal(catalog, [([ids["keep.jpg"]], [ids[n] for n in names])])
        batch_id = execute(catalog, plan, "quarantine", tmp_path / "Q").batch_id
        with catalog.session() as session:
            for entry in session.scalars(select(JournalEntry)):
                entry.state = "restoring"
        (quarantine / "moved.jpg").rename(photos / "moved.jpg")
        shutil.copy2(quarantine / "copied.jpg", photos / "copied.jpg")
        part_path(photos / "partial.jpg").write_bytes(b"half")
        (quarantine / "lost.jpg").unlink()
        (photos / "newcomer.jpg").write_bytes(b"someone else's photo")

        settled = {Path(e.source).name: (e.state, e.reason) for e in recover(catalog)}
        with catalog.session() as session:
            status = session.get(Batch, batch_id).status
        rows = catalog.files([ids[n] for n in names])
    assert settled == {
        "not_moved.jpg": ("done", f"undo interrupted; the file is still at {quarantine / 'not_moved.jpg'}"),
        "moved.jpg": ("restored", "undo interrupted; the file is back at its original path"),
        "copied.jpg": ("restored", "undo interrupted; the file is back at its original path"),
        "partial.jpg": ("done", f"undo interrupted; the file is still at {quarantine / 'partial.jpg'}"),
        "lost.jpg": ("failed", f"undo interrupted; the file is neither at its original path nor {quarantine / 'lost.jpg'}"),
        "newcomer.jpg": ("done", f"undo interrupted; the file is still at {quarantine / 'newcomer.jpg'}"),
    }
    assert sorted(p.name for p in quarantine.iterdir()) == ["newcomer.jpg", "not_moved.jpg", "partial.jpg"]
    assert sorted(p.name for p in photos.iterdir()) == ["copied.jpg", "keep.jpg", "moved.jpg", "newcomer.jpg"]
    assert [rows[ids[n]].status for n in names] == ["deleted", "ok", "ok", "deleted", "deleted", "deleted"]
    assert status == DONE  # files are still held: `undo` can finish the job
