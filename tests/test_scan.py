"""The scan pipeline on real photos, a real catalog and the real model.

The `samples` tests run in any clone; the `devset` ones need ../shared.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from lookalike.core.catalog import blobs
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.hashing import full_hash, partial_hash
from lookalike.core.matching.identical import find_identical
from lookalike.core.matching.graph import KnnGraph, graph_path, graph_token
from lookalike.core.engines.index import VectorIndex, catalog_state, open_index, saved_state
from lookalike.core.engines.manifest import ModelManifest, load_manifest
from lookalike.core.paths import resources_dir, thumbnail_dir
from lookalike.core.scan.pipeline import Scanner, ScanProgress
from lookalike.core.catalog.schema import Embedding, File

from generated_photos import small_jpegs

SAMPLE_COUNT = 10
SAMPLES = resources_dir() / "samples"


@pytest.fixture
def catalog(catalog_location: Path | str):
    with Catalog(catalog_location) as opened:
        yield opened


def _rows(catalog: Catalog) -> dict[str, File]:
    with catalog.session() as session:
        return {f.path: f for f in session.scalars(select(File))}


def _vectors(catalog: Catalog, model_id: str) -> dict[int, bytes]:
    with catalog.session() as session:
        stmt = select(Embedding.file_id, Embedding.vector).where(Embedding.model_id == model_id)
        return dict(session.execute(stmt).all())


def test_first_scan_stores_every_sample_with_a_unit_vector(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    seen: list[ScanProgress] = []
    report = Scanner(catalog, embedder).run([samples], progress=seen.append)

    assert (report.new, report.errors, report.embedded, report.cancelled) == (SAMPLE_COUNT, 0, SAMPLE_COUNT, False)
    assert report.provider == "CPUExecutionProvider"
    ids, vectors = catalog.vectors(embedder.model_id)
    assert len(ids) == SAMPLE_COUNT and vectors.shape == (SAMPLE_COUNT, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)
    rows = _rows(catalog)
    assert set(rows) == {str(p) for p in samples.rglob("*.jpg")} | {str(p) for p in samples.rglob("*.png")}
    assert all(r.status == "ok" and r.width and r.height and r.root_id for r in rows.values())
    assert [p.phase for p in seen][0] == "walking" and seen[-1].phase == "finishing"
    assert seen[-1].files_done == seen[-1].files_total == SAMPLE_COUNT
    assert catalog.roots()[0].last_scan_at is not None


def test_a_finished_scan_leaves_the_index_up_to_date(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    model = embedder.model_id
    Scanner(catalog, embedder).run([samples])
    path = catalog.index_path(model)
    token, _ = saved_state(path)
    assert token == catalog_state(catalog, model).token
    (samples / "coffee.jpg").unlink()
    Scanner(catalog, embedder).run([samples])
    assert saved_state(path)[0] == catalog_state(catalog, model).token
    assert VectorIndex.load(path, embedder.dim).keys().tolist() == catalog.vectors(model)[0].tolist()


def test_a_finished_scan_leaves_the_graph_up_to_date(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    """The first grouping after a scan reads the saved graph, updated by the scan for its
    new files, with the edges a full build finds."""
    model = embedder.model_id
    Scanner(catalog, embedder).run([samples])
    assert KnnGraph.load(graph_path(catalog, model)).token == graph_token(catalog, model)
    shutil.copyfile(samples / "chelsea.jpg", samples / "chelsea again.jpg")
    Scanner(catalog, embedder).run([samples])
    saved = KnnGraph.load(graph_path(catalog, model))
    assert saved.token == graph_token(catalog, model)
    assert saved.ids.tolist() == catalog.vectors(model)[0].tolist()
    rebuilt = KnnGraph.build(open_index(catalog, model, embedder.dim))
    assert set(zip(*map(np.ndarray.tolist, saved.edges_above(0.5)[:2]))) == set(
        zip(*map(np.ndarray.tolist, rebuilt.edges_above(0.5)[:2]))
    )
    copies = saved.edges_above(0.99)
    assert len(copies[0]) >= 1 and saved.proof is not None  # the new copy found its original


def test_rescan_does_not_reopen_unchanged_files(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    scanner = Scanner(catalog, embedder)
    scanner.run([samples])
    # Ruin a file's bytes but keep its size and mtime: a rescan that opened it would fail.
    victim = samples / "chelsea.jpg"
    info = victim.stat()
    victim.write_bytes(b"\0" * info.st_size)
    os.utime(victim, ns=(info.st_atime_ns, info.st_mtime_ns))
    victim.chmod(0)

    report = scanner.run([samples])

    assert (report.unchanged, report.new, report.changed, report.embedded, report.errors) == (SAMPLE_COUNT, 0, 0, 0, 0)
    assert _rows(catalog)[str(victim)].status == "ok"


def test_modified_moved_and_deleted_files(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    scanner = Scanner(catalog, embedder)
    scanner.run([samples])
    find_identical(catalog)  # hashes the astronaut and its copy in full: its content is on record
    assert all(row.full_hash == full_hash(path) for path, row in _rows(catalog).items())  # the scan hashed every file
    with catalog.session() as session:  # as a catalog written before scans hashed files would be
        session.execute(update(File).where(File.path == str(samples / "chelsea.jpg")).values(full_hash=None))
    before = _rows(catalog)
    vectors_before = _vectors(catalog, embedder.model_id)

    modified = samples / "coffee.jpg"
    with Image.open(modified) as image:
        image.rotate(90, expand=True).save(modified, quality=70)
    archive = samples / "archive" / "2024"
    archive.mkdir(parents=True)
    renamed = (samples / "rocket.jpg", archive / "rocket.jpg")  # same inode and mtime: proven
    renamed[0].rename(renamed[1])
    hashed = (samples / "astronaut.jpg", archive / "astronaut.jpg")  # a copy, proven by its full hash
    copied = (samples / "chelsea.jpg", archive / "chelsea.jpg")  # a copy, nothing to prove it by
    for source, target in (hashed, copied):
        shutil.copy(source, target)  # a copy then delete: new inode and mtime, same bytes
        source.unlink()
    deleted = samples / "hubble_deep_field.jpg"
    deleted.unlink()

    report = scanner.run([samples])

    assert (report.changed, report.moved, report.missing, report.new) == (1, 3, 1, 0)
    assert report.unchanged == SAMPLE_COUNT - 5
    assert report.embedded == 2  # the modified file, and the copy whose bytes were not proven
    after = _rows(catalog)
    vectors_after = _vectors(catalog, embedder.model_id)
    for source, target in (renamed, hashed, copied):
        assert str(source) not in after
        assert after[str(target)].id == before[str(source)].id and after[str(target)].status == "ok"
    for source, target in (renamed, hashed):
        assert vectors_after[after[str(target)].id] == vectors_before[before[str(source)].id]
    again, first = blobs.unpack_vectors([vectors_after[after[str(copied[1])].id], vectors_before[before[str(copied[0])].id]])
    assert np.allclose(again, first, atol=1e-2)
    assert after[str(modified)].id == before[str(modified)].id
    assert vectors_after[after[str(modified)].id] != vectors_before[before[str(modified)].id]
    assert after[str(deleted)].status == "missing"
    assert before[str(deleted)].id not in catalog.vectors(embedder.model_id)[0]


def _pictures_with_the_same_ends(first: Path, other: Path) -> None:
    """Two BMPs of one size whose first and last 64 KiB are equal but whose middles differ.

    BMP rows are stored uncompressed, so the middle rows are the middle bytes.
    """
    with Image.open(SAMPLES / "astronaut.jpg") as image, Image.open(SAMPLES / "coffee.jpg") as patch:
        picture = image.convert("RGB").resize((320, 320))
        picture.save(first)
        picture.paste(patch.convert("RGB").resize((320, 80)), (0, 120))
        picture.save(other)
    assert first.stat().st_size == other.stat().st_size and partial_hash(first) == partial_hash(other)
    assert full_hash(first) != full_hash(other)


@pytest.mark.parametrize("hash_on_record", [False, True], ids=["unknown-hash", "known-hash"])
def test_same_size_and_ends_but_another_middle_is_read_again(
    tmp_path: Path, catalog: Catalog, embedder: Embedder, hash_on_record: bool
) -> None:
    """A vanished photo and a new one alike in size, head and tail: the old vector is not reused."""
    root = tmp_path / "photos"
    root.mkdir()
    first, other = root / "a.bmp", tmp_path / "b.bmp"
    _pictures_with_the_same_ends(first, other)
    scanner = Scanner(catalog, embedder)
    scanner.run([root])
    old = _rows(catalog)[str(first)]
    if not hash_on_record:  # a catalog written before scans hashed every file
        with catalog.session() as session:
            session.execute(update(File).where(File.id == old.id).values(full_hash=None))
    old_vector = _vectors(catalog, embedder.model_id)[old.id]
    first.unlink()
    target = root / "moved" / "a.bmp"
    target.parent.mkdir()
    shutil.copyfile(other, target)

    report = scanner.run([root])

    assert (report.embedded, report.missing, report.new) == (1, 0, 0)
    row = _rows(catalog)[str(target)]
    assert row.id == old.id and row.full_hash == full_hash(target)  # the row follows the path, read afresh
    assert _vectors(catalog, embedder.model_id)[row.id] != old_vector
    assert str(first) not in _rows(catalog)


def test_a_file_read_before_shot_measures_existed_is_read_again_once(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    """Schema 2 catalogs have no shot measures nor capture times, which the best-shot rule
    and the proof's capture-time rule need: the next scan reads such files once more."""
    scanner = Scanner(catalog, embedder)
    scanner.run([samples])
    old = str(samples / "chelsea.jpg")
    with catalog.session() as session:
        session.execute(update(File).where(File.path == old).values(sharpness=None, highlights=None, shadows=None, brightness=None))

    report = scanner.run([samples])

    assert (report.unchanged, report.embedded) == (SAMPLE_COUNT - 1, 1)
    assert _rows(catalog)[old].sharpness is not None
    assert scanner.run([samples]).embedded == 0  # once


