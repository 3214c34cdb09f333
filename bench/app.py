"""Driving the app's own code the way the app does: same Embedder settings, same
Scanner, same catalog. Benchmarks go through here so a figure always describes
the shipped code path, never a re-implementation of it."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lookalike.core.matching import structure
from lookalike.core.catalog.store import Catalog, FileRecord, Location
from lookalike.core.scan.discovery import walk
from lookalike.core.engines.embedder import Embedder
from lookalike.core.engines.index import open_index
from lookalike.core.engines.manifest import default_manifest_path, load_manifest
from lookalike.core.scan.progress import ScanProgress
from lookalike.core.scan.pipeline import ScanReport, Scanner

#: Rows written per transaction when faking an already-scanned library.
_SIMULATED_BATCH = 5000


def embedder(device: str = "auto", threads: int | None = None) -> Embedder:
    """The shipped model as the app opens it (default threads: cores - 1)."""
    return Embedder(load_manifest(default_manifest_path()), device, threads=threads)  # type: ignore[arg-type]


def scan(
    folder: Path | str,
    catalog_path: Path | str,
    workers: int,
    model: Embedder | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
) -> ScanReport:
    """One `Scanner.run` over `folder` into the catalog at `catalog_path`."""
    with Catalog(catalog_path) as catalog:
        scanner = Scanner(catalog, model or embedder(), workers=workers)
        return scanner.run([folder], progress=progress, cancel=threading.Event())


def simulate_scanned(folder: Path | str, catalog_path: Path | str, model_id: str, dim: int) -> int:
    """Make the catalog look as if `folder` had been scanned, without decoding.

    Every file gets the rows a scan would write (its real path, size, mtime and
    inode, plausible metadata, a random unit vector and structure signature), written through
    `Catalog.store` like the scan does, and the vector index is built as a finished
    scan builds it, so that an unchanged rescan of a library too large to embed
    here can be timed. Returns the number of files.
    """
    rng = np.random.default_rng(1)
    count = 0
    with Catalog(catalog_path) as catalog:
        root = str(Path(folder).resolve())
        root_id = catalog.add_root(root)
        batch: list[FileRecord] = []
        for found in walk([root]):
            location = Location(found.path, found.size, found.mtime_ns, found.inode, found.device, root_id)
            vector = rng.standard_normal(dim).astype(np.float32)
            batch.append(
                FileRecord(
                    location,
                    width=4000,
                    height=3000,
                    format="JPEG",
                    taken_at="2023-07-14T10:21:07",
                    camera="Canon EOS R6",
                    partial_hash=secrets.token_hex(16),
                    vector=vector / np.linalg.norm(vector),
                    signature=rng.integers(0, 256, structure.SIDE * structure.SIDE, dtype=np.uint8).tobytes(),
                )
            )
            if len(batch) >= _SIMULATED_BATCH:
                count += len(catalog.store(batch, model_id))
                batch = []
        count += len(catalog.store(batch, model_id))
        catalog.mark_scanned([root_id])
        open_index(catalog, model_id, dim)
    return count
