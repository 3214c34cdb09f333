"""Security: deletion and undo stay inside the scanned folders and the quarantine, the
app never opens a network connection, and nothing read from an image is used as a path.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import hostile_files as hostile
from lookalike.cli import main
from lookalike.core.catalog.store import Catalog, FileRecord, Location
from lookalike.core.removal.deletion import execute, plan_removal
from lookalike.core.engines.embedder import Embedder
from lookalike.core.hashing import full_hash, partial_hash
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.catalog.schema import JournalEntry
from lookalike.core.removal.undo import undo_last
from reliability_tools import LOOKALIKE, SAMPLES, NetworkBlocked, make_photos

MODES = ("quarantine", "trash", "permanent")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[tuple[Catalog, Path, Path, int]]:
    """A scanned-like root with a kept photo, and an outside folder of would-be victims."""
    root, outside = tmp_path / "Photos", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "keep.jpg").write_bytes(b"A" * 5000)
    for number in range(1, 6):
        (outside / f"victim{number}.jpg").write_bytes(b"A" * 5000)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        root_id = catalog.add_root(str(root))
        keep = catalog.store([_record(root / "keep.jpg", root_id)], "m")[0]
        yield catalog, root, outside, keep


def _record(path: Path | str, root_id: int, like: Path | None = None) -> FileRecord:
    """A catalog row for `path` with the size, mtime and hashes of `like` (the real file behind it),
    as a scan records them."""
    info = os.stat(like or path)
    return FileRecord(Location(str(path), info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, root_id),
                      width=10, height=10, format="JPEG", partial_hash=partial_hash(like or path),
                      full_hash=full_hash(like or path))


def test_deletion_refuses_rows_that_point_outside_the_roots(
    tmp_path: Path, scene: tuple[Catalog, Path, Path, int], record  # type: ignore[no-untyped-def]
) -> None:
    """Crafted catalog rows: '..' paths, a symlinked folder, a symlinked file, an outside path"""
    catalog, root, outside, keep = scene
    (root / "sub").mkdir()
    (root / "linked_folder").symlink_to(outside, target_is_directory=True)
    (root / "linked.jpg").symlink_to(outside / "victim3.jpg")
    crafted = {
        f"{root}/sub/../../outside/victim1.jpg": outside / "victim1.jpg",
        f"{root}/linked_folder/victim2.jpg": outside / "victim2.jpg",
        f"{root}/linked.jpg": outside / "victim3.jpg",
        str(outside / "victim4.jpg"): outside / "victim4.jpg",
        f"{root}/../outside/victim5.jpg": outside / "victim5.jpg",
    }
    root_id = catalog.roots()[0].id
    ids = catalog.store([_record(path, root_id, like) for path, like in crafted.items()], "m")
    before = _snapshot(outside)
    reasons: set[str] = set()
    for mode in MODES:
        quarantine = tmp_path / f"quarantine-{mode}"
        batch = execute(catalog, plan_removal(catalog, [([keep], ids)]), mode,  # type: ignore[arg-type]
                        quarantine_dir=quarantine, confirm_permanent=True)
        assert [e.state for e in batch.entries] == ["skipped"] * len(ids), batch.entries
        reasons |= {e.reason or "" for e in batch.entries}
        assert not quarantine.exists() or not any(quarantine.rglob("*"))
        assert _snapshot(outside) == before
        assert undo_last(catalog).restored == []
    record("security", "deletion of crafted rows pointing outside the roots, in each mode (" + ", ".join(MODES) + ")",
           len(crafted) * len(MODES), "all skipped: " + "; ".join(sorted(reasons)))


def test_quarantine_does_not_follow_a_symlink_planted_in_it(
    tmp_path: Path, scene: tuple[Catalog, Path, Path, int], record  # type: ignore[no-untyped-def]
) -> None:
    """A symlink planted inside the quarantine folder, pointing outside it"""
    catalog, root, outside, keep = scene
    (root / "trip").mkdir()
    (root / "trip" / "copy.jpg").write_bytes(b"A" * 5000)
    copy = catalog.store([_record(root / "trip" / "copy.jpg", catalog.roots()[0].id)], "m")[0]
    quarantine = tmp_path / "quarantine"
    quarantine.mkdir()
    (quarantine / root.name).symlink_to(outside, target_is_directory=True)
    before = sorted(outside.rglob("*"))
    batch = execute(catalog, plan_removal(catalog, [([keep], [copy])]), "quarantine", quarantine_dir=quarantine)
    assert sorted(outside.rglob("*")) == before, "a file or folder was created outside the quarantine folder"
    assert [(e.state, e.destination) for e in batch.entries] == [("skipped", None)]
    assert (root / "trip" / "copy.jpg").exists()
    record("security", "quarantine folder holding a planted symlink to another folder", 1,
           f"skipped: {batch.entries[0].reason}; nothing created through the link")


def _remove_copy(scene: tuple[Catalog, Path, Path, int], mode: str, quarantine: Path) -> int:
    """A real batch removing a copy of the scene's kept photo; returns its id."""
    catalog, root, _, keep = scene
    (root / "copy.jpg").write_bytes(b"A" * 5000)
    copy = catalog.store([_record(root / "copy.jpg", catalog.roots()[0].id)], "m")[0]
    batch = execute(catalog, plan_removal(catalog, [([keep], [copy])]), mode,  # type: ignore[arg-type]
                    quarantine_dir=quarantine)
    assert [e.state for e in batch.entries] == ["done"]
    assert batch.entries[0].destination, "undo needs to know where the copy went"
    return batch.batch_id


