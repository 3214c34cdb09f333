"""The scan pipeline on real photos, a real catalog and the real model.

The `samples` tests run in any clone; the `devset` ones need ../shared.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from lookalike.core.catalog import Catalog
from lookalike.core.embedder import Embedder
from lookalike.core.manifest import ModelManifest, load_manifest
from lookalike.core.scan import Scanner, ScanProgress
from lookalike.core.schema import Embedding, File

SAMPLE_COUNT = 10


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "catalog.sqlite") as opened:
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
    before = _rows(catalog)
    vectors_before = _vectors(catalog, embedder.model_id)

    modified = samples / "coffee.jpg"
    with Image.open(modified) as image:
        image.rotate(90, expand=True).save(modified, quality=70)
    moved_from, moved_to = samples / "rocket.jpg", samples / "archive" / "2024" / "rocket.jpg"
    moved_to.parent.mkdir(parents=True)
    shutil.copy(moved_from, moved_to)  # a copy then delete: new inode and mtime, same bytes
    moved_from.unlink()
    deleted = samples / "hubble_deep_field.jpg"
    deleted.unlink()

    report = scanner.run([samples])

    assert (report.changed, report.moved, report.missing, report.new) == (1, 1, 1, 0)
    assert report.unchanged == SAMPLE_COUNT - 3
    assert report.embedded == 1  # only the modified file was decoded
    after = _rows(catalog)
    assert str(moved_from) not in after
    assert after[str(moved_to)].id == before[str(moved_from)].id
    assert after[str(moved_to)].status == "ok"
    vectors_after = _vectors(catalog, embedder.model_id)
    assert vectors_after[after[str(moved_to)].id] == vectors_before[before[str(moved_from)].id]
    assert after[str(modified)].id == before[str(modified)].id
    assert vectors_after[after[str(modified)].id] != vectors_before[before[str(modified)].id]
    assert after[str(deleted)].status == "missing"
    assert before[str(deleted)].id not in catalog.vectors(embedder.model_id)[0]


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
