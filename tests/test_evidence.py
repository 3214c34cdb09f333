"""Details made from the files when a proof needs them (core/matching/evidence.py), on real
files, a real catalog and the shipped model: only the bytes that were scanned prove a pair."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.matching import evidence, proof
from lookalike.core.matching.graph import FLOOR, KnnGraph, graph_path, open_graph
from lookalike.core.paths import resources_dir
from lookalike.core.review.tiers import find_groups
from lookalike.core.scan.images import decode
from lookalike.core.scan.pipeline import Scanner

SAMPLES = resources_dir() / "samples"


@pytest.fixture
def pair(tmp_path: Path, embedder: Embedder) -> tuple[Path, Path]:
    """(folder, catalog): a photo and its re-encoded half-size copy, and two unrelated photos, scanned."""
    root = tmp_path / "photos"
    root.mkdir()
    coffee = Image.open(SAMPLES / "coffee.jpg").convert("RGB")
    coffee.save(root / "coffee.jpg", quality=95)
    coffee.resize((coffee.width // 2, coffee.height // 2)).save(root / "coffee_small.jpg", quality=80)
    shutil.copyfile(SAMPLES / "rocket.jpg", root / "rocket.jpg")
    shutil.copyfile(SAMPLES / "astronaut.jpg", root / "astronaut.jpg")
    catalog = tmp_path / "catalog.sqlite"
    with Catalog(catalog) as opened:
        Scanner(opened, embedder, workers=1).run([root])
    return root, catalog


def _duplicates(catalog: Catalog, model: str) -> list[set[str]]:
    return [{Path(m.file.path).name for m in g.members} for g in find_groups(catalog, model, "duplicate")]


def _rewrite_keeping_stamps(path: Path, image: Image.Image) -> None:
    """Put another picture's bytes in `path`, with its old size and mtime (as an editor that
    restores them would): only the content hash can tell."""
    before = path.stat()
    image.save(path, format="JPEG", quality=60)
    data = path.read_bytes()[: before.st_size]
    path.write_bytes(data + bytes(before.st_size - len(data)))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _verdict(graph: KnnGraph, catalog: Catalog, a: str, b: str) -> int:
    ids = {Path(row.path).name: fid for fid, row in catalog.files(graph.ids.tolist()).items()}
    u, v = graph.positions(np.array([ids[a], ids[b]]))
    start = graph.indptr[u]
    (entry,) = np.flatnonzero(graph.nbr[start : graph.indptr[u + 1]] == v)
    return int(graph.proof[start + entry])  # type: ignore[index]


def test_the_catalog_keeps_no_detail_and_the_copy_is_still_proven(pair: tuple[Path, Path], embedder: Embedder) -> None:
    root, path = pair
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(signatures)")}
    assert columns == {"file_id", "data"}  # the 32x32 signature only
    with Catalog(path) as catalog:
        assert _duplicates(catalog, embedder.model_id) == [{"coffee.jpg", "coffee_small.jpg"}]


def test_details_come_from_the_scanned_bytes_only(pair: tuple[Path, Path], embedder: Embedder) -> None:
    root, path = pair
    with Catalog(path) as catalog:
        ids = {Path(row.path).name: fid for fid, row in catalog.files(list(range(1, 10))).items()}
        (root / "rocket.jpg").unlink()  # gone since the scan
        with (root / "astronaut.jpg").open("ab") as grown:  # changed since the scan
            grown.write(b"\0")
        _rewrite_keeping_stamps(root / "coffee_small.jpg", Image.open(SAMPLES / "chelsea.jpg"))  # same size, same mtime
        found = evidence.read_details(catalog, sorted(ids.values()), threads=2)
    assert set(found) == {ids["coffee.jpg"]}
    made = proof.detail(decode(root / "coffee.jpg", evidence.DECODE_SIZE, "squash").pixels)
    assert found[ids["coffee.jpg"]].thumbnail == made


def test_a_copy_whose_bytes_changed_since_the_scan_is_not_proven(pair: tuple[Path, Path], embedder: Embedder) -> None:
    root, path = pair
    _rewrite_keeping_stamps(root / "coffee_small.jpg", Image.open(SAMPLES / "coffee.jpg").rotate(180))
    with Catalog(path) as catalog:
        graph_path(catalog, embedder.model_id).unlink()  # the verdicts must be made again, from the files
        graph = open_graph(catalog, embedder.model_id)
        assert _verdict(graph, catalog, "coffee.jpg", "coffee_small.jpg") == proof.Verdict.UNCHECKED
        assert _duplicates(catalog, embedder.model_id) == []  # at most "similar" until a scan reads it again


def test_a_rebuild_takes_the_verdicts_of_unchanged_files_without_reading_them(
    pair: tuple[Path, Path], embedder: Embedder
) -> None:
    root, path = pair
    with Catalog(path) as catalog:
        before = open_graph(catalog, embedder.model_id)
        assert _verdict(before, catalog, "coffee.jpg", "coffee_small.jpg") == proof.Verdict.SAME_PICTURE
        # Reading the copy now would fail its proof (the previous test): a carried verdict reads no file.
        _rewrite_keeping_stamps(root / "coffee_small.jpg", Image.open(SAMPLES / "coffee.jpg").rotate(180))
        rebuilt = open_graph(catalog, embedder.model_id, floor=FLOOR - 0.05)  # a lower floor: a full build
        assert rebuilt.floor < before.floor
        assert _verdict(rebuilt, catalog, "coffee.jpg", "coffee_small.jpg") == proof.Verdict.SAME_PICTURE
