"""`scan --engine ray`: decode + embed on a real local Ray cluster (2 workers), the
catalog written here. Compared with the local engine on the same files, cancelled,
and killed mid-way. One Ray cluster serves the whole session (starting one takes
seconds); CLI processes join it with --ray-address.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'lookalike[cluster]', or the test extra)")

import lookalike.core.scan  # noqa: E402
from lookalike.cli import main  # noqa: E402
from lookalike.core.catalog.store import Catalog  # noqa: E402
from lookalike.core.engines.embedder import Embedder  # noqa: E402
from lookalike.core.engines.manifest import ModelManifest  # noqa: E402
from lookalike.core.scan.ray_engine import QUIET, RayEngine  # noqa: E402
from lookalike.core.review.tiers import KINDS, find_groups  # noqa: E402
from lookalike.core.scan.pipeline import Scanner, ScanProgress, ScanReport  # noqa: E402

from catalog_probe import committed_vectors  # noqa: E402
from generated_photos import small_jpegs  # noqa: E402

WORKERS = 2
FILE_COLUMNS = ("size, mtime_ns, partial_hash, full_hash, width, height, format, taken_at, captured, camera, "
                "has_gps, grey, sharpness, highlights, shadows, brightness, status, error")


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs for the session; its address lets CLI processes join it."""
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_AUTH_MODE", "disabled")  # child processes run with a private HOME, where no token is
    for name, value in QUIET.items():
        patch.setenv(name, value)
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    patch.undo()


def _ray_scan(catalog: Catalog, embedder: Embedder, manifest: ModelManifest, roots: list[Path], **run: object) -> ScanReport:
    engine = RayEngine(manifest, workers=WORKERS, device="cpu", decode_timeout=30.0)
    try:
        return Scanner(catalog, embedder, engine=engine).run(roots, **run)  # type: ignore[arg-type]
    finally:
        engine.close()


def _contents(path: Path) -> tuple[dict[str, tuple], dict[str, np.ndarray]]:
    """Every file's row (metadata, hashes, shot measures and structure signature)
    by path, and its vector by path."""
    db = sqlite3.connect(path)
    try:
        files = {row[0]: row[1:] for row in db.execute(
            f"SELECT path, {FILE_COLUMNS}, s.data FROM files LEFT JOIN signatures s ON s.file_id = files.id"
        )}
        vectors = {p: np.frombuffer(v, np.float16).astype(np.float32) for p, v in db.execute(
            "SELECT path, vector FROM files JOIN embeddings ON embeddings.file_id = files.id"
        )}
    finally:
        db.close()
    return files, vectors


def _groups(catalog: Catalog, model_id: str) -> dict[str, set[frozenset[tuple[str, bool, str]]]]:
    """Each tier's groups as sets of (path, kept, reason): the groups and their verdicts."""
    return {
        kind: {frozenset((m.file.path, m.keep, m.reason) for m in g.members) for g in find_groups(catalog, model_id, kind)}
        for kind in KINDS
    }


def _assert_same_catalogs(local: Path, remote: Path, model_id: str) -> None:
    local_files, local_vectors = _contents(local)
    remote_files, remote_vectors = _contents(remote)
    assert remote_files == local_files
    assert remote_vectors.keys() == local_vectors.keys()
    for path, vector in local_vectors.items():
        np.testing.assert_allclose(remote_vectors[path], vector, atol=2e-3, err_msg=path)
    with Catalog(local) as first, Catalog(remote) as second:
        assert _groups(second, model_id) == _groups(first, model_id)


