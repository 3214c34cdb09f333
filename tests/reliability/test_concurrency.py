"""Concurrency and damaged catalogs: one writer at a time, readers always, and a corrupt
file replaced (and kept) rather than failing every command.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from lookalike.core.catalog import store as catalog_module
from lookalike.core.catalog.store import Catalog, CatalogBusy, CatalogError, CatalogRecovered
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.pipeline import Scanner
from reliability_tools import (
    assert_catalog_matches_disk,
    hanging_reads,
    integrity,
    leases_work,
    make_photos,
    run_cli,
    scan_command,
)


def test_a_second_scan_fails_fast_while_readers_keep_working(
    tmp_path: Path, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """A second scan, and every read-only verb, while a scan holds the catalog"""
    root = tmp_path / "photos"
    photos = make_photos(root, 20)
    if sys.platform != "linux" or not leases_work(root):
        pytest.skip("needs Linux file leases to hold a scan mid-way")
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder).run([root])  # readers then have something to read
    for photo in photos[:5]:
        photo.write_bytes(photos[10].read_bytes())  # changed: the next scan reopens them
    readers = [("stats", "--json"), ("errors", "--json"), ("export", "--format", "json"), ("duplicates", "--json"),
               ("search", str(photos[12]), "--json", "--device", "cpu")]

    with hanging_reads(photos[0]):  # the first scan will sit on this file, holding the catalog
        first = subprocess.Popen(scan_command(catalog_path, root, "--decode-timeout", "300"),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert first.stderr and "lookalike: model" in first.stderr.readline()

        second = run_cli(catalog_path, "scan", str(root), "--device", "cpu")
        assert second.returncode == 3
        assert f"catalog is in use by another scan (pid {first.pid})" in second.stderr
        assert "lookalike: model" not in second.stderr  # refused before loading the model
        with Catalog(catalog_path) as catalog, pytest.raises(CatalogBusy) as busy:
            Scanner(catalog, embedder).run([root])
        assert busy.value.pid == first.pid
        for verb in readers:
            done = run_cli(catalog_path, *verb)
            assert done.returncode == 0, f"{verb[0]} during a scan: {done.stderr[-300:]}"
            json.loads(done.stdout)
        assert first.poll() is None, "the first scan should still be waiting on its stuck file"
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads(out)["changed"] == 5
    assert integrity(catalog_path) == "ok"
    with Catalog(catalog_path) as catalog:
        assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    record("concurrency", "a second `lookalike scan` (CLI and in-process) while a scan runs", 2,
           "refused at once: 'catalog is in use by another scan (pid N)', exit 3, before loading the model")
    record("concurrency", "read-only verbs during a scan: " + ", ".join(v[0] for v in readers), len(readers),
           "all work (WAL readers); the scan then finished and the catalog is intact")


def test_scans_started_together_never_corrupt(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """Three `lookalike scan` processes started at the same moment on one catalog"""
    root = tmp_path / "photos"
    make_photos(root, 30)
    catalog_path = tmp_path / "catalog.sqlite"
    scans = [subprocess.Popen(scan_command(catalog_path, root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    results = [(s.wait(timeout=180), s.communicate()) for s in scans]
    codes = sorted(code for code, _ in results)
    assert set(codes) <= {0, 3} and 0 in codes, results
    assert integrity(catalog_path) == "ok"
    new = sum(json.loads(out)["new"] for code, (out, _) in results if code == 0)
    assert new == 30, "a photo was inserted twice, or not at all"
    record("concurrency", "3 scans started at once on one catalog", 3,
           "each either scanned or was refused (exit 3); every photo inserted once; integrity ok")


# --- damaged catalogs ----------------------------------------------------------------------


def _damaged(data: bytes) -> dict[str, bytes]:
    middle = len(data) // 2
    size = int.from_bytes(data[16:18], "big")
    page = 65536 if size == 1 else size  # the header's page size (1 stands for 65536)
    zeroed = middle - middle % page  # a whole page: zeros inside a blob's bytes are no damage SQLite can see
    return {
        "garbage bytes": bytes((i * 37 + 11) % 256 for i in range(len(data))),
        "truncated to half": data[:middle],
        "truncated inside the header": data[:60],
        "a page zeroed in the middle": data[:zeroed] + bytes(page) + data[zeroed + page :],
        "header overwritten": b"not a database, honest" + data[22:],
    }


@pytest.fixture
def good_catalog(tmp_path: Path, embedder: Embedder) -> tuple[Path, Path]:
    """A catalog of 40 photos, checkpointed into one file (no WAL), and the folder."""
    root = tmp_path / "photos"
    make_photos(root, 40)
    path = tmp_path / "good.sqlite"
    with Catalog(path) as catalog:
        Scanner(catalog, embedder).run([root])
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    return path, root


def test_a_damaged_catalog_is_kept_aside_and_replaced(tmp_path: Path, good_catalog: tuple[Path, Path], record) -> None:  # type: ignore[no-untyped-def]
    """Damaged catalog files opened by `lookalike stats`"""
    good, _root = good_catalog
    kinds = _damaged(good.read_bytes())
    for number, (kind, data) in enumerate(kinds.items()):
        path = tmp_path / f"case{number}" / "catalog.sqlite"
        path.parent.mkdir()
        path.write_bytes(data)
        if number == 0:  # as a person meets it: the CLI says so and goes on
            done = run_cli(path, "stats", "--json")
            assert done.returncode == 0, f"{kind}: {done.stderr[-300:]}"
            said = [line for line in done.stderr.splitlines() if "was damaged" in line]
            assert len(said) == 1 and said[0].startswith("lookalike: the catalog"), done.stderr
            assert json.loads(done.stdout)["files"] == {"ok": 0, "error": 0, "missing": 0}
        else:
            with pytest.warns(CatalogRecovered), Catalog(path) as catalog:
                assert catalog.status_counts() == {"ok": 0, "error": 0, "missing": 0}
        backups = list(path.parent.glob("catalog.sqlite.corrupt-*"))
        assert [b.read_bytes() for b in backups] == [data], f"{kind}: the damaged file was not kept as it was"
        assert integrity(path) == "ok"
    record("concurrency", "damaged catalog files: " + ", ".join(kinds), len(kinds),
           "detected at open (quick_check), kept as <name>.corrupt-<time>, a fresh catalog started, "
           "CatalogRecovered printed")


def test_a_big_catalog_checked_today_is_still_caught_truncated(
    tmp_path: Path, good_catalog: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, record  # type: ignore[no-untyped-def]
) -> None:
    """Damage to a catalog too big for a full check at every open (checked earlier today)"""
    monkeypatch.setattr(catalog_module, "FULL_CHECK_BYTES", 0)  # every catalog counts as big
    good, _root = good_catalog
    Catalog(good).close()  # a full check now: the next ones within a day only read the header and schema
    data = good.read_bytes()
    for number, damaged in enumerate((data[: len(data) // 2], b"garbage!" * 2000)):
        path = tmp_path / f"big{number}" / "catalog.sqlite"
        path.parent.mkdir()
        path.write_bytes(damaged)
        with pytest.warns(CatalogRecovered):
            Catalog(path).close()
    record("concurrency", "big catalog (daily full check) truncated to half, or overwritten with garbage", 2,
           "caught by the header check at open, set aside and replaced")


def test_after_recovery_a_scan_rebuilds_the_catalog(
    tmp_path: Path, good_catalog: tuple[Path, Path], embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """A scan on a damaged catalog"""
    good, root = good_catalog
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.warns(CatalogRecovered) as caught, Catalog(path) as catalog:
        assert catalog.recovered is not None and catalog.recovered.backup.exists()
        report = Scanner(catalog, embedder).run([root])
        assert report.new == 40
        assert_catalog_matches_disk(catalog, root, embedder.model_id, embedder.dim)
    assert "scan your folders again" in str(caught[0].message)
    record("concurrency", "scan after a damaged catalog was replaced", 1, "all 40 photos catalogued again")


def test_a_catalog_that_is_not_damaged_is_never_moved(tmp_path: Path, good_catalog: tuple[Path, Path], record) -> None:  # type: ignore[no-untyped-def]
    """Healthy catalogs that cannot be used: newer schema, open in another writer's transaction"""
    good, _root = good_catalog
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(good.read_bytes())
    db = sqlite3.connect(newer)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CatalogRecovered)
        with pytest.raises(CatalogError, match="newer Lookalike"):
            Catalog(newer)
        busy = tmp_path / "busy.sqlite"
        busy.write_bytes(good.read_bytes())
        writer = sqlite3.connect(busy, isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")  # rollback-journal mode: readers are locked out meanwhile
        try:
            with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as it is not "damaged"
                Catalog(busy)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
    assert not list(tmp_path.glob("*.corrupt-*"))
    record("concurrency", "healthy but unusable catalogs (newer schema; locked by another writer)", 2,
           "refused with an error; never mistaken for damage, never moved")