@pytest.fixture
def quarantined(tmp_path: Path, scene: tuple[Catalog, Path, Path, int]) -> tuple[Catalog, Path, Path, int]:
    """A real quarantine batch of one copy; returns the catalog, root, outside, batch id."""
    catalog, root, outside, _ = scene
    return catalog, root, outside, _remove_copy(scene, "quarantine", tmp_path / "quarantine")


def _tamper(catalog: Catalog, batch_id: int, **values: object) -> None:
    with catalog.session() as session:
        entry = session.scalars(select(JournalEntry).where(JournalEntry.batch_id == batch_id)).one()
        for name, value in values.items():
            setattr(entry, name, value)


@pytest.mark.parametrize(("mode", "hashed", "refusal"), [
    ("quarantine", False, "no content hash"),
    ("quarantine", True, "outside the batch's quarantine folder"),
    pytest.param("trash", True, "outside the system trash",
                 marks=pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="freedesktop trash only")),
])
def test_undo_refuses_a_journal_row_pointing_outside_the_quarantine(
    tmp_path: Path, scene: tuple[Catalog, Path, Path, int], mode: str, hashed: bool, refusal: str,
    record,  # type: ignore[no-untyped-def]
) -> None:
    """Undo of a crafted journal row whose removed copy is an outside file (with its hash or none)"""
    catalog, root, outside, _ = scene
    batch_id = _remove_copy(scene, mode, tmp_path / "quarantine")
    secret = outside / "secret.jpg"
    secret.write_bytes(b"S" * 10)
    _tamper(catalog, batch_id, destination=str(secret), content_hash=full_hash(secret) if hashed else None)
    undo = undo_last(catalog)
    assert secret.read_bytes() == b"S" * 10, "undo moved a file from outside the quarantine"
    assert not (root / "copy.jpg").exists()
    assert [e.state for e in undo.entries] == ["done"] and refusal in (undo.entries[0].reason or "")
    said = (undo.entries[0].reason or "").replace(f"{tmp_path}/", "")  # the report must not change run to run
    record("security", f"undo of a {mode} journal row naming an outside file, "
           f"{'with its hash' if hashed else 'without a hash'}", 1, f"refused: {said}")


@pytest.mark.parametrize(("where", "refusal"), [
    ("outside/planted.jpg", "outside the scanned folders"),
    ("Photos/linked/planted.jpg", "its path goes through a symbolic link"),
])
def test_undo_refuses_to_restore_outside_the_roots(
    tmp_path: Path, quarantined: tuple[Catalog, Path, Path, int], where: str, refusal: str,
    record,  # type: ignore[no-untyped-def]
) -> None:
    """Undo of a crafted journal row whose original path lies outside the roots"""
    catalog, root, outside, batch_id = quarantined
    (root / "linked").symlink_to(outside, target_is_directory=True)
    _tamper(catalog, batch_id, source=str(tmp_path / where))
    undo = undo_last(catalog)
    assert not (outside / "planted.jpg").exists(), "undo wrote a file outside the scanned folders"
    assert [e.state for e in undo.entries] == ["done"] and refusal in (undo.entries[0].reason or "")
    record("security", f"undo of a journal row whose original path is {where}", 1,
           f"refused: {undo.entries[0].reason}")


