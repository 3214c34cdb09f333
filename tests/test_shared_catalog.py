"""One catalog used by several people at once, and what is particular to a PostgreSQL catalog.

The concurrency tests run real processes against the same catalog (a SQLite file, and a
database on the throwaway server of tests/postgres.py), each with its own user folders as
two machines would have: nothing may be lost or applied twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lookalike.cli import main
from lookalike.core.catalog import server
from lookalike.core.catalog.schema import SCHEMA_VERSION, Batch, Decision, File, JournalEntry, Meta
from lookalike.core.catalog.store import Catalog, CatalogError
from lookalike.core.engines.embedder import Embedder
from lookalike.core.review.tiers import find_groups
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.removal.journal import DELETION_RUNNING, DeletionError, batch_lock
from lookalike.core.review.decisions import pairs_of
from postgres import PASSWORD, Server
from test_deletion import add_photos

GROUPS = 60
_REMEMBER = """
import random, sys
from lookalike.core.catalog.store import Catalog
from lookalike.core.review.decisions import remember
location, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
added = 0
with Catalog(location) as catalog:
    for _ in range(40):
        added += remember(catalog, rng.sample(range(1, 31), 6), "not_duplicate")
print(added)
"""

#: The CLI, started when the file argv[1] appears: both processes act in the same instant.
_AT_ONCE = """
import os, sys, time
from lookalike.cli import main
while not os.path.exists(sys.argv[1]):
    time.sleep(0.002)
sys.exit(main(sys.argv[2:]))
"""


def _machine(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a process on its own machine: its own home, cache and trash."""
    home = tmp_path / name
    home.mkdir()
    return {
        **os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
    }


def _both(tmp_path: Path, *commands: list[str], go: Path | None = None) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once, each as its own machine, and wait for all (`go`: the file
    `_AT_ONCE` waits for, created once every process has had the time to import)."""
    started = [
        subprocess.Popen(command, env=_machine(tmp_path, f"m{n}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n, command in enumerate(commands)
    ]
    if go is not None:
        time.sleep(4)
        go.touch()
    finished = []
    for process in started:
        out, err = process.communicate(timeout=300)
        finished.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return finished


def test_two_people_marking_pairs_at_once_store_each_once(catalog_location: Path | str, tmp_path: Path) -> None:
    with Catalog(catalog_location) as catalog, catalog.session() as session:
        session.add_all(File(path=f"/p/{i}.jpg", size=1, mtime_ns=0) for i in range(1, 31))
    runs = _both(tmp_path, *([sys.executable, "-c", _REMEMBER, str(catalog_location), str(seed)] for seed in (1, 2)))
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]

    with Catalog(catalog_location) as catalog, catalog.session() as session:
        stored = set(session.execute(select(Decision.file_a, Decision.file_b)).all())
    expected: set[tuple[int, int]] = set()
    for seed in (1, 2):
        import random

        rng = random.Random(seed)
        for _ in range(40):
            expected.update(pairs_of(rng.sample(range(1, 31), 6)))
    assert stored == expected
    # Each pair counted as new by exactly one of the two: none double-applied, none lost.
    assert sum(int(r.stdout) for r in runs) == len(expected)


def test_two_dedupes_applied_at_once_remove_each_picture_once(catalog_location: Path | str, tmp_path: Path) -> None:
    photos = tmp_path / "Photos"
    contents = {}
    for n in range(GROUPS):
        contents[f"g{n:02}.jpg"] = contents[f"sub/g{n:02} copy.jpg"] = bytes([n]) * (1000 + n)
    with Catalog(catalog_location) as catalog:
        add_photos(catalog, photos, contents)
    go = tmp_path / "go"
    dedupe = [
        sys.executable, "-c", _AT_ONCE, str(go), "--catalog", str(catalog_location), "dedupe", "--kind", "identical", "--json"
    ]
    # The two people disagree: one keeps the short names, the other the copies in sub/.
    runs = _both(
        tmp_path,
        [*dedupe, "--apply", "--mode", f"quarantine:{tmp_path / 'Q1'}"],
        [*dedupe, "--prefer", str(photos / "sub"), "--apply", "--mode", f"quarantine:{tmp_path / 'Q2'}"],
        go=go,
    )
    for run in runs:  # each either ran its batch or was told, in one line, that the other was running
        assert run.returncode == 0 or DELETION_RUNNING in run.stderr, run.stderr
        assert "Traceback" not in run.stderr

    for n in range(GROUPS):  # one copy of each picture left, the other removed exactly once
        left = [p for p in (photos / f"g{n:02}.jpg", photos / "sub" / f"g{n:02} copy.jpg") if p.exists()]
        assert len(left) == 1, n
    quarantined = [p for q in ("Q1", "Q2") for p in (tmp_path / q).rglob("*.jpg")]
    assert len(quarantined) == GROUPS

    with Catalog(catalog_location) as catalog, catalog.session() as session:
        done = session.execute(select(JournalEntry.source).where(JournalEntry.state == "done")).scalars().all()
        assert sorted(done) == sorted({*done}) and len(done) == GROUPS
        assert {Path(s).exists() for s in done} == {False}
        assert set(session.scalars(select(Batch.status))) <= {"done"}
        deleted = session.scalar(select(func.count()).select_from(File).where(File.status == "deleted"))
        assert deleted == GROUPS
    removed = [json.loads(r.stdout) for r in runs if r.returncode == 0]
    assert sum(len([f for f in r["files"] if f["state"] == "done"]) for r in removed) == GROUPS


# --- what only a server catalog has --------------------------------------------------


def test_a_wrong_password_is_one_line_that_never_shows_it(postgres: Server, capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres.database()
    wrong = url.replace(PASSWORD, "not-the-pw-4711")
    with pytest.raises(CatalogError) as caught:
        Catalog(wrong)
    assert "not-the-pw-4711" not in str(caught.value) and "password authentication failed" in str(caught.value)
    assert main(["--catalog", wrong, "stats", "--json"]) != 0
    err = capsys.readouterr().err
    assert "not-the-pw-4711" not in err and len(err.strip().splitlines()) == 1
    with Catalog(url) as catalog:
        assert PASSWORD not in catalog.location and catalog.location.startswith("postgresql://lookalike:***@")


def test_the_cache_folder_follows_the_database_not_the_password(postgres: Server) -> None:
    url = postgres.database()
    with Catalog(url) as catalog, Catalog(url.replace(PASSWORD, PASSWORD, 1)) as again:
        assert catalog.index_path("m:1").parent == again.index_path("m:1").parent
    keyed = server.cache_folder(server.parse(url))
    assert keyed == server.cache_folder(server.parse(url.replace(PASSWORD, "changed")))
    assert keyed != server.cache_folder(server.parse(postgres.database()))
    assert catalog.index_path("m:1").parent == keyed and PASSWORD not in str(keyed)


def test_a_newer_or_foreign_database_is_refused_untouched(postgres: Server) -> None:
    import psycopg

    newer = postgres.database()
    Catalog(newer).close()
    with Catalog(newer) as catalog, catalog.session() as session:
        session.get(Meta, "schema_version").value = str(SCHEMA_VERSION + 1)
    with pytest.raises(CatalogError, match="written by a newer Lookalike"):
        Catalog(newer)

    foreign = postgres.database()
    with psycopg.connect(foreign) as connection:
        connection.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(CatalogError, match="another program's tables"):
        Catalog(foreign)
    with psycopg.connect(foreign) as connection:
        tables = [r[0] for r in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    assert tables == ["invoices"]


def test_two_connections_cannot_scan_or_delete_one_server_catalog_at_once(postgres: Server) -> None:
    """The locks are the server's: two machines (two connections) never hold one together."""
    url = postgres.database()
    with Catalog(url) as first, Catalog(url) as second:
        with first.scan_lock():
            with pytest.raises(CatalogError, match=f"pid {os.getpid()}"):
                with second.scan_lock():
                    pass
        with second.scan_lock():  # released with the block
            pass
        with batch_lock(first):
            with pytest.raises(DeletionError, match=DELETION_RUNNING):
                with batch_lock(second):
                    pass
        with batch_lock(second):
            pass


