"""The library side of a scale run: a catalog of `count` photos on disk, its size, and
an unchanged rescan of `count` real files.

`bench/scale.py` measures the vector index and the graph on synthetic vectors; this
writes those same vectors into a real catalog, as a finished first scan leaves it,
for the files of `datasets.tiny_library(count)` (256 distinct tiny JPEGs, the rest
hard links, one folder per 1,000): each row holds the file's real path, size, mtime
and inode, the signature a scan makes of its pixels (`structure.signature`), its
vector and the metadata a scan stores (no detail thumbnail: a proof makes those
from the files, core/matching/evidence.py). The rows are written with one bulk INSERT per table, not
through `Catalog.store` (whose per-batch ORM work would take ~50 min at 1M), but
with the vectors packed by the same `core/catalog/blobs.py` function, so the bytes
on disk are the app's. The index built by scale.py is saved beside it, as a
finished scan saves it, so the rescan is the app's `Scanner.run` that reopens
nothing (checked), timed in a fresh process, beside a bare walk + stat.

The graph scale.py built is saved beside it too, with one simulated part: the
pairs whose structural score reaches PROVE_DUPLICATE are taken as proven the same
picture (synthetic vectors have no pixels to prove), so the duplicate view holds
the groups scale.py's regroup counts. `lookalike duplicates` is then run as a
person runs it, and timed from its start to its first line on stdout, with its
peak memory: what opening a 1M catalog costs before anything is shown; and the
desktop app is opened on it (`bench/app_open.py`): its first duplicate groups on
screen, and its peak memory until every tab has filled.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import psutil

from bench import app, app_open, datasets
from bench.measure import isolated
from bench.throughput import bare_walk, rescan
from lookalike.core.catalog import blobs
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines import index as vector_index
from lookalike.core.engines.index import VectorIndex
from lookalike.core.matching import proof, structure
from lookalike.core.matching.graph import PROVE_DUPLICATE, KnnGraph, graph_path, graph_token
from lookalike.core.scan.discovery import FoundFile, walk
from lookalike.core.scan.images import decode

#: Rows per executemany: big enough to amortise Python, small enough to stream.
_BATCH = 20_000


def _signatures(model: app.Embedder, found: list[FoundFile]) -> dict[int, bytes]:
    """The structure signature of each distinct file (by inode), made from its pixels as
    the scan makes it: the hard links share their original's."""
    out: dict[int, bytes] = {}
    for item in found:
        if item.inode not in out:
            out[item.inode] = structure.signature(decode(item.path, model.input_size, model.manifest.resize).pixels)
    return out


def _file_rows(found: list[FoundFile], root_id: int, now: float) -> Iterator[tuple[object, ...]]:
    for fid, item in enumerate(found, start=1):
        yield (
            fid, root_id, item.path, item.size, item.mtime_ns, item.inode, item.device,
            secrets.token_hex(8), secrets.token_hex(16), 4000, 3000, "JPEG", "2023-07-14T10:21:07",
            "2023-07-14T10:21:07.25", "Canon EOS R6", 0, 0, 812.5, 0.01, 0.02, 0.47, "ok", None, now,
        )


_FILE_COLUMNS = (
    "id, root_id, path, size, mtime_ns, inode, device, partial_hash, full_hash, width, height, format, "
    "taken_at, captured, camera, has_gps, grey, sharpness, highlights, shadows, brightness, status, error, scanned_at"
)


