"""Throughput: cold scans through the app's Scanner against a plain pHash pass over
the same files, and unchanged rescans of large libraries against a bare walk.

Every timed run happens in a fresh spawned process (`measure.isolated`), so
each starts with the same cold Python state and its peak memory is its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import imagehash
from PIL import Image

from bench import app, datasets
from bench.embed import stage_rates
from bench.measure import isolated, profiled, rss_mb

#: Scanner decode workers compared (the app's default is 2).
WORKERS = (1, 2)


# --- children (module level: run in spawned processes) --------------------------


def cold_scan(folder: str, catalog_path: str, workers: int) -> dict[str, object]:
    """One Scanner run on a fresh catalog; RSS is sampled against files done so a
    growing footprint (memory that scales with the library) would show."""
    model = app.embedder()
    curve: list[tuple[int, float]] = []

    def progress(snapshot) -> None:  # type: ignore[no-untyped-def]
        if snapshot.phase == "embedding" and (not curve or snapshot.files_done - curve[-1][0] >= 25):
            curve.append((snapshot.files_done, round(rss_mb(), 1)))

    start = time.perf_counter()
    report = app.scan(folder, catalog_path, workers, model, progress)
    seconds = time.perf_counter() - start
    files = report.new + report.changed + report.reembedded
    return {
        "workers": workers,
        "embed_threads": model.session.get_session_options().intra_op_num_threads,
        "provider": report.provider,
        "files": files,
        "embedded": report.embedded,
        "errors": report.errors,
        "seconds": round(seconds, 2),
        "img_per_s": round(files / seconds, 2),
        "rss_by_files_done": curve,
    }


def _hash_one(path: str) -> bool:
    """pHash as dupeGuru/Czkawka-style tools take it: open, decode in full, hash."""
    try:
        with Image.open(path) as image:
            imagehash.phash(image)
        return True
    except Exception:  # noqa: BLE001 - a broken file costs the baseline one file too
        return False


def phash_pass(files: Sequence[str]) -> dict[str, object]:
    """A single-process pHash over `files`: the baseline a scan is compared with."""
    start = time.perf_counter()
    hashed = sum(_hash_one(path) for path in files)
    seconds = time.perf_counter() - start
    return {"files": len(files), "hashed": hashed, "seconds": round(seconds, 2), "img_per_s": round(len(files) / seconds, 2)}


def build_library_catalog(folder: str, catalog_path: str) -> dict[str, object]:
    """Fake the first scan of a big library (see `app.simulate_scanned`)."""
    model = app.embedder("cpu")
    start = time.perf_counter()
    count = app.simulate_scanned(folder, catalog_path, model.model_id, model.dim)
    return {"files": count, "seconds": round(time.perf_counter() - start, 2)}


def rescan(folder: str, catalog_path: str) -> dict[str, object]:
    """An unchanged rescan, twice: the first (catalog not yet in this process) is the figure."""
    model = app.embedder("cpu")
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        report = app.scan(folder, catalog_path, 2, model)
        runs.append(time.perf_counter() - start)
        if report.unchanged == 0 or report.embedded or report.new or report.changed:
            raise RuntimeError(f"rescan was not a no-op: {report.to_dict()}")
    return {"files": report.unchanged, "reopened": report.embedded, "seconds": round(runs[0], 3), "second_run_s": round(runs[1], 3)}


def bare_walk(folder: str) -> dict[str, object]:
    """The floor under any rescan: os.walk + stat of every file, nothing else."""
    start = time.perf_counter()
    count = 0
    for base, _dirs, names in os.walk(folder):
        for name in names:
            os.stat(os.path.join(base, name))
            count += 1
    return {"files": count, "seconds": round(time.perf_counter() - start, 3)}


# --- the section ----------------------------------------------------------------


def _scan_set(name: str, folder: Path, work: Path) -> dict[str, object]:
    """Cold scans with 1 and 2 workers and the pHash pass over the same files."""
    files = [str(p) for p in datasets.photo_files(folder)]
    sizes = [os.path.getsize(p) for p in files]
    out: dict[str, object] = {
        "files": len(files),
        "mean_file_mb": round(sum(sizes) / len(sizes) / 2**20, 2),
    }
    for workers in WORKERS:
        result, memory = isolated(cold_scan, str(folder), str(work / f"{name}_{workers}w.sqlite"), workers)
        out[f"scan_{workers}w"] = result | memory
        print(f"  {name}: scan with {workers} worker(s): {result['img_per_s']} img/s", flush=True)
    result, memory = isolated(phash_pass, files)
    out["phash"] = result | memory
    print(f"  {name}: pHash baseline: {result['img_per_s']} img/s", flush=True)
    best = max(out[f"scan_{w}w"]["img_per_s"] for w in WORKERS)  # type: ignore[index]
    out["ratio_scan2_to_phash"] = round(out["scan_2w"]["img_per_s"] / result["img_per_s"], 2)  # type: ignore[index]
    out["best_img_per_s"] = best
    return out


def _limits(folder: Path, work: Path, count: int) -> dict[str, object]:
    """Why a scan runs at the speed it does: each stage alone, and a profiled scan."""
    files = datasets.photo_files(folder)[:count]
    subset = work / "profile_subset"
    subset.mkdir()
    for path in files:
        try:
            os.link(path, subset / path.name)
        except OSError:  # another file system: a copy times the same
            shutil.copy2(path, subset / path.name)
    stages = stage_rates(files)
    _, profile = profiled(app.scan, subset, work / "profiled.sqlite", 2)
    return {"files": len(files), "stages": stages, "profile": profile}


def _library(count: int, work: Path) -> dict[str, object]:
    """Unchanged rescan of `count` tiny files (first scan simulated) against a bare walk."""
    folder = datasets.tiny_library(count)
    catalog = str(work / f"library_{count}.sqlite")
    built, _ = isolated(build_library_catalog, str(folder), catalog)
    walked, _ = isolated(bare_walk, str(folder))
    rescanned, memory = isolated(rescan, str(folder), catalog)
    catalog_bytes = sum(p.stat().st_size for p in work.glob(f"library_{count}.sqlite*"))
    print(f"  rescan of {count} unchanged files: {rescanned['seconds']} s (bare walk {walked['seconds']} s)", flush=True)
    return {
        "files": count,
        "simulated_first_scan_s": built["seconds"],
        "rescan": rescanned | memory,
        "bare_walk": walked,
        "overhead_vs_walk": round(rescanned["seconds"] / max(walked["seconds"], 1e-6), 1),  # type: ignore[operator]
        "catalog_bytes_per_photo": round(catalog_bytes / count),
    }


def _first_scan_tiny(count: int, work: Path) -> dict[str, object]:
    """A real first scan of `count` tiny files: the rate used to estimate 10k/100k."""
    folder = datasets.tiny_library(count)
    result, memory = isolated(cold_scan, str(folder), str(work / f"tiny_first_{count}.sqlite"), 2)
    return result | memory


def run(big_count: int, library_sizes: Sequence[int], tiny_first: int, profile_count: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as tmp:
        work = Path(tmp)
        print("  generating / reusing the 12-MP set ...", flush=True)
        start = time.perf_counter()
        big = datasets.big_jpegs(big_count)
        generated_s = time.perf_counter() - start
        devset = datasets.copy_devset(work / "devset")
        results: dict[str, object] = {
            "devset": _scan_set("devset", devset, work),
            "jpeg12mp": _scan_set("jpeg12mp", big, work) | {"generation_s": round(generated_s, 1)},
            "limits": _limits(big, work, profile_count),
            "tiny_first_scan": _first_scan_tiny(tiny_first, work),
            "rescan": {str(n): _library(n, work) for n in library_sizes},
        }
        # Where does an unchanged rescan spend its time? (in-process, catalog already built)
        biggest = max(library_sizes)
        _, profile = profiled(app.scan, datasets.tiny_library(biggest), work / f"library_{biggest}.sqlite", 2, app.embedder("cpu"))
        results["rescan_profile"] = {"files": biggest, **profile}
        return results
