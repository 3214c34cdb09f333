"""Deletion batches: what is removed, what is refused and why, and undo bringing it back."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.deletion import DeletionError, Plan, Removal, execute, plan_removal
from lookalike.core.hashing import full_hash
from lookalike.core.removal.journal import history
from lookalike.core.catalog.schema import File, Root
from lookalike.core.removal.undo import undo_batch, undo_last


def add_photos(catalog: Catalog, root: Path, contents: dict[str, bytes]) -> dict[str, int]:
    """Write files under `root`, record the root and the files as a scan would; ids by name."""
    root.mkdir(parents=True, exist_ok=True)
    ids: dict[str, int] = {}
    with catalog.session() as session:
        root_row = session.query(Root).filter_by(path=str(root)).one_or_none()
        if root_row is None:
            root_row = Root(path=str(root), added_at=time.time())
            session.add(root_row)
            session.flush()
        for name, data in contents.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            info = path.stat()
            row = File(
                root_id=root_row.id, path=str(path), size=info.st_size, mtime_ns=info.st_mtime_ns,
                full_hash=full_hash(path), width=100, height=100, format="JPEG",
            )  # fmt: skip
            session.add(row)
            session.flush()
            ids[name] = row.id
    return ids


@pytest.fixture
def catalog(catalog_location: Path | str) -> Iterator[Catalog]:
    with Catalog(catalog_location) as catalog:
        yield catalog


@pytest.fixture
def photos(catalog: Catalog, tmp_path: Path) -> dict[str, int]:
    return add_photos(
        catalog,
        tmp_path / "Photos",
        {"keep.jpg": b"A" * 5000, "trip/copy.jpg": b"A" * 5000, "trip/copy2.jpg": b"A" * 5000, "other.jpg": b"B" * 300},
    )


def status(catalog: Catalog, file_id: int) -> str:
    return catalog.files([file_id])[file_id].status


def path_of(catalog: Catalog, file_id: int) -> Path:
    return Path(catalog.files([file_id])[file_id].path)


def test_plan_lists_removed_kept_reasons_and_bytes(catalog: Catalog, photos: dict[str, int]) -> None:
    keep, copy, copy2 = photos["keep.jpg"], photos["trip/copy.jpg"], photos["trip/copy2.jpg"]
    plan = plan_removal(catalog, [([keep], [copy, copy2])], {keep: "shortest path", copy: "duplicate of keep.jpg"})
    assert [(r.file_id, r.reason, r.keepers) for r in plan.removals] == [
        (copy, "duplicate of keep.jpg", (keep,)),
        (copy2, "chosen for removal", (keep,)),
    ]
    assert [(k.file_id, k.reason) for k in plan.kept] == [(keep, "shortest path")]
    assert plan.bytes_freed == 10_000


def test_plan_refuses_groups_without_keeper_or_with_conflicts(catalog: Catalog, photos: dict[str, int]) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    with pytest.raises(ValueError, match="keeps no file"):
        plan_removal(catalog, [([], [keep, copy])])
    with pytest.raises(ValueError, match="removes a file that is kept"):
        plan_removal(catalog, [([keep], [copy]), ([copy], [photos["other.jpg"]])])
    with pytest.raises(ValueError, match="not in the catalog"):
        plan_removal(catalog, [([keep], [999])])


def test_quarantine_and_undo_restore_identical_files(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    keep, copy, copy2 = photos["keep.jpg"], photos["trip/copy.jpg"], photos["trip/copy2.jpg"]
    sources = {i: path_of(catalog, i) for i in (copy, copy2)}
    hashes = {i: full_hash(p) for i, p in sources.items()}
    quarantine = tmp_path / "Quarantine"
    report = execute(catalog, plan_removal(catalog, [([keep], [copy, copy2])]), "quarantine", quarantine)

    assert [e.state for e in report.entries] == ["done", "done"]
    assert report.bytes_freed == 10_000
    assert Path(report.done[0].destination) == quarantine / "Photos" / "trip" / "copy.jpg"
    assert not any(p.exists() for p in sources.values())
    assert status(catalog, copy) == "deleted" and status(catalog, keep) == "ok"

    undo = undo_last(catalog)
    assert len(undo.restored) == 2 and not undo.not_restored
    assert {i: full_hash(p) for i, p in sources.items()} == hashes
    assert status(catalog, copy) == "ok"
    assert list(quarantine.iterdir()) == []  # emptied folders pruned, the quarantine itself kept
    assert undo_last(catalog).message == "nothing to undo"


def test_quarantine_name_collisions_never_overwrite(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    quarantine = tmp_path / "Quarantine"
    occupied = quarantine / "Photos" / "trip" / "copy.jpg"
    occupied.parent.mkdir(parents=True)
    occupied.write_bytes(b"someone else's file")
    report = execute(
        catalog, plan_removal(catalog, [([photos["keep.jpg"]], [photos["trip/copy.jpg"]])]), "quarantine", quarantine
    )
    assert Path(report.done[0].destination).name == "copy (1).jpg"
    assert occupied.read_bytes() == b"someone else's file"


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="freedesktop trash only")
def test_trash_and_undo_on_freedesktop(
    catalog: Catalog, photos: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    source = path_of(catalog, copy)
    digest = full_hash(source)
    report = execute(catalog, plan_removal(catalog, [([keep], [copy])]), "trash")

    trashed = Path(report.done[0].destination)
    assert not source.exists() and full_hash(trashed) == digest
    assert trashed.parent.name == "files" and trashed.is_relative_to(tmp_path_factory.getbasetemp())
    info = trashed.parent.parent / "info" / f"{trashed.name}.trashinfo"
    assert info.exists()

    undo = undo_last(catalog)
    assert [e.state for e in undo.entries] == ["restored"]
    assert full_hash(source) == digest
    assert not trashed.exists() and not info.exists()


def test_changed_files_are_skipped(catalog: Catalog, photos: dict[str, int]) -> None:
    keep, copy, copy2 = photos["keep.jpg"], photos["trip/copy.jpg"], photos["trip/copy2.jpg"]
    path_of(catalog, copy).write_bytes(b"edited after the scan")
    # Same size and mtime as scanned, other bytes: only the hash can tell.
    edited = path_of(catalog, copy2)
    before = edited.stat()
    edited.write_bytes(b"Z" * 5000)
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))

    report = execute(catalog, plan_removal(catalog, [([keep], [copy, copy2])]), "quarantine", "Q-unused")
    assert [(e.state, e.reason) for e in report.entries] == [
        ("skipped", "file changed since it was scanned (size or modification time differ)"),
        ("skipped", "file content changed since it was scanned"),
    ]
    assert edited.read_bytes() == b"Z" * 5000
    assert status(catalog, copy) == "ok"


def test_the_last_copy_of_a_group_is_never_removed(catalog: Catalog, photos: dict[str, int]) -> None:
    keep, copy, copy2 = photos["keep.jpg"], photos["trip/copy.jpg"], photos["trip/copy2.jpg"]
    # A hand-made plan whose "kept" copy is in the removal set as well.
    looping = Plan(
        (Removal(copy, "", 5000, "", (copy2,)), Removal(copy2, "", 5000, "", (copy,))), kept=()
    )
    report = execute(catalog, looping, "permanent", confirm_permanent=True)
    assert {e.state for e in report.entries} == {"skipped"}
    assert "the kept copy is itself being removed" in report.entries[0].reason

    path_of(catalog, keep).unlink()  # the keeper vanished after the scan
    report = execute(catalog, plan_removal(catalog, [([keep], [copy, copy2])]), "permanent", confirm_permanent=True)
    assert {e.reason for e in report.entries} == {
        "no kept copy of its group would remain (the kept copy is missing from disk)"
    }
    assert path_of(catalog, copy).exists() and path_of(catalog, copy2).exists()


def test_hard_link_keeper_does_not_count_as_a_copy(catalog: Catalog, photos: dict[str, int]) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    path_of(catalog, copy).unlink()
    os.link(path_of(catalog, keep), path_of(catalog, copy))
    with catalog.session() as session:
        session.get(File, copy).mtime_ns = path_of(catalog, keep).stat().st_mtime_ns
    report = execute(catalog, plan_removal(catalog, [([keep], [copy])]), "permanent", confirm_permanent=True)
    assert report.entries[0].reason == "no kept copy of its group would remain (the kept copy is the same file, linked)"


def test_paths_outside_roots_and_symlinks_are_refused(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    keep = photos["keep.jpg"]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(b"A" * 5000)
    (tmp_path / "Photos" / "linked.jpg").symlink_to(outside / "x.jpg")
    (tmp_path / "Photos" / "linkdir").symlink_to(outside, target_is_directory=True)
    with catalog.session() as session:
        rows = [
            File(path=str(p), size=5000, mtime_ns=os.stat(p).st_mtime_ns)
            for p in (outside / "x.jpg", tmp_path / "Photos" / "linked.jpg", tmp_path / "Photos" / "linkdir" / "x.jpg")
        ]
        session.add_all(rows)
        session.flush()
        ids = [r.id for r in rows]
    report = execute(catalog, plan_removal(catalog, [([keep], ids)]), "permanent", confirm_permanent=True)
    assert [e.reason for e in report.entries] == [
        "outside the scanned folders",
        "is a symbolic link; only real files are removed",
        "its path goes through a symbolic link",
    ]
    assert (outside / "x.jpg").exists()


def test_permanent_needs_confirmation_and_cannot_be_undone(catalog: Catalog, photos: dict[str, int]) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    plan = plan_removal(catalog, [([keep], [copy])])
    with pytest.raises(DeletionError, match="must be confirmed"):
        execute(catalog, plan, "permanent")
    assert path_of(catalog, copy).exists()
    report = execute(catalog, plan, "permanent", confirm_permanent=True)
    assert report.done and not path_of(catalog, copy).exists()
    undo = undo_last(catalog)
    assert "cannot be undone" in undo.message and not undo.restored
    assert history(catalog)[0].status == "done"


def test_undo_never_overwrites_and_can_be_retried(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    source = path_of(catalog, copy)
    report = execute(catalog, plan_removal(catalog, [([keep], [copy])]), "quarantine", tmp_path / "Q")
    source.write_bytes(b"a new file at the old path")
    undo = undo_last(catalog)
    assert undo.not_restored[0].reason.startswith("a file already exists at the original path")
    assert source.read_bytes() == b"a new file at the old path"
    assert Path(report.done[0].destination).exists()

    source.unlink()
    assert [e.state for e in undo_batch(catalog, report.batch_id).entries] == ["restored"]
    assert source.read_bytes() == b"A" * 5000


def test_history_counts_states_and_bytes(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    keep, copy, copy2 = photos["keep.jpg"], photos["trip/copy.jpg"], photos["trip/copy2.jpg"]
    path_of(catalog, copy2).unlink()
    first = execute(catalog, plan_removal(catalog, [([keep], [copy, copy2])]), "quarantine", tmp_path / "Q")
    second = execute(
        catalog, plan_removal(catalog, [([keep], [photos["other.jpg"]])]), "permanent", confirm_permanent=True
    )
    undo_batch(catalog, first.batch_id)
    rows = history(catalog)
    assert [(b.id, b.mode, b.status) for b in rows] == [
        (second.batch_id, "permanent", "done"),
        (first.batch_id, "quarantine", "undone"),
    ]
    assert rows[0].counts == {"done": 1} and rows[0].bytes_removed == 300
    assert rows[1].counts == {"restored": 1, "skipped": 1} and rows[1].bytes_removed == 0


@pytest.fixture
def other_filesystem() -> Iterator[Path]:
    """A folder on another filesystem (tmpfs), so moves must copy."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == Path(__file__).stat().st_dev or not os.access(shm, os.W_OK):
        pytest.skip("no second writable filesystem")
    folder = shm / f"lookalike-test-{uuid.uuid4().hex}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