def test_exif_strings_are_only_metadata(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """EXIF text fields holding '../' paths and shell code"""
    root = tmp_path / "photos"
    root.mkdir()
    payloads = ["../../../../../../tmp/lookalike-pwned", "$(touch /tmp/lookalike-pwned)", "`id`; rm -rf ~",
                "..\\..\\Windows\\System32\\evil.dll", "/etc/passwd\x00.jpg"]
    for number, text in enumerate(payloads):
        (root / f"exif_{number}.jpg").write_bytes(hostile.exif_strings(text))
    before = _snapshot(tmp_path)
    with Catalog(tmp_path / "catalog" / "catalog.sqlite") as catalog:
        report = Scanner(catalog, embedder).run([root])
        rows = list(catalog.iter_files())
    assert report.errors == 0 and len(rows) == len(payloads)
    assert sorted(r.path for r in rows) == sorted(str(root / f"exif_{n}.jpg") for n in range(len(payloads)))
    assert all(r.taken_at is None for r in rows)
    cameras = {r.camera for r in rows}
    assert any(c and "../" in c for c in cameras)  # the text is kept, as text
    created = set(_snapshot(tmp_path)) - set(before)
    assert all(Path(p).is_relative_to(tmp_path / "catalog") for p in created), created
    assert not Path("/tmp/lookalike-pwned").exists()
    record("security", "EXIF Make/Model/DateTime/Description holding '../' paths, shell code, a NUL", len(payloads),
           "stored as camera text only; no file created outside the catalog folder; dates rejected")


# --- no network --------------------------------------------------------------------------


#: Every way out the guard must stop, each in a fresh process too.
_WAYS_OUT = {
    "connect": "socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(('127.0.0.1', 9))",
    "connect_ex": "socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect_ex(('127.0.0.1', 9))",
    "sendto": "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', 9))",
    "sendmsg": "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendmsg([b'x'], [], 0, ('127.0.0.1', 9))",
    "getaddrinfo": "socket.getaddrinfo('example.org', 80)",
    "gethostbyname": "socket.gethostbyname('example.org')",
    "create_connection": "socket.create_connection(('example.org', 80))",
}


def test_the_network_guard_blocks_connections(no_network: list[str], record) -> None:  # type: ignore[no-untyped-def]
    """Self-check of the suite's network guard"""
    for way, code in _WAYS_OUT.items():
        seen = len(no_network)
        with pytest.raises(NetworkBlocked):
            exec(code, {"socket": socket})  # noqa: S102 - our own fixed probes
        assert len(no_network) == seen + 1, way
        del no_network[seen:]  # our own probe, not the app's
        probe = subprocess.run([sys.executable, "-c", f"import socket; {code}"],
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode != 0 and "blocked during the reliability suite" in probe.stderr, way
        log = Path(os.environ["LOOKALIKE_NETGUARD_LOG"])
        log.write_text("".join(line + "\n" for line in log.read_text().splitlines()[:-1]))
    left, right = socket.socketpair()  # Unix sockets are local IPC: allowed
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
    record("security", "network guard self-check: " + ", ".join(_WAYS_OUT) + " (this process and a child each)",
           2 * len(_WAYS_OUT), "blocked and logged; Unix sockets still work")


def test_scan_duplicates_search_and_selftest_open_no_connection(
    tmp_path: Path, no_network: list[str], capsys: pytest.CaptureFixture[str], record  # type: ignore[no-untyped-def]
) -> None:
    """scan, duplicates, search and selftest with outgoing connections blocked"""
    photos = tmp_path / "photos"
    make_photos(photos, 6)
    catalog = str(tmp_path / "catalog.sqlite")
    verbs = [
        ("scan", str(photos), "--device", "cpu"),
        ("duplicates", "--json"),
        ("similar", "--json"),
        ("search", str(SAMPLES / "coffee.jpg"), "--device", "cpu", "--json"),
        ("selftest", "--no-gui", "--device", "cpu", "--json"),
    ]
    for verb in verbs:
        assert main(["--catalog", catalog, *verb]) == 0, f"{verb[0]}: {capsys.readouterr().err[-300:]}"
    capsys.readouterr()
    # The full self test, window included, in a child process (guarded by netguard/sitecustomize.py).
    child = subprocess.run([*LOOKALIKE, "selftest", "--device", "cpu"], capture_output=True,
                           text=True, timeout=240, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert child.returncode == 0, child.stdout[-500:] + child.stderr[-500:]
    assert no_network == []
    record("security", "no network: " + ", ".join(v[0] for v in verbs) + " in-process, full selftest (window) "
           "in a child; connections, datagrams and name lookups blocked and logged", len(verbs) + 1,
           "no network use attempted")
