"""Careless or odd use of the CLI: a quarantine inside the library, a newer catalog, a
mistyped catalog path, a bad query among good ones, an absurd --top, a very long name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.catalog.schema import SCHEMA_VERSION
from reliability_tools import make_photos, run_cli


def _library(tmp_path: Path, embedder: Embedder, copy_name: str = "copy.jpg") -> tuple[Path, Path]:
    """Five photos and an identical copy of the first (named `copy_name`), scanned: (catalog, photos)."""
    photos = tmp_path / "photos"
    made = make_photos(photos, 5)
    shutil.copyfile(made[0], photos / copy_name)
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder, workers=1).run([photos])
    return catalog_path, photos


def _one_line(done, code: int = 1) -> str:  # type: ignore[no-untyped-def]
    assert done.returncode == code and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("lookalike: "), done.stderr
    return done.stderr.strip()


def test_quarantine_inside_a_scanned_folder_is_refused(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """`dedupe --apply --mode quarantine:<a folder inside the scanned one>`"""
    catalog_path, photos = _library(tmp_path, embedder)
    before = sorted(p.name for p in photos.iterdir())
    done = run_cli(catalog_path, "dedupe", "--apply", "--mode", f"quarantine:{photos / 'Quarantine'}")
    line = _one_line(done)
    assert "lies inside the scanned folder" in line and "choose a folder outside" in line
    assert sorted(p.name for p in photos.iterdir()) == before
    record("misuse", "a quarantine folder inside a scanned folder", 1,
           "refused before anything moves: 'the quarantine folder ... lies inside the scanned folder ...: the next "
           "scan would catalogue the quarantined photos again; choose a folder outside the scanned folders'")


def test_a_newer_catalog_is_refused_and_never_written(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """A catalog of schema SCHEMA_VERSION + 1 given to `stats`, `scan` and `dedupe`"""
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path):
        pass
    db = sqlite3.connect(catalog_path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.execute("DELETE FROM meta WHERE key = 'checked_at'")
    db.commit()
    db.close()
    (tmp_path / "photos").mkdir()
    files = sorted(p.name for p in tmp_path.iterdir())
    digest = hashlib.sha256(catalog_path.read_bytes()).hexdigest()
    verbs = [("stats",), ("scan", str(tmp_path / "photos"), "--device", "cpu"), ("dedupe",)]
    for verb in verbs:
        line = _one_line(run_cli(catalog_path, *verb))
        assert "written by a newer Lookalike" in line and "left untouched" in line, line
    assert hashlib.sha256(catalog_path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    db = sqlite3.connect(f"{catalog_path.as_uri()}?mode=ro", uri=True)
    assert db.execute("SELECT value FROM meta WHERE key = 'checked_at'").fetchone() is None
    db.close()
    record("misuse", "a catalog of a newer schema given to stats, scan and dedupe", len(verbs),
           "refused in one line; the file's bytes unchanged (no checked_at written), no file created beside it")


def test_a_mistyped_catalog_path_is_an_error(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """Every verb but scan on a catalog path that does not exist"""
    missing = tmp_path / "catalgo.sqlite"
    verbs = [("stats",), ("errors",), ("duplicates",), ("dedupe",), ("history",), ("undo",),
             ("export", "--format", "csv"), ("not-duplicate", "--list"), ("search", str(tmp_path / "q.jpg"))]
    for verb in verbs:
        line = _one_line(run_cli(missing, *verb))
        assert line == f"lookalike: no catalog at {missing}; check --catalog, or create one with `lookalike scan FOLDER`"
    assert list(tmp_path.iterdir()) == []
    record("misuse", "a mistyped --catalog path with every verb but scan", len(verbs),
           "one line 'no catalog at PATH; check --catalog, or create one with `lookalike scan FOLDER`'; nothing "
           "created (scan still creates catalogs; the app opens or creates the catalog its settings name)")


def test_search_answers_good_queries_beside_a_bad_one_and_bounds_top(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """`search good.jpg notes.jpg other.jpg --top 99999999999`"""
    catalog_path, photos = _library(tmp_path, embedder)
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    queries = [photos / "photo_0_001.jpg", bad, photos / "photo_0_002.jpg"]
    done = run_cli(catalog_path, "search", *map(str, queries), "--top", "99999999999", "--json", timeout=60)
    assert done.returncode == 1, done.stderr
    results = json.loads(done.stdout)["results"]
    assert [r.get("error") is not None for r in results] == [False, True, False]
    assert "not an image" in results[1]["error"]
    assert [len(r["matches"]) for r in results] == [6, 0, 6]  # every catalogued photo, nothing more
    text = run_cli(catalog_path, "search", *map(str, queries), "--top", "99999999999", timeout=60)
    assert text.returncode == 1 and text.stdout.count("Photos most like") == 2
    assert text.stderr.strip().startswith(f"lookalike: {bad}: not an image"), text.stderr
    record("misuse", "search with an unreadable query between two good ones, --top 99999999999", 2,
           "the good queries answered (all 6 photos each: --top is bounded by the catalog), the bad one reported "
           "with its reason; exit 1")


def test_a_250_byte_name_goes_to_the_trash_and_back(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """An identical copy with a 250-byte name removed to the trash, then undone"""
    long_name = "c" * 246 + ".jpg"
    catalog_path, photos = _library(tmp_path, embedder, long_name)
    copy = photos / long_name
    data = copy.read_bytes()
    done = run_cli(catalog_path, "dedupe", "--kind", "identical", "--apply", "--mode", "trash", "--json")
    assert done.returncode == 0, done.stderr
    (entry,) = json.loads(done.stdout)["files"]
    assert entry["state"] == "done" and not copy.exists(), entry
    trashed = Path(entry["destination"])
    assert trashed.read_bytes() == data and len(trashed.name.encode()) + len(".trashinfo") <= 255
    undone = run_cli(catalog_path, "undo", "--json")
    assert undone.returncode == 0, undone.stderr
    assert copy.read_bytes() == data and not trashed.exists()
    record("misuse", "a 250-byte file name sent to the trash, then undone", 1,
           "trashed under a shortened name (its .trashinfo keeps the full path) and restored under its own name")