def test_undecodable_names_and_huge_sizes_round_trip(postgres: Server) -> None:
    names = ["/p/caf\udce9.jpg", "/p/\uffff odd.jpg", "/p/plain.jpg"]
    with Catalog(postgres.database()) as catalog:
        with catalog.session() as session:
            session.add_all(File(path=n, size=5 << 40, mtime_ns=1_700_000_000_123_456_789) for n in names)
        rows = sorted(catalog.iter_files(), key=lambda f: f.id)
        assert [(r.path, r.size, r.mtime_ns) for r in rows] == [(n, 5 << 40, 1_700_000_000_123_456_789) for n in names]
        assert sorted(catalog.known_files("/p", "m")) == sorted(names)


# --- the acceptance: the same answers from either catalog --------------------------


def _answers(catalog: Catalog, root: Path, model: str) -> dict[str, list[list[tuple[str, bool, str, float]]]]:
    """Every tier's groups as (path under `root`, kept, why, similarity) per member."""
    return {
        kind: [
            [(Path(m.file.path).relative_to(root).as_posix(), m.keep, m.reason, round(m.similarity, 4)) for m in g.members]
            for g in find_groups(catalog, model, kind)
        ]
        for kind in ("identical", "duplicate", "burst", "similar")
    }


@pytest.mark.devset
def test_devset_groups_and_verdicts_are_the_same_from_postgresql(
    devset: Path, postgres: Server, embedder: Embedder, tmp_path: Path
) -> None:
    answers = []
    for location in (tmp_path / "catalog.sqlite", postgres.database()):
        with Catalog(location) as catalog:
            Scanner(catalog, embedder, workers=2).run([devset])
            answers.append(_answers(catalog, devset, embedder.model_id))
    from_sqlite, from_postgresql = answers
    assert sum(len(groups) for groups in from_sqlite.values()) > 20  # the devset's groups, not an empty answer
    assert from_postgresql == from_sqlite


def test_the_cli_scans_into_a_server_catalog(postgres: Server, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres.database()
    assert main(["--catalog", url, "scan", str(samples), "--json"]) == 0
    scanned = json.loads(capsys.readouterr().out)
    assert scanned["catalog"] == url.replace(PASSWORD, "***") and scanned["embedded"] == 10
    assert main(["--catalog", url, "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["catalog"] == scanned["catalog"] and stats["catalog_bytes"] > 0
    assert main(["--catalog", url, "duplicates", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["groups"]) == 4  # as from a SQLite catalog (README's demo)
