"""Shared fixtures: the devset (skipped when absent), the shipped model, sample photos."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from lookalike.core.engines.embedder import Embedder  # noqa: E402
from lookalike.core.engines.manifest import ModelManifest, default_manifest_path, load_manifest  # noqa: E402
from lookalike.core.paths import resources_dir  # noqa: E402

from postgres import Server, start_server  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEVSET = Path(os.environ.get("LOOKALIKE_DEVSET", REPO.parent / "shared" / "data" / "devset")).resolve()


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the real user's settings, catalog or trash during tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("LOOKALIKE_CATALOG", raising=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A real PostgreSQL server for the whole run (tests/postgres.py); skips only where none is installed."""
    server = start_server()
    if isinstance(server, str):
        pytest.skip(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's catalog lives: a SQLite file, then an empty database on the test server."""
    if request.param == "sqlite":
        return tmp_path / "catalog.sqlite"
    return request.getfixturevalue("postgres").database()


@pytest.fixture(scope="session")
def devset() -> Path:
    """The labelled devset (read-only). Skips where ../shared is absent (a user's clone)."""
    if not (DEVSET / "truth.json").is_file():
        pytest.skip(f"devset not found at {DEVSET} (it lives in ../shared beside the project)")
    return DEVSET


@pytest.fixture(scope="session")
def truth(devset: Path) -> dict:
    return json.loads((devset / "truth.json").read_text())


@pytest.fixture
def devset_copy(devset: Path, tmp_path: Path) -> Path:
    """A writable copy of the devset, for scans that modify, move or delete files."""
    target = tmp_path / "devset"
    shutil.copytree(devset, target)
    return target


@pytest.fixture(scope="session")
def manifest() -> ModelManifest:
    return load_manifest(default_manifest_path())


@pytest.fixture(scope="session")
def embedder(manifest: ModelManifest) -> Embedder:
    return Embedder(manifest, device="cpu")


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample photos (originals plus derived copies)."""
    target = tmp_path / "samples"
    shutil.copytree(resources_dir() / "samples", target, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return target


@pytest.fixture
def detailed_samples(samples: Path) -> Path:
    """The samples plus a detail cut from coffee.jpg (its centre half): another picture of the
    same subject, so the similar tier has a group of different shots beside coffee's copies."""
    from PIL import Image

    with Image.open(samples / "coffee.jpg") as photo:
        width, height = photo.size
        photo.crop((width // 4, height // 4, width * 3 // 4, height * 3 // 4)).save(samples / "coffee_detail.jpg", quality=92)
    return samples
