"""A batch killed with SIGKILL leaves a journal that, after `recover`, tells the truth."""

from __future__ import annotations

import os
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

from lookalike.core.catalog import Catalog
from lookalike.core.filemove import part_path
from lookalike.core.hashing import full_hash
from lookalike.core.journal import DONE, INTERRUPTED, open_batch, recover
from lookalike.core.schema import Batch, JournalEntry
from test_deletion import add_photos

#: The child removes every file but the first, pausing after each so the kill lands mid-batch.
CHILD = textwrap.dedent(
    """
    import sys, time
    from lookalike.core.catalog import Catalog
    from lookalike.core.deletion import execute, plan_removal
    catalog = Catalog(sys.argv[1])
    ids = sorted(catalog.files(range(1, 10_000)))
    plan = plan_removal(catalog, [([ids[0]], ids[1:])])
    execute(catalog, plan, sys.argv[2], sys.argv[3], progress=lambda done, total: time.sleep(0.01))
    """
)


def done_rows(catalog_path: Path) -> int:
    """Read-only peek (opening a Catalog would write to it while the child works)."""
    with closing(sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True, timeout=10)) as db:
        return db.execute("SELECT count(*) FROM journal WHERE state = 'done'").fetchone()[0]


@pytest.mark.parametrize("mode", ["quarantine", "trash"])
def test_sigkill_mid_batch_loses_nothing(tmp_path: Path, mode: str) -> None:
    if mode == "trash" and sys.platform in ("darwin", "win32"):
        pytest.skip("freedesktop trash only")
    catalog_path = tmp_path / "catalog.sqlite"
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
