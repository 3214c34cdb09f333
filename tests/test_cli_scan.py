"""The scan, errors, stats and export verbs, run as a person (or a script) runs them."""

from __future__ import annotations

import csv
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.pipeline import Scanner

from catalog_probe import committed_vectors

REPORT_KEYS = {"new", "changed", "unchanged", "moved", "reembedded", "missing", "errors", "embedded",
               "cancelled", "roots_offline", "unreadable", "elapsed", "provider"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def scanned(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A catalog of the samples plus one broken file, made by `lookalike scan`."""
    (samples / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    catalog = str(tmp_path / "catalog.sqlite")
    code, out, err = _run(capsys, "--catalog", catalog, "scan", str(samples), "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert REPORT_KEYS <= set(report)
    assert (report["new"], report["errors"], report["embedded"]) == (11, 1, 10)
    assert report["provider"] == "CPUExecutionProvider"
    assert "CPUExecutionProvider" in err
    return catalog


def test_rescan_summary_for_people(scanned: str, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--catalog", scanned, "scan", str(samples), "--device", "cpu")
    assert code == 0
    assert "unchanged 11" in out and "errors 1" in out and "lookalike errors" in out


def test_errors_json(scanned: str, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--catalog", scanned, "errors", "--json")
    assert code == 0
    assert json.loads(out) == {
        "errors": [{"path": str(samples / "broken.png"), "error": "file is corrupt (damaged PNG structure)"}]
    }


def test_stats_json(scanned: str, samples: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--catalog", scanned, "stats", "--json")
    stats = json.loads(out)
    assert code == 0
    assert stats["files"] == {"ok": 10, "error": 1, "missing": 0}
    assert stats["embedded"] == 10 and stats["catalog_bytes"] > 0
    assert [r["path"] for r in stats["roots"]] == [str(samples)] and stats["roots"][0]["last_scan_at"]


def test_export_json_and_csv(scanned: str, samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--catalog", scanned, "export", "--format", "json")
    files = json.loads(out)["files"]
    assert code == 0 and len(files) == 11
    assert all(set(f) == {"path", "size", "width", "height", "status", "error"} for f in files)
    astronaut = next(f for f in files if f["path"] == str(samples / "astronaut.jpg"))
    assert (astronaut["status"], astronaut["error"], astronaut["width"]) == ("ok", None, 512)

    target = tmp_path / "files.csv"
    assert _run(capsys, "--catalog", scanned, "export", "--format", "csv", "--output", str(target))[0] == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["path"] for r in rows] == [f["path"] for f in files]
    assert rows[0].keys() == {"path", "size", "width", "height", "status", "error"}


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda tmp: tmp / "nowhere", "it does not exist"),
        (lambda tmp: tmp / "photo.jpg", "it is a file, not a folder"),
        (lambda tmp: tmp / "photo.jpg" / "inside", "it does not exist (a part of the path is a file)"),
        (lambda tmp: tmp / "dangling", "it is a symbolic link to something that does not exist"),
    ],
    ids=["missing", "file", "under-a-file", "dangling-link"],
)
def test_a_path_that_is_not_a_folder_is_one_line_saying_why_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, why: str  # type: ignore[no-untyped-def]
) -> None:
    """A missing path and a photo given instead of its folder are different mistakes: say which."""
    (tmp_path / "photo.jpg").write_bytes(b"not really a photo")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    path = make(tmp_path)
    catalog = tmp_path / "c.sqlite"
    for extra in ([], ["--json"]):
        code, out, err = _run(capsys, "--catalog", str(catalog), "scan", str(tmp_path), str(path), *extra)
        assert (code, out) == (2, "")
        assert err == f"lookalike: cannot scan {path}: {why}\n"
    assert not catalog.exists()  # refused before anything was opened or created


def _scan_until_some_embedded(catalog: Path, root: Path, count: int = 40) -> subprocess.Popen[bytes]:
    """`lookalike scan --json` in a child process, returned once `count` vectors are committed."""
    command = [sys.executable, "-m", "lookalike", "--catalog", str(catalog), "scan", str(root),
               "--device", "cpu", "--workers", "1", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while committed_vectors(catalog) < count:
        if process.poll() is not None:
            pytest.fail(f"the scan ended before it could be interrupted: {process.communicate()[1]!r}")
        time.sleep(0.02)
    return process


@pytest.mark.devset
def test_sigkill_mid_scan_then_resume_loses_and_doubles_nothing(
    devset_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    catalog_path = tmp_path / "catalog.sqlite"
    process = _scan_until_some_embedded(catalog_path, devset_copy)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL

    with Catalog(catalog_path) as catalog:
        committed = catalog.status_counts()["ok"] + catalog.status_counts()["error"]
        report = Scanner(catalog, embedder).run([devset_copy])
        images = [p for p in devset_copy.rglob("*") if p.is_file() and p.suffix not in (".json", ".md")]
        assert report.unchanged == committed and report.new == len(images) - committed
        with catalog.session() as session:
            paths = [row[0] for row in session.execute(text("SELECT path FROM files"))]
            integrity = session.execute(text("PRAGMA integrity_check")).scalar()
        assert sorted(paths) == sorted(str(p) for p in images)
        assert integrity == "ok"
        assert catalog.embedded_count(embedder.model_id) == len(images) - report.errors


@pytest.mark.devset
def test_ctrl_c_stops_cleanly_with_work_committed(devset_copy: Path, tmp_path: Path) -> None:
    catalog_path = tmp_path / "catalog.sqlite"
    process = _scan_until_some_embedded(catalog_path, devset_copy)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    report = json.loads(out)
    assert report["cancelled"] is True and report["embedded"] >= 40
    assert committed_vectors(catalog_path) == report["embedded"]


def _refused(capsys: pytest.CaptureFixture[str], catalog: Path, *argv: str) -> str:
    """Runs a verb on a catalog path that cannot be used: non-zero exit, one plain line, nothing on stdout."""
    code, out, err = _run(capsys, "--catalog", str(catalog), *argv)
    assert code != 0 and out == ""
    assert err.startswith("lookalike: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("where", ["under a file", "under /proc"])
def test_a_catalog_path_that_cannot_be_created_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    if where == "under /proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc here")
        catalog = Path("/proc/x/cat.sqlite")
    else:
        (tmp_path / "notes.txt").write_text("a note")
        catalog = tmp_path / "notes.txt" / "cat.sqlite"
    err = _refused(capsys, catalog, "scan", str(tmp_path))  # scan creates catalogs; other verbs need one
    assert str(catalog) in err and ("not a directory" in err or "no such file" in err)


def test_a_folder_given_as_the_catalog_is_one_line(
    tmp_path: Path, samples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(capsys, tmp_path, "scan", str(samples), "--device", "cpu")
    assert "is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples"]  # nothing was created in it


def test_a_file_that_is_not_a_catalog_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping: milk, eggs\n" * 200)
    before = notes.read_bytes()
    err = _refused(capsys, notes, "stats")
    assert "not a Lookalike catalog" in err and "left untouched" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"] and notes.read_bytes() == before


@pytest.mark.parametrize("name", ["catalog.sqlite", "photos.cat"])
def test_a_damaged_catalog_is_still_set_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    """Ours to replace: a file named like a catalog, or one that holds our schema behind a ruined header."""
    good = tmp_path / "good.sqlite"
    Catalog(good).close()
    data = b"garbage!" * 512 if name == "catalog.sqlite" else b"not a database, honest" + good.read_bytes()[22:]
    (tmp_path / name).write_bytes(data)
    code, out, err = _run(capsys, "--catalog", str(tmp_path / name), "stats", "--json")
    assert code == 0 and "was damaged" in err
    assert json.loads(out)["files"] == {"ok": 0, "error": 0, "missing": 0}
    assert [p.read_bytes() for p in tmp_path.glob(f"{name}.corrupt-*")] == [data]


def test_another_programs_database_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    places = tmp_path / "places.sqlite"
    db = sqlite3.connect(places)
    with db:
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        db.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    db.close()
    before = places.read_bytes()
    err = _refused(capsys, places, "stats")
    assert "another program's database" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["places.sqlite"] and places.read_bytes() == before