def test_quarantine_on_another_filesystem_copies_verifies_and_undoes(
    catalog: Catalog, photos: dict[str, int], other_filesystem: Path, tmp_path: Path
) -> None:
    if (tmp_path.stat().st_dev) == other_filesystem.stat().st_dev:
        pytest.skip("tmp is on the same filesystem")
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    source = path_of(catalog, copy)
    mtime = source.stat().st_mtime_ns
    report = execute(catalog, plan_removal(catalog, [([keep], [copy])]), "quarantine", other_filesystem)
    moved = Path(report.done[0].destination)
    assert not source.exists() and moved.read_bytes() == b"A" * 5000
    assert moved.stat().st_mtime_ns == mtime
    assert not list(other_filesystem.rglob("*.lookalike-part"))
    undo_last(catalog)
    assert source.read_bytes() == b"A" * 5000 and source.stat().st_mtime_ns == mtime


def test_undo_leaves_a_changed_quarantined_copy(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    report = execute(catalog, plan_removal(catalog, [([keep], [copy])]), "quarantine", tmp_path / "Q")
    held = Path(report.done[0].destination)
    held.write_bytes(b"tampered")
    undo = undo_last(catalog)
    assert undo.not_restored[0].reason == f"the copy at {held} was changed; it was left there"
    assert not path_of(catalog, copy).exists() and held.read_bytes() == b"tampered"


def test_progress_and_cancel_between_files(catalog: Catalog, photos: dict[str, int], tmp_path: Path) -> None:
    keep, copy, copy2 = photos["keep.jpg"], photos["trip/copy.jpg"], photos["trip/copy2.jpg"]
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()

    report = execute(
        catalog, plan_removal(catalog, [([keep], [copy, copy2])]), "quarantine", tmp_path / "Q", progress=progress,
        cancel=cancel,
    )  # fmt: skip
    assert seen == [(1, 2)] and len(report.entries) == 1
    assert path_of(catalog, copy2).exists()


@contextmanager
def scan_running(catalog: Catalog) -> Iterator[None]:
    """Hold the catalog's scan lock from another thread for the block, as the app's scan worker does."""
    taken, finish = threading.Event(), threading.Event()

    def scan() -> None:
        with catalog.scan_lock():
            taken.set()
            finish.wait()

    worker = threading.Thread(target=scan)
    worker.start()
    try:
        assert taken.wait(10), "the scan lock was not taken"
        yield
    finally:
        finish.set()
        worker.join()


def test_deletion_and_undo_refuse_to_run_during_a_scan(
    catalog: Catalog, photos: dict[str, int], tmp_path: Path
) -> None:
    keep, copy = photos["keep.jpg"], photos["trip/copy.jpg"]
    plan = plan_removal(catalog, [([keep], [copy])])
    busy = "a scan is running on this catalog; try again when it finishes"
    with scan_running(catalog), pytest.raises(DeletionError, match=busy):
        execute(catalog, plan, "quarantine", tmp_path / "Q")
    assert path_of(catalog, copy).exists() and history(catalog) == []

    assert execute(catalog, plan, "quarantine", tmp_path / "Q").done
    with scan_running(catalog), pytest.raises(DeletionError, match=busy):
        undo_last(catalog)
    assert not path_of(catalog, copy).exists()
    assert undo_last(catalog).restored and path_of(catalog, copy).exists()