def test_ray_fills_the_catalog_as_the_local_engine(
    ray_address: str, detailed_samples: Path, tmp_path: Path, embedder: Embedder, manifest: ModelManifest
) -> None:
    small_jpegs(detailed_samples / "noise", 20)
    (detailed_samples / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with Catalog(tmp_path / "local.sqlite") as catalog:
        local = Scanner(catalog, embedder).run([detailed_samples])
    with Catalog(tmp_path / "ray.sqlite") as catalog:
        remote = _ray_scan(catalog, embedder, manifest, [detailed_samples])
        assert remote.provider == f"ray: {WORKERS} workers on CPUExecutionProvider"
        again = _ray_scan(catalog, embedder, manifest, [detailed_samples])

    assert (remote.new, remote.embedded, remote.errors) == (local.new, local.embedded, local.errors) == (32, 31, 1)
    assert (again.unchanged, again.embedded) == (32, 0)  # a rescan reopens nothing, as locally
    _assert_same_catalogs(tmp_path / "local.sqlite", tmp_path / "ray.sqlite", embedder.model_id)
    with Catalog(tmp_path / "ray.sqlite") as catalog:
        assert _groups(catalog, embedder.model_id)["duplicate"], "the samples' copies must make duplicate groups"


def test_cancel_keeps_what_the_workers_returned_and_the_rerun_finishes(
    ray_address: str, tmp_path: Path, embedder: Embedder, manifest: ModelManifest
) -> None:
    photos = small_jpegs(tmp_path / "photos", 240)
    cancel = threading.Event()
    seen: list[ScanProgress] = []

    def progress(p: ScanProgress) -> None:
        """Cancel once 40 are done and the rate has been sampled long enough for an ETA
        (a fast, idle machine can embed 40 before the first sample)."""
        seen.append(p)
        if p.files_done >= 40 and any(s.phase == "embedding" and s.eta_seconds is not None for s in seen):
            cancel.set()

    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        first = _ray_scan(catalog, embedder, manifest, [tmp_path / "photos"], progress=progress, cancel=cancel)
        committed = catalog.embedded_count(embedder.model_id)
        second = _ray_scan(catalog, embedder, manifest, [tmp_path / "photos"])
        assert catalog.embedded_count(embedder.model_id) == len(photos)

    assert first.cancelled and 40 <= first.embedded == committed < len(photos)
    assert any(p.phase == "embedding" and p.eta_seconds is not None for p in seen), "no ETA while embedding"
    assert not second.cancelled
    assert (second.unchanged, second.new, second.embedded) == (committed, len(photos) - committed, len(photos) - committed)


def _wait_for_vectors(process: subprocess.Popen[bytes], catalog: Path, count: int) -> None:
    """Return once `count` vectors are committed by the scan running in `process`."""
    deadline = time.monotonic() + 120
    while committed_vectors(catalog) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the scan ended before it could be interrupted: {process.communicate()[1]!r}")
        time.sleep(0.02)


def _cli(catalog: Path, root: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "lookalike", "--catalog", str(catalog), "scan", str(root),
            "--engine", "ray", "--ray-address", address, "--device", "cpu", "--json"]


def test_sigkill_mid_ray_scan_then_resume_loses_and_doubles_nothing(ray_address: str, tmp_path: Path) -> None:
    photos = small_jpegs(tmp_path / "photos", 400)
    catalog_path = tmp_path / "catalog.sqlite"
    process = subprocess.Popen(_cli(catalog_path, tmp_path / "photos", ray_address),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_vectors(process, catalog_path, 64)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    committed = committed_vectors(catalog_path)
    assert 64 <= committed < len(photos), "the kill came too late to test a resume"

    rerun = subprocess.run(_cli(catalog_path, tmp_path / "photos", ray_address), capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert (report["unchanged"], report["new"], report["embedded"]) == (committed, len(photos) - committed, len(photos) - committed)
    db = sqlite3.connect(catalog_path)
    try:
        paths = [row[0] for row in db.execute("SELECT path FROM files")]
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    assert sorted(paths) == sorted(str(p) for p in photos)  # each once
    assert committed_vectors(catalog_path) == len(photos)


def test_ctrl_c_stops_a_ray_scan_on_its_own_local_instance_with_work_committed(tmp_path: Path) -> None:
    """Without --ray-address the command starts its own Ray; Ctrl-C reaches its whole process
    group (as a terminal sends it), and still only the scan stops, cleanly."""
    small_jpegs(tmp_path / "photos", 400)
    catalog_path = tmp_path / "catalog.sqlite"
    command = [sys.executable, "-m", "lookalike", "--catalog", str(catalog_path), "scan", str(tmp_path / "photos"),
               "--engine", "ray", "--workers", str(WORKERS), "--device", "cpu", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for_vectors(process, catalog_path, 40)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 130, err
    report = json.loads(out)
    assert report["cancelled"] is True and report["provider"] == f"ray: {WORKERS} workers on CPUExecutionProvider"
    assert 40 <= report["embedded"] == committed_vectors(catalog_path) < 400


@pytest.mark.devset
def test_devset_groups_and_verdicts_from_ray_are_the_local_ones(
    ray_address: str, devset: Path, tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the CLI, as a person runs it: `scan` then `scan --engine ray` on the same copy."""
    photos = tmp_path / "devset"
    shutil.copytree(devset, photos)
    runs = {}
    for name, extra in (("local", []), ("ray", ["--engine", "ray", "--ray-address", ray_address])):
        code = main(["--catalog", str(tmp_path / f"{name}.sqlite"), "scan", str(photos), "--device", "cpu", "--json", *extra])
        runs[name] = json.loads(capsys.readouterr().out)
        assert code == 0
    assert runs["ray"]["provider"].startswith("ray: ")
    counts = ("new", "errors", "embedded")
    assert [runs["ray"][k] for k in counts] == [runs["local"][k] for k in counts]
    _assert_same_catalogs(tmp_path / "local.sqlite", tmp_path / "ray.sqlite", embedder.model_id)


def test_an_unreachable_cluster_is_one_line(tmp_path: Path, samples: Path) -> None:
    """In a child process: this one is connected to the session's cluster already."""
    done = subprocess.run(_cli(tmp_path / "c.sqlite", samples, "127.0.0.1:1"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith("lookalike: cannot reach the Ray cluster at 127.0.0.1:1: ")
    assert "Traceback" not in done.stderr


def test_without_ray_installed_the_engine_is_one_line(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where it is not installed
    monkeypatch.delitem(sys.modules, "lookalike.core.scan.ray_engine")
    monkeypatch.delattr(lookalike.core.scan, "ray_engine")  # else `from ... import` reuses the loaded module
    code = main(["--catalog", str(tmp_path / "c.sqlite"), "scan", str(samples), "--engine", "ray"])
    assert code == 1
    assert capsys.readouterr().err == "lookalike: --engine ray needs Ray: pip install 'lookalike[cluster]'\n"


def test_a_ray_address_without_the_ray_engine_is_refused(tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--catalog", str(tmp_path / "c.sqlite"), "scan", str(samples), "--ray-address", "127.0.0.1:6379"])
    assert code == 2
    assert capsys.readouterr().err == "lookalike: --ray-address needs --engine ray\n"
