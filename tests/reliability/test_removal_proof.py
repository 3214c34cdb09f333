"""A copy goes only while its group's kept copy is provably the picture that was matched.

Real scans of real photos (the shipped model), real catalogs, the CLI's `dedupe
--apply` and core's `execute` in every mode: a keeper replaced by another photo
before or while the batch runs, and files edited in place then given back their
size and mtime, must stop the removal of their group.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.deletion import MODES, execute, plan_from_review, plan_removal
from lookalike.core.engines.embedder import Embedder
from lookalike.core.hashing import full_hash
from lookalike.core.review.tiers import picture_groups
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.paths import resources_dir

ORIGINALS = ("astronaut", "chelsea", "coffee", "rocket")


def _library(tmp_path: Path, embedder: Embedder) -> tuple[Path, Path, Path]:
    """Photos/ with each sample photo and a smaller re-encoded copy, scanned: (catalog, photos, a stranger).

    The stranger is a photo outside the library that replaces keepers.
    """
    photos = tmp_path / "Photos"
    (photos / "copies").mkdir(parents=True)
    for name in ORIGINALS:
        with Image.open(resources_dir() / "samples" / f"{name}.jpg") as image:
            image.save(photos / f"{name}.jpg", quality=95)
            image.resize((image.width * 3 // 5, image.height * 3 // 5)).save(photos / "copies" / f"{name}.jpg", quality=80)
    stranger = tmp_path / "stranger.jpg"
    shutil.copyfile(resources_dir() / "samples" / "hubble_deep_field.jpg", stranger)
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder, workers=1).run([photos])
    return catalog_path, photos, stranger


def _mode_args(mode: str, tmp_path: Path) -> list[str]:
    if mode == "quarantine":
        return ["--mode", f"quarantine:{tmp_path / 'Quarantine'}"]
    return ["--mode", mode, *(["--yes-permanently"] if mode == "permanent" else [])]


def _plan_groups(catalog_path: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, list[str]]]:
    """(kept path, removed paths) of each group `dedupe` plans."""
    capsys.readouterr()
    assert main(["--catalog", str(catalog_path), "dedupe", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    return [(g["keep"][0]["path"], [m["path"] for m in g["remove"]]) for g in groups]


def _replace_keeping_stamp(path: Path, data: bytes) -> None:
    """Write other bytes of the same length and give the file back its mtime (os.utime)."""
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("mode", MODES)
def test_keeper_replaced_before_apply_keeps_its_group(
    mode: str, tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str], record  # type: ignore[no-untyped-def]
) -> None:
    """`cp other.jpg kept.jpg` after the scan, then `dedupe --apply`: nothing of that group goes."""
    catalog_path, _, stranger = _library(tmp_path, embedder)
    groups = _plan_groups(catalog_path, capsys)
    assert len(groups) == len(ORIGINALS)
    replaced_keeper, its_copies = groups[0]
    shutil.copyfile(stranger, replaced_keeper)

    code = main(["--catalog", str(catalog_path), "dedupe", "--apply", *_mode_args(mode, tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    states = {f["source"]: (f["state"], f["reason"]) for f in report["files"]}
    for copy in its_copies:
        assert Path(copy).is_file()
        assert states[copy][0] == "skipped"
        assert "no longer the picture that was matched" in states[copy][1]
    others = [copy for _, copies in groups[1:] for copy in copies]
    assert all(states[c][0] == "done" and not Path(c).exists() for c in others)  # the batch did run
    record("removal proof", f"a group's kept copy replaced by another photo after the scan, then "
           f"`dedupe --apply --mode {mode}`", 1, "the group's copies skipped ('the kept copy is no longer the "
           "picture that was matched'); the other groups' copies removed")


@pytest.mark.parametrize("mode", MODES)
def test_keeper_replaced_while_the_batch_runs_keeps_its_group(mode: str, tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """Another thread overwrites a later group's keeper after the batch's first file."""
    catalog_path, _, stranger = _library(tmp_path, embedder)
    with Catalog(catalog_path) as catalog:
        plan = plan_from_review(catalog, picture_groups(catalog, embedder.model_id))
        last = plan.removals[-1]
        keeper = Path(catalog.files(list(last.keepers))[last.keepers[0]].path)
        started, replaced = threading.Event(), threading.Event()

        def replace_keeper() -> None:
            started.wait(30)
            shutil.copyfile(stranger, keeper)
            replaced.set()

        intruder = threading.Thread(target=replace_keeper)
        intruder.start()

        def progress(done: int, total: int) -> None:
            if done == 1:
                started.set()
                assert replaced.wait(30)

        report = execute(
            catalog, plan, mode, tmp_path / "Quarantine", confirm_permanent=True, progress=progress  # type: ignore[arg-type]
        )
        intruder.join()
    states = {e.source: e for e in report.entries}
    assert states[plan.removals[0].path].state == "done"
    group = [r.path for r in plan.removals if r.keepers == last.keepers]
    assert all(states[p].state == "skipped" and Path(p).is_file() for p in group)
    assert "no longer the picture that was matched" in states[last.path].reason
    record("removal proof", f"a later group's kept copy overwritten by another thread while a {mode} batch runs",
           1, "that group's copies skipped, nothing of it removed; the earlier groups removed")


@pytest.mark.parametrize("mode", MODES)
def test_same_size_and_mtime_edits_are_caught(mode: str, tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """A copy and a keeper (sizes shared with no other file) edited in place, mtime put back."""
    catalog_path, photos, _ = _library(tmp_path, embedder)
    with Catalog(catalog_path) as catalog:
        ids = {f.path: f.id for f in catalog.iter_files()}
        assert all(f.full_hash == full_hash(f.path) for f in catalog.iter_files())  # recorded by the scan
        pair = {name: (ids[str(photos / f"{name}.jpg")], ids[str(photos / "copies" / f"{name}.jpg")]) for name in ORIGINALS}
        edited_copy = photos / "copies" / "astronaut.jpg"
        _replace_keeping_stamp(edited_copy, bytes(edited_copy.stat().st_size))
        edited_keeper = photos / "chelsea.jpg"
        _replace_keeping_stamp(edited_keeper, bytes(edited_keeper.stat().st_size))
        plan = plan_removal(catalog, [([keep], [copy]) for keep, copy in pair.values()])
        report = execute(catalog, plan, mode, tmp_path / "Quarantine", confirm_permanent=True)  # type: ignore[arg-type]
    outcome = {e.source: (e.state, e.reason) for e in report.entries}
    assert outcome[str(edited_copy)] == ("skipped", "file content changed since it was scanned")
    kept_copy = str(photos / "copies" / "chelsea.jpg")
    assert outcome[kept_copy][0] == "skipped" and "content changed since it was scanned" in outcome[kept_copy][1]
    assert Path(kept_copy).is_file() and edited_copy.is_file()
    assert {outcome[str(photos / "copies" / f"{n}.jpg")][0] for n in ("coffee", "rocket")} == {"done"}
    record("removal proof", f"a copy and a kept copy (sizes shared by no other file) rewritten with other bytes, "
           f"size and mtime put back (os.utime), then a {mode} batch", 2,
           "both groups skipped: the scan's full hash differs ('content changed since it was scanned')")
