"""The file system misbehaving: permissions, links, odd names, long paths, a tree that
changes under the scan, and a disk unplugged halfway.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from lookalike.core.catalog import sqltext
from lookalike.core.catalog.store import Catalog, FileRecord, Location
from lookalike.core.removal.deletion import execute, plan_removal
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.analysis import VANISHED
from lookalike.core.scan.pipeline import Scanner, ScanProgress
from lookalike.core.catalog.schema import File
from lookalike.core.removal.undo import undo_last
from reliability_tools import (
    assert_catalog_matches_disk,
    catalog_paths,
    honour_permissions,
    make_photos,
    rewrite_photo,
    run_cli,
    scan_command,
)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog(tmp_path / "catalog" / "catalog.sqlite") as opened:
        yield opened


def _rows(catalog: Catalog) -> dict[str, object]:
    return {f.path: f for f in catalog.iter_files(("ok", "error", "missing", "deleted"))}


# --- permissions -------------------------------------------------------------------------


def test_unreadable_files_and_folders_are_reported_not_deleted(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """Unreadable file and folder (as root, the scan runs without the capabilities that bypass permissions)"""
    try:
        obey = honour_permissions()
    except OSError as exc:
        pytest.skip(f"running as root and cannot drop the permission bypass: {exc}")
    photos = tmp_path / "photos"
    make_photos(photos, 3)
    locked = photos / "locked"
    make_photos(locked, 2, seed=1)
    catalog_path = tmp_path / "catalog.sqlite"

    def scan() -> dict:
        done = subprocess.run(scan_command(catalog_path, photos), capture_output=True, text=True, timeout=120,
                              preexec_fn=obey)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert (scan()["new"], scan()["unchanged"]) == (5, 5)
    unreadable_photo = make_photos(photos / "new", 1, seed=2)[0]
    unreadable_photo.chmod(0)
    locked.chmod(0)
    try:
        report = scan()
    finally:
        locked.chmod(0o755)

    assert report["missing"] == 0, "photos in an unreadable folder were marked missing"
    assert [(u["path"], u["reason"]) for u in report["unreadable"]] == [(str(locked), "permission denied")]
    assert report["errors"] == 1
    with Catalog(catalog_path) as catalog:
        assert catalog.errors() == [(str(unreadable_photo), "permission denied")]
        assert catalog.status_counts()["ok"] == 5
    who = "as root without CAP_DAC_OVERRIDE" if obey else "unprivileged"
    record("file system", f"unreadable folder and unreadable new file ({who})", 2,
           "folder reported 'permission denied', its photos kept (not missing); file recorded with the reason")


# --- links -------------------------------------------------------------------------------


def test_symlink_loops_and_links_out_of_the_roots_are_not_followed(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """Symlink loops, and links to folders and photos outside the scanned folder"""
    root = tmp_path / "photos"
    inside = make_photos(root / "album", 3)
    outside = tmp_path / "elsewhere"
    make_photos(outside, 2, seed=5)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "album" / "up").symlink_to("..", target_is_directory=True)
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "back").symlink_to(root / "a", target_is_directory=True)
    (root / "outside").symlink_to(outside, target_is_directory=True)
    (root / "linked.jpg").symlink_to(outside / "photo_5_000.jpg")
    (root / "dangling.jpg").symlink_to(tmp_path / "nothing.jpg")
    (root / "self.jpg").symlink_to(root / "self.jpg")

    report = Scanner(catalog, embedder).run([root])

    assert sorted(catalog_paths(catalog)) == sorted(str(p) for p in inside)
    assert (report.new, report.errors, report.unreadable) == (3, 0, [])
    record("file system", "symlink loops (to the root, to a parent, a->b->a), links to outside folders and "
           "photos, dangling and self links", 7, "none followed; only the 3 real photos catalogued")


def test_special_files_named_like_photos_are_skipped(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """A FIFO and a Unix socket named .jpg (reading a FIFO would block forever)"""
    root = tmp_path / "photos"
    real = make_photos(root, 1)
    os.mkfifo(root / "pipe.jpg")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(root / "socket.jpg"))
        report = Scanner(catalog, embedder).run([root])
    finally:
        server.close()
    assert catalog_paths(catalog) == [str(real[0])] and report.errors == 0
    record("file system", "a FIFO and a Unix socket named .jpg", 2, "not regular files: skipped, nothing blocks")


# --- names that are not UTF-8 --------------------------------------------------------------


def test_file_names_that_are_not_utf8_are_stored_and_removed_by_their_real_path(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """File and folder names that are not valid UTF-8 (bytes names)"""
    root = tmp_path / "photos"
    original = make_photos(root, 1)[0]
    odd_folder = os.path.join(os.fsencode(root), b"\xff\xfe album")
    os.mkdir(odd_folder)
    copies = [os.path.join(odd_folder, b"caf\xe9 copy.jpg"), os.path.join(os.fsencode(root), b"\x80\x81.jpg")]
    for name in copies:
        shutil.copyfile(original, name)
    broken = os.path.join(odd_folder, b"bro\xffken.jpg")
    with open(broken, "wb") as handle:
        handle.write(b"not a photo")

    first = Scanner(catalog, embedder).run([root])
    again = Scanner(catalog, embedder).run([root])

    assert (first.new, first.errors, again.unchanged, again.new, again.missing) == (4, 1, 4, 0, 0)
    rows = _rows(catalog)
    assert {os.fsencode(p) for p in rows} == {os.fsencode(original), *copies, broken}
    assert catalog.errors() == [(os.fsdecode(broken), "not an image, or a format Lookalike cannot read")]

    # Removing a copy (quarantine) and undoing it must use the real bytes path.
    odd = rows[os.fsdecode(copies[0])]
    plan = plan_removal(catalog, [([rows[str(original)].id], [odd.id])])
    batch = execute(catalog, plan, "quarantine", quarantine_dir=tmp_path / "quarantine")
    assert [e.state for e in batch.entries] == ["done"], batch.entries
    assert not os.path.lexists(copies[0])
    assert os.fsencode(batch.entries[0].source) == copies[0]
    assert os.path.isfile(batch.entries[0].destination)
    undone = undo_last(catalog)
    assert [e.state for e in undone.entries] == ["restored"], undone.message
    assert Path(os.fsdecode(copies[0])).read_bytes() == original.read_bytes()
    # ... and to the system trash and back.
    trashed = execute(catalog, plan_removal(catalog, [([rows[str(original)].id], [odd.id])]), "trash")
    assert [e.state for e in trashed.entries] == ["done"] and not os.path.lexists(copies[0])
    assert [e.state for e in undo_last(catalog).entries] == ["restored"]
    assert os.path.isfile(copies[0])
    record("file system", "non-UTF-8 file and folder names: scan, rescan, errors, quarantine+undo, trash+undo",
           len(copies) + 1, "stored reversibly (escaped text); unchanged on rescan; removed and restored by the real bytes path")


_NAME_BYTES = st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_"))


def test_any_file_name_round_trips_through_the_catalog(catalog_location: Path | str, record) -> None:  # type: ignore[no-untyped-def]
    """Random byte strings as file names, stored and found again under their folder (SQLite and PostgreSQL)"""
    cases: list[int] = []
    with Catalog(catalog_location) as catalog:
        root = os.fsdecode(b"/photos/\xff\xfe")
        root_id = catalog.add_root(root)

        @settings(max_examples=120, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.lists(_NAME_BYTES, min_size=1, max_size=5, unique=True))
        def check(names: list[bytes]) -> None:
            paths = [os.path.join(root, os.fsdecode(name)) for name in names]
            records = [FileRecord(Location(p, 1, 1, None, None, root_id), error="x") for p in paths]
            ids = catalog.store(records, "m")
            known = catalog.known_files(root, "m")
            assert {p: known[p].id for p in paths} == dict(zip(paths, ids))
            assert {catalog.files(ids)[i].path for i in ids} == set(paths)
            with catalog.session() as session:
                session.execute(delete(File))
            cases.append(len(names))

        check()
    record("file system", "random byte strings as file names (hypothesis): store, range query, read back"
           + (" on PostgreSQL" if catalog.on_server else ""),
           sum(cases), "every name read back exactly as stored, and found under its folder")


def test_stored_text_escaping_is_reversible_and_prefix_preserving(record) -> None:  # type: ignore[no-untyped-def]
    """Any Python string, lone surrogates (Windows names) and NUL included"""
    any_text = st.text(st.characters(exclude_categories=()))
    cases: list[None] = []

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(any_text, any_text)
    def check(head: str, tail: str) -> None:
        for how in (sqltext.LOCAL, sqltext.SERVER):
            stored = sqltext.escape(head + tail, how)
            stored.encode("utf-8")  # what sqlite3 and psycopg must be able to bind
            assert how is sqltext.LOCAL or "\x00" not in stored  # PostgreSQL text holds no NUL
            assert sqltext.unescape(stored, how) == head + tail
            assert stored == sqltext.escape(head, how) + sqltext.escape(tail, how)  # "under this folder" ranges still work
        cases.append(None)

    check()
    record("file system", "any string as stored text (hypothesis; lone surrogates, NUL)", len(cases),
           "escaped text is valid UTF-8, unescapes to the original, and keeps prefixes")


def test_export_to_a_file_keeps_names_that_are_not_utf8(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """`lookalike export --output FILE` with a non-UTF-8 file name catalogued"""
    root = tmp_path / "photos"
    original = make_photos(root, 1)[0]
    odd = os.path.join(os.fsencode(root), b"caf\xe9.jpg")
    shutil.copyfile(original, odd)
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder).run([root])
    target = tmp_path / "export.csv"
    done = run_cli(catalog_path, "export", "--format", "csv", "--output", str(target),
                   env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0, done.stderr
    assert odd in target.read_bytes()
    record("file system", "export --output with a non-UTF-8 name", 1, "written as the name's own bytes")


def test_listing_verbs_print_names_that_are_not_utf8(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """`errors`, `export` and `duplicates` printing non-UTF-8 names to a strict UTF-8 terminal"""
    root = tmp_path / "photos"
    original = make_photos(root, 1)[0]
    shutil.copyfile(original, os.path.join(os.fsencode(root), b"caf\xe9 copy.jpg"))
    with open(os.path.join(os.fsencode(root), b"bro\xffken.jpg"), "wb") as handle:
        handle.write(b"not a photo")
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder).run([root])
    verbs = [("errors",), ("errors", "--json"), ("export", "--format", "csv"), ("export", "--format", "json"),
             ("duplicates",), ("duplicates", "--json")]
    record("file system", "listing verbs printing non-UTF-8 names (strict UTF-8 stdout)", len(verbs),
           "text shows undecodable bytes marked as \\xNN (core/display.py); JSON escapes them (\\udcXX) and reads back to the exact name")
    for verb in verbs:
        done = run_cli(catalog_path, *verb, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
                       errors="surrogateescape")
        assert done.returncode == 0, f"{' '.join(verb)}: {done.stderr[-300:]}"
    listed = json.loads(run_cli(catalog_path, "export", "--format", "json").stdout)
    names = {os.fsencode(Path(f["path"]).name) for f in listed["files"]}
    assert {b"caf\xe9 copy.jpg", b"bro\xffken.jpg"} <= names


# --- long paths ----------------------------------------------------------------------------


def test_very_long_paths(tmp_path: Path, catalog: Catalog, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """A 255-byte file name and folders nested past PATH_MAX (4096 bytes)"""
    root = tmp_path / "photos"
    sample = make_photos(root, 1)[0]
    longest_name = root / ("n" * 251 + ".jpg")
    shutil.copyfile(sample, longest_name)
    data = sample.read_bytes()
    deepest, placed = _nest(root, levels=24, name_length=200, data=data)

    report = Scanner(catalog, embedder).run([root])

    catalogued = catalog_paths(catalog)
    reachable = [p for p in placed if len(os.fsencode(p)) < 4096]
    assert sorted(catalogued) == sorted([str(sample), str(longest_name), *reachable])
    assert all(r.status == "ok" for r in _rows(catalog).values())
    assert report.unreadable and all("too long" in reason.lower() for _, reason in report.unreadable)
    print(f"deepest folder {len(os.fsencode(deepest))} bytes; {len(reachable)} of {len(placed)} nested photos "
          "within PATH_MAX", file=sys.stderr)
    record("file system", "a 255-byte file name; 24 folders of 200-byte names nested past PATH_MAX, a photo in each",
           len(placed) + 1, f"photos within PATH_MAX catalogued; deeper folders reported '{report.unreadable[0][1]}'; "
           "no crash")


def _nest(root: Path, levels: int, name_length: int, data: bytes) -> tuple[str, list[str]]:
    """Folders nested `levels` deep (made relative to an open folder, past PATH_MAX), a photo in each."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    path, placed = str(root), []
    try:
        for level in range(levels):
            name = f"{level:02d}" + "d" * (name_length - 2)
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, path = inner, os.path.join(path, name)
            photo = os.open("photo.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(photo, data)
            os.close(photo)
            placed.append(os.path.join(path, "photo.jpg"))
    finally:
        os.close(fd)
    return path, placed


# --- the tree changing during the scan -------------------------------------------------------


class _Mutator(threading.Thread):
    """Deletes, replaces, grows and adds photos under `root` until stopped."""

    def __init__(self, root: Path, seed: int) -> None:
        super().__init__(daemon=True)
        self.root, self.rng = root, random.Random(seed)
        self.stop = threading.Event()
        self.done: dict[str, int] = {"deleted": 0, "replaced": 0, "grown": 0, "added": 0}
        self.sample = next(root.glob("*.jpg")).read_bytes()

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            photos = sorted(self.root.glob("*.jpg"))
            victim = self.rng.choice(photos) if photos else None
            action = self.rng.choice(("deleted", "replaced", "grown", "added"))
            try:
                if action == "deleted" and victim:
                    victim.unlink()
                elif action == "replaced" and victim:
                    tmp = self.root / f".incoming-{number}"
                    shutil.copyfile(victim, tmp)
                    rewrite_photo(tmp, number)
                    os.replace(tmp, victim)  # atomically a new file under the old name
                elif action == "grown":
                    growing = self.root / f"being_written_{number % 3}.jpg"
                    with growing.open("ab") as handle:  # a photo still being copied in
                        handle.write(self.sample[: self.rng.randrange(1, len(self.sample))])
                else:
                    (self.root / f"added_{number}.jpg").write_bytes(self.sample)
                self.done[action] += 1
            except OSError:
                pass  # raced with itself or the scan: that file is simply not changed this time
            self.stop.wait(0.003)


def test_files_deleted_replaced_and_written_during_the_scan(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """A thread deleting, replacing, growing and adding photos while the scan runs"""
    root = tmp_path / "photos"
    make_photos(root, 60)
    mutator = _Mutator(root, seed=3)
    mutator.start()
    try:
        during = Scanner(catalog, embedder, batch_size=8).run([root])
    finally:
        mutator.stop.set()
        mutator.join()
    assert not during.cancelled and not during.stalled
    assert all(f.error != VANISHED for f in _rows(catalog).values()), "a vanished file was stored as an error"

    after = Scanner(catalog, embedder).run([root])  # the tree is quiet now

    assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    for row in _rows(catalog).values():
        if row.status != "missing":
            info = os.stat(row.path)
            assert (row.size, row.mtime_ns) == (info.st_size, info.st_mtime_ns), row.path
    print(f"mutations {mutator.done}; vanished during the scan {len(during.unreadable)}; rescan changed "
          f"{after.changed}, missing {after.missing}, new {after.new}", file=sys.stderr)
    record("file system", "a thread deleting, atomically replacing, growing and adding photos all through a scan "
           "of 60 photos", 60, "the scan finished; vanished files reported, never stored as errors; the rescan "
           "matched the disk (sizes and mtimes), each photo once, index equal to the catalog")


def test_a_root_unplugged_mid_scan_is_offline_not_deleted(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """The scanned folder disappears halfway through a first scan and through a rescan"""
    root = tmp_path / "disk"
    photos = make_photos(root, 48, size=(320, 240))
    away = tmp_path / "unplugged"
    scanner = Scanner(catalog, embedder, batch_size=4)

    def unplug_halfway(progress: ScanProgress) -> None:
        if progress.phase == "embedding" and progress.files_done > 0 and root.exists():
            root.rename(away)

    first = scanner.run([root], progress=unplug_halfway)
    assert not root.exists(), "the scan ended before the disk could be unplugged"
    assert first.roots_offline == [str(root)] and first.missing == 0
    stored = _rows(catalog)
    assert 0 < len(stored) < len(photos)
    assert all(r.status == "ok" for r in stored.values()), "unreadable-now files were stored as errors"

    while_gone = scanner.run([root])
    assert (while_gone.roots_offline, while_gone.missing) == ([str(root)], 0)
    assert all(r.status == "ok" for r in _rows(catalog).values())

    away.rename(root)
    for photo in photos:
        rewrite_photo(photo, 1)  # every photo changed: the rescan must reopen them all
    os.utime(root)
    unplugged_again = scanner.run([root], progress=unplug_halfway)
    assert unplugged_again.roots_offline == [str(root)] and unplugged_again.missing == 0
    assert all(r.status == "ok" for r in _rows(catalog).values())

    away.rename(root)
    final = scanner.run([root])
    assert final.errors == 0 and not final.roots_offline
    assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    record("file system", "root folder unplugged mid-scan (first scan and a rescan of changed photos), "
           "rescanned while gone, then plugged back", len(photos),
           "reported offline; nothing marked missing or stored as an error; all photos read once back")


# --- files put back by hand -----------------------------------------------------------------


def test_a_photo_put_back_by_hand_after_removal_is_catalogued_again(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """A removed (quarantined) photo moved back by hand, not through undo, then rescanned"""
    root = tmp_path / "photos"
    keep, copy = make_photos(root, 1)[0], root / "copy.jpg"
    shutil.copyfile(keep, copy)
    scanner = Scanner(catalog, embedder)
    scanner.run([root])
    rows = _rows(catalog)
    batch = execute(catalog, plan_removal(catalog, [([rows[str(keep)].id], [rows[str(copy)].id])]), "quarantine",
                    quarantine_dir=tmp_path / "quarantine")
    assert _rows(catalog)[str(copy)].status == "deleted"
    gone = scanner.run([root])
    assert gone.missing == 0 and _rows(catalog)[str(copy)].status == "deleted"  # still known as removed by us

    shutil.move(batch.entries[0].destination, copy)  # the person changed their mind, by hand
    back = scanner.run([root])

    assert _rows(catalog)[str(copy)].status == "ok", "a photo back on disk stays out of every result"
    assert back.unchanged == 2
    assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    record("file system", "a removed photo moved back by hand (not undo), then rescanned", 1,
           "catalogued as present again; while gone it stayed 'deleted', not 'missing'")
