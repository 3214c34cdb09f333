"""A full disk under the catalog or the output: one clear line, no temporary file, nothing
half-written, and a catalog and index that work again once there is space.

The catalog lives on a small tmpfs mounted by the test (root and CAP_SYS_ADMIN
needed; skipped with the reason elsewhere); the photos live on the normal disk.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.manifest import default_manifest_path, load_manifest
from reliability_tools import cli, integrity, make_photos, run_cli, scan_command

PHOTOS = 120
IDENTICAL = 3


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 400 KiB tmpfs: room for a catalog's start, not for 120 photos' vectors."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _grow(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(mount_point)], check=True)


def _fill(folder: Path, spare: int = 0) -> Path:
    """Write a file until the disk under `folder` is full, then give `spare` bytes back; returns
    the file (delete it to free the space)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(bytes(64 * 1024))
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass
        handle.truncate(max(0, handle.tell() - spare))
    return filler


def _library(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    made = make_photos(photos, PHOTOS)
    for number, original in enumerate(made[:IDENTICAL]):
        shutil.copyfile(original, photos / f"copy_{number}.jpg")
    return photos


def _one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    errors = [line for line in done.stderr.splitlines() if not line.startswith(("lookalike: model", "lookalike: walking",
              "lookalike: embedding", "lookalike: finishing"))]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(errors) == 1, done.stderr
    return errors[0]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_scan_on_a_full_disk_fails_in_one_line_and_recovers(tmp_path: Path, small_disk: Path, record) -> None:  # type: ignore[no-untyped-def]
    """A first scan whose catalog fills its disk, then the same scan once there is space"""
    photos = _library(tmp_path)
    catalog_path = small_disk / "catalog.sqlite"
    failed = subprocess.run(scan_command(catalog_path, photos), capture_output=True, text=True, timeout=300)
    line = _one_line_failure(failed)
    assert line.startswith("lookalike: cannot ") and ("disk is full" in line or "no space left" in line), line
    assert _leftovers(small_disk) == []
    assert integrity(catalog_path) == "ok"

    _grow(small_disk)
    again = subprocess.run(scan_command(catalog_path, photos), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with Catalog(catalog_path) as catalog:
        assert catalog.status_counts()["ok"] == PHOTOS + IDENTICAL
    assert _index_file(catalog_path).is_file()
    listed = json.loads(run_cli(catalog_path, "duplicates", "--json").stdout)
    together = [{Path(f["path"]).name for f in g["files"]} for g in listed["groups"]]
    for number, original in enumerate(sorted(photos.glob("photo_*"))[:IDENTICAL]):  # each byte copy with its original
        assert any({original.name, f"copy_{number}.jpg"} <= group for group in together)
    assert _leftovers(small_disk) == []
    record("full disk", "first scan of 123 photos with the catalog on a 400 KiB tmpfs, then the disk grown and the "
           "scan run again", 2, f"exit 1 with one line (cannot write the catalog ...: {line.rsplit('.sqlite: ', 1)[-1][:40]}...), "
           "no traceback, "
           "no temporary file, integrity ok; the rescan catalogued every photo, saved the index and found the "
           f"{IDENTICAL} identical groups")


def test_index_save_on_a_full_disk_and_a_rescan_rebuilds_it(tmp_path: Path, small_disk: Path, record) -> None:  # type: ignore[no-untyped-def]
    """The vector index cannot be saved (disk full); an unchanged rescan with space saves it"""
    photos = _library(tmp_path)
    _grow(small_disk)
    catalog_path = small_disk / "catalog.sqlite"
    assert subprocess.run(scan_command(catalog_path, photos), capture_output=True, timeout=300).returncode == 0
    index = _index_file(catalog_path)
    for saved in small_disk.glob("catalog.*.usearch*"):
        saved.unlink()  # lost, as a failed save or a person's cleanup would leave it
    filler = _fill(small_disk, spare=256 * 1024)  # room for the catalog's WAL (64 KB pages), not for the index
    failed = subprocess.run(scan_command(catalog_path, photos), capture_output=True, text=True, timeout=300)
    line = _one_line_failure(failed)
    assert "cannot save" in line and "no space left on device" in line, line
    assert _leftovers(small_disk) == [] and not index.exists()

    filler.unlink()
    again = subprocess.run(scan_command(catalog_path, photos), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout)["unchanged"] == PHOTOS + IDENTICAL, again.stderr
    assert index.is_file() and Path(f"{index}.state.npz").is_file() and _leftovers(small_disk) == []
    record("full disk", "vector index lost, then an unchanged rescan on a full disk, then again with space", 2,
           "exit 1 with one line (cannot save ...usearch beside the catalog (no space left on device); the catalog "
           "is intact...), no temporary file; the next unchanged rescan rebuilt and saved the index")


def test_export_to_a_full_device_is_one_line(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """`lookalike export --format csv > /dev/full`"""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path):
        pass
    for form in ("csv", "json"):
        with open("/dev/full", "w") as full:
            done = subprocess.run(cli(catalog_path, "export", "--format", form), stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=120)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr == "lookalike: cannot write the output: no space left on device\n"
    record("full disk", "`export --format csv|json > /dev/full`", 2,
           "exit 1, one line: 'cannot write the output: no space left on device'")


def _index_file(catalog_path: Path) -> Path:
    """Where the shipped model's vector index of this catalog is saved."""
    with Catalog(catalog_path) as catalog:
        return catalog.index_path(load_manifest(default_manifest_path()).model_id)