def test_a_fixed_error_file_is_read_again(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    broken = samples / "broken.jpg"
    broken.write_bytes(b"not a photo at all")
    scanner = Scanner(catalog, embedder)
    first = scanner.run([samples])
    assert first.errors == 1
    assert catalog.errors() == [(str(broken), "not an image, or a format Lookalike cannot read")]
    assert scanner.run([samples]).errors == 1  # unchanged: not retried, still reported

    shutil.copy(samples / "chelsea.jpg", broken)
    report = scanner.run([samples])

    assert (report.changed, report.errors, report.embedded) == (1, 0, 1)
    assert catalog.errors() == []
    assert _rows(catalog)[str(broken)].status == "ok"


def test_offline_root_keeps_its_files(samples: Path, catalog: Catalog, embedder: Embedder, tmp_path: Path) -> None:
    scanner = Scanner(catalog, embedder)
    scanner.run([samples])
    unplugged = tmp_path / "elsewhere"
    samples.rename(unplugged)

    report = scanner.run([samples])

    assert report.roots_offline == [str(samples)]
    assert (report.missing, report.new) == (0, 0)
    assert all(r.status == "ok" for r in _rows(catalog).values())
    assert len(catalog.vectors(embedder.model_id)[0]) == SAMPLE_COUNT


def test_empty_mount_point_is_offline_not_deleted(samples: Path, catalog: Catalog, embedder: Embedder, tmp_path: Path) -> None:
    """An unmounted disk often leaves its mount point behind, empty."""
    scanner = Scanner(catalog, embedder)
    scanner.run([samples])
    shutil.move(samples, tmp_path / "disk")
    samples.mkdir()

    report = scanner.run([samples])

    assert report.roots_offline == [str(samples)] and report.missing == 0
    assert all(r.status == "ok" for r in _rows(catalog).values())


def test_cancel_before_embedding_then_resume(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    cancel = threading.Event()

    def stop_when_embedding_starts(progress: ScanProgress) -> None:
        if progress.phase == "embedding":
            cancel.set()

    scanner = Scanner(catalog, embedder)
    stopped = scanner.run([samples], progress=stop_when_embedding_starts, cancel=cancel)
    assert stopped.cancelled and stopped.embedded < SAMPLE_COUNT
    assert catalog.roots()[0].last_scan_at is None

    done = scanner.run([samples])
    assert not done.cancelled
    assert done.new + stopped.embedded == SAMPLE_COUNT
    assert len(catalog.vectors(embedder.model_id)[0]) == SAMPLE_COUNT


def test_model_change_reembeds_everything(
    samples: Path, catalog: Catalog, embedder: Embedder, manifest: ModelManifest, tmp_path: Path
) -> None:
    Scanner(catalog, embedder).run([samples])
    other = tmp_path / "renamed_model.json"
    other.write_text(json.dumps({
        "name": "renamed_model", "file": str(manifest.file), "sha256": manifest.sha256,
        "input_name": manifest.input_name, "input_size": list(manifest.input_size), "resize": manifest.resize,
        "mean": list(manifest.mean), "std": list(manifest.std), "output_name": manifest.output_name,
        "dim": manifest.dim,
    }))
    second = Embedder(load_manifest(other), device="cpu", threads=1)
    assert second.model_id != embedder.model_id

    report = Scanner(catalog, second).run([samples])

    assert (report.reembedded, report.embedded, report.unchanged, report.new) == (SAMPLE_COUNT, SAMPLE_COUNT, 0, 0)
    assert len(catalog.vectors(second.model_id)[0]) == SAMPLE_COUNT
    assert len(catalog.vectors(embedder.model_id)[0]) == SAMPLE_COUNT  # same bytes: old vectors stay valid
    assert Scanner(catalog, second).run([samples]).unchanged == SAMPLE_COUNT


@pytest.mark.devset
def test_devset_scan_counts_errors_and_rescan(devset_copy: Path, truth: dict, catalog: Catalog, embedder: Embedder) -> None:
    images = [p for p in devset_copy.rglob("*") if p.is_file() and p.suffix not in (".json", ".md")]
    scanner = Scanner(catalog, embedder)

    report = scanner.run([devset_copy])

    broken = {str(devset_copy / name) for name in truth["broken"]}
    assert (report.new, report.errors, report.embedded) == (len(images), len(broken), len(images) - len(broken))
    errors = dict(catalog.errors())
    assert set(errors) == broken and all(errors.values())
    assert len(catalog.vectors(embedder.model_id)[0]) == len(images) - len(broken)

    again = scanner.run([devset_copy])
    assert (again.unchanged, again.embedded, again.errors) == (len(images), 0, len(broken))


@pytest.mark.devset
def test_devset_cancel_midway_commits_work_and_resumes(devset_copy: Path, catalog: Catalog, embedder: Embedder) -> None:
    cancel = threading.Event()

    def stop_after_some(progress: ScanProgress) -> None:
        if progress.phase == "embedding" and progress.files_done >= 40:
            cancel.set()

    scanner = Scanner(catalog, embedder, batch_size=16)
    stopped = scanner.run([devset_copy], progress=stop_after_some, cancel=cancel)
    with catalog.session() as session:
        committed = session.scalar(select(func.count()).select_from(File))
    assert stopped.cancelled and 40 <= committed < stopped.new

    done = scanner.run([devset_copy])
    assert done.unchanged == committed and done.new == stopped.new - committed
    with catalog.session() as session:
        paths = session.scalars(select(File.path)).all()
    assert len(paths) == len(set(paths)) == stopped.new


def test_photos_beside_the_catalog_are_scanned(samples: Path, embedder: Embedder) -> None:
    """A catalog kept among the photos hides only its own files, not its folder."""
    thumbs = samples / "thumbnail-cache"  # a cache of ours, named by the caller
    thumbs.mkdir()
    shutil.copyfile(samples / "chelsea.jpg", thumbs / "0f3a.jpg")
    with Catalog(samples / "copies" / "catalog.sqlite") as catalog:
        report = Scanner(catalog, embedder, skip_dirs=[thumbs]).run([samples])
        assert report.new == SAMPLE_COUNT and report.errors == 0
        paths = set(_rows(catalog))
        assert {str(p) for p in (samples / "copies").glob("*.*g")} <= paths
        assert not any(p.startswith(str(thumbs)) for p in paths)


def test_the_apps_thumbnail_cache_is_never_scanned(tmp_path: Path, samples: Path, embedder: Embedder) -> None:
    """Even when a scanned root holds it: the CLI, unlike the app, never names it."""
    cache = thumbnail_dir()
    cache.mkdir(parents=True)
    shutil.copyfile(samples / "chelsea.jpg", cache / "0f3a.jpg")
    shutil.copyfile(samples / "coffee.jpg", cache.parent / "coffee.jpg")
    assert cache.is_relative_to(os.environ["HOME"])  # conftest gives each test a private HOME
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder).run([cache.parent])
        assert set(_rows(catalog)) == {str(cache.parent / "coffee.jpg")}


def _scan_in_thread(
    scanner: Scanner, root: Path, seen: list[ScanProgress], **events: threading.Event
) -> tuple[threading.Thread, list, threading.Event]:
    """A scan running in a thread: (thread, [its report once done], set once 100 files are read)."""
    busy, reports = threading.Event(), []

    def watch(progress: ScanProgress) -> None:
        seen.append(progress)
        if progress.files_done >= 100:
            busy.set()

    thread = threading.Thread(target=lambda: reports.append(scanner.run([root], watch, **events)))
    thread.start()
    return thread, reports, busy


def test_cancel_mid_scan_returns_within_a_second_and_resumes(
    tmp_path: Path, catalog: Catalog, embedder: Embedder
) -> None:
    root, count = tmp_path / "photos", 300
    small_jpegs(root, count)
    cancel = threading.Event()
    # Big batches: the scan stopped only after embedding the batch at hand (4-6 s here).
    scanner = Scanner(catalog, embedder, batch_size=128)
    thread, reports, busy = _scan_in_thread(scanner, root, [], cancel=cancel)
    assert busy.wait(120), "the scan never got going"

    cancelled_at = time.monotonic()
    cancel.set()
    thread.join(10)
    waited = time.monotonic() - cancelled_at

    print(f"cancel honoured after {waited:.2f} s")
    # Generous for a loaded CI machine (here ~0.2 s); the old pipeline took 4-6 s.
    assert not thread.is_alive() and waited < 2.5, f"the scan took {waited:.2f} s to stop"
    stopped = reports[0]
    assert stopped.cancelled and stopped.embedded < count
    assert len(_rows(catalog)) == stopped.embedded  # every vector computed was committed, nothing else
    done = scanner.run([root])
    assert (done.unchanged, done.new) == (stopped.embedded, count - stopped.embedded)
    assert len(catalog.vectors(embedder.model_id)[0]) == count


def test_pause_holds_the_scan_until_resumed_and_cancel_wins_while_paused(
    tmp_path: Path, catalog: Catalog, embedder: Embedder
) -> None:
    root, count = tmp_path / "photos", 300
    small_jpegs(root, count)
    pause, cancel = threading.Event(), threading.Event()
    seen: list[ScanProgress] = []
    scanner = Scanner(catalog, embedder)
    thread, reports, busy = _scan_in_thread(scanner, root, seen, pause=pause, cancel=cancel)
    assert busy.wait(120), "the scan never got going"

    pause.set()
    time.sleep(1.5)  # the batch being read ends, then the scan holds
    held = len(_rows(catalog))
    time.sleep(1.0)
    assert len(_rows(catalog)) == held < count and thread.is_alive()  # nothing moves while paused
    assert seen[-1].paused

    pause.clear()
    deadline = time.monotonic() + 60
    while len(_rows(catalog)) == held and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_rows(catalog)) > held, "resuming did not resume"
    assert not seen[-1].paused

    pause.set()
    time.sleep(1.0)
    cancelled_at = time.monotonic()
    cancel.set()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - cancelled_at < 0.5
    assert reports[0].cancelled and reports[0].embedded == len(_rows(catalog)) < count