def build_catalog(folder: Path, catalog_path: Path, vectors: np.ndarray, model: app.Embedder) -> dict[str, object]:
    """The catalog a finished first scan of `folder` leaves (file i gets vector row i-1)."""
    start = time.perf_counter()
    root = str(folder.resolve())
    found = list(walk([root]))
    if len(found) != len(vectors):
        raise ValueError(f"{len(found)} files on disk for {len(vectors)} vectors")
    signatures = _signatures(model, found)
    with Catalog(catalog_path) as catalog:
        root_id = catalog.add_root(root)
        catalog.mark_scanned([root_id])
    db = sqlite3.connect(catalog_path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        with db:
            rows = _file_rows(found, root_id, time.time())
            marks = ", ".join("?" * len(_FILE_COLUMNS.split(", ")))
            while batch := [row for _, row in zip(range(_BATCH), rows)]:
                db.executemany(f"INSERT INTO files ({_FILE_COLUMNS}) VALUES ({marks})", batch)
            for first in range(0, len(found), _BATCH):
                block = range(first, min(first + _BATCH, len(found)))
                db.executemany(
                    "INSERT INTO embeddings (file_id, model_id, vector) VALUES (?, ?, ?)",
                    ((i + 1, model.model_id, blobs.pack_vector(vectors[i])) for i in block),
                )
                db.executemany(
                    "INSERT INTO signatures (file_id, data) VALUES (?, ?)", ((i + 1, signatures[found[i].inode]) for i in block)
                )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return {"seconds": round(time.perf_counter() - start, 1), "distinct_files": len(signatures)}


def save_index(catalog_path: Path, model_id: str, index: VectorIndex) -> float:
    """Save the index scale.py built as a finished scan saves it (with its catalog record)."""
    start = time.perf_counter()
    with Catalog(catalog_path) as catalog:
        state = vector_index.catalog_state(catalog, model_id)
        index.token = state.token
        path = catalog.index_path(model_id)
        vector_index._save_projection(vector_index.projection_path(path), index.projection)  # noqa: SLF001
        index.save(path)
        stamps = vector_index.catalog_stamps(catalog, model_id)
        vector_index._write_state(vector_index.sidecar_path(path), state.token, stamps, index.projection)  # noqa: SLF001
    return time.perf_counter() - start


def save_graph(catalog_path: Path, model_id: str, graph: KnnGraph) -> float:
    """Save scale.py's graph as the cached graph of the catalog, candidates above
    PROVE_DUPLICATE taken as proven (see the module's docstring)."""
    start = time.perf_counter()
    score = np.nan_to_num(graph.structure, nan=-1.0)  # type: ignore[arg-type]
    verdicts = np.where(score >= PROVE_DUPLICATE, proof.Verdict.SAME_PICTURE, proof.Verdict.UNCHECKED).astype(np.int8)
    with Catalog(catalog_path) as catalog:
        replace(graph, proof=verdicts, token=graph_token(catalog, model_id)).save(graph_path(catalog, model_id))
    return time.perf_counter() - start


#: How long `lookalike duplicates` may take to show its first group before the run gives
#: up on it (keeps a 1M run within its time budget; the figure is then a lower bound).
OPEN_TIMEOUT_S = 300


def open_to_groups(catalog_path: Path) -> dict[str, object]:
    """`lookalike duplicates` on the catalog: seconds to its first line on stdout and to
    its end, and its peak resident memory (sampled every 20 ms while it runs). Stopped
    after OPEN_TIMEOUT_S without a line: `gave_up_after_s` says so."""
    command = [sys.executable, "-m", "lookalike", "--catalog", str(catalog_path), "duplicates"]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = [0]

    def sample() -> None:
        watched = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                peak[0] = max(peak[0], watched.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    deadline = threading.Timer(OPEN_TIMEOUT_S, child.kill)
    deadline.start()
    first_line = child.stdout.readline()  # type: ignore[union-attr]
    first = time.perf_counter() - start
    deadline.cancel()
    rest, _ = child.communicate()
    sampler.join()
    memory = {"peak_rss_mb": round(peak[0] / 2**20, 1)}
    if not first_line and first >= OPEN_TIMEOUT_S:
        return {"first_line_s": None, "gave_up_after_s": OPEN_TIMEOUT_S} | memory
    if child.returncode != 0 or not first_line:
        raise RuntimeError(f"lookalike duplicates failed (exit {child.returncode})")
    return {
        "first_line_s": round(first, 2), "seconds": round(time.perf_counter() - start, 2),
        "lines": 1 + rest.count(b"\n"), **memory,
    }


def measure(count: int, vectors: np.ndarray, index: VectorIndex, graph: KnnGraph, work: Path) -> dict[str, object]:
    """The catalog on disk and the unchanged rescan at `count` photos (vectors: the library's,
    id i+1 for row i, as scale.py indexed them)."""
    start = time.perf_counter()
    folder = datasets.tiny_library(count)
    files_s = time.perf_counter() - start
    catalog_path = work / f"scale_{count}.sqlite"
    for old in work.glob(f"scale_{count}.*"):
        old.unlink()
    model = app.embedder("cpu")
    built = build_catalog(folder, catalog_path, vectors, model)
    with Catalog(catalog_path) as catalog:
        catalog_bytes = catalog.size_bytes()
    saved_s = save_index(catalog_path, model.model_id, index)
    graph_s = save_graph(catalog_path, model.model_id, graph)
    opened = open_to_groups(catalog_path)
    shown = app_open.measure(catalog_path)
    walked, _ = isolated(bare_walk, str(folder))
    rescanned, memory = isolated(rescan, str(folder), str(catalog_path))
    print(f"  {count:,} files: catalog {catalog_bytes / count:,.0f} B/photo, first groups after "
          f"{opened['first_line_s'] or f'more than {OPEN_TIMEOUT_S}'} s (app {shown['first_groups_s']} s, "
          f"peak {shown['peak_rss_mb']:,.0f} MB), rescan {rescanned['seconds']} s (bare walk {walked['seconds']} s)", flush=True)
    return {
        "catalog_bytes_per_photo": round(catalog_bytes / count),
        "open_to_groups_s": opened["first_line_s"],
        "rescan_s": rescanned["seconds"],
        "app_open_to_groups_s": shown["first_groups_s"],
        "app_peak_rss_mb": shown["peak_rss_mb"],
        "library": {
            "files_on_disk_s": round(files_s, 1),
            "catalog_build": built,
            "catalog_bytes": catalog_bytes,
            "index_save_s": round(saved_s, 2),
            "graph_save_s": round(graph_s, 2),
            "open_to_groups": opened,
            "app": shown,
            "rescan": rescanned | memory,
            "bare_walk": walked,
        },
    }
