"""SQLite against PostgreSQL as the catalog, on the same photos: scan, regroup and review.

    python -m bench.catalogs [FOLDER] [--url postgresql://...] [--json]

FOLDER defaults to the devset, copied to a temporary folder (the review removes files).
Without --url a throwaway server is started as the tests start theirs (tests/postgres.py:
Debian's postgresql package, a temporary folder, a loopback port; fsync on, as a real
server runs, and SQLite keeps its own synchronous=NORMAL), so the server runs on
the same machine: the figures compare the two catalogs' own costs, without network latency.

- scan: a cold scan through the app's `Scanner` (2 decode workers), index and graph included;
- regroup: `find_groups` for every tier on the saved graph (median of 3);
- review: what a person does with the duplicate groups: a "keep this one" per group (one
  transaction each, as in the app), then one quarantine batch removing every other copy
  (journal rows written before each file is touched).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import datasets
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.engines.manifest import default_manifest_path, load_manifest
from lookalike.core.removal.deletion import execute, plan_from_review
from lookalike.core.review.decisions import remember_keeper
from lookalike.core.review.tiers import find_groups
from lookalike.core.scan.pipeline import Scanner

TIERS = ("identical", "duplicate", "burst", "similar")


def measure(location: Path | str, photos: Path, embedder: Embedder, work: Path) -> dict[str, float]:
    """Seconds for scan, regroup and review of a copy of `photos` in the catalog at `location`."""
    library = work / "library"
    shutil.copytree(photos, library)
    figures: dict[str, float] = {}
    with Catalog(location) as catalog:
        start = time.perf_counter()
        Scanner(catalog, embedder, workers=2).run([library])
        figures["scan_s"] = time.perf_counter() - start
        figures["photos"] = catalog.status_counts()["ok"]
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            groups = {kind: find_groups(catalog, embedder.model_id, kind) for kind in TIERS}
            timings.append(time.perf_counter() - start)
        figures["regroup_s"] = statistics.median(timings)
        figures["groups"] = sum(len(g) for g in groups.values())
        duplicates = groups["duplicate"]
        start = time.perf_counter()
        for group in duplicates:
            keeper = next(m.file.id for m in group.members if m.keep)
            remember_keeper(catalog, keeper, [m.file.id for m in group.members])
        figures["keep_choices_s"] = time.perf_counter() - start
        plan = plan_from_review(catalog, find_groups(catalog, embedder.model_id, "duplicate"))
        start = time.perf_counter()
        batch = execute(catalog, plan, "quarantine", work / "quarantine")
        figures["removal_batch_s"] = time.perf_counter() - start
        figures["removed"] = len(batch.done)
        figures["review_s"] = figures["keep_choices_s"] + figures["removal_batch_s"]
    shutil.rmtree(library, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalogs", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=datasets.DEVSET)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway local server)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not Path(args.folder).is_dir():
        print(f"no photo folder at {args.folder}", file=sys.stderr)
        return 2
    embedder = Embedder(load_manifest(default_manifest_path()), device="cpu")
    server = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(datasets.REPO / "tests"))
        from postgres import start_server

        server = start_server(durable=True)
        if isinstance(server, str):
            print(f"cannot start a PostgreSQL server: {server}", file=sys.stderr)
            return 2
        url = server.database()
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="lookalike-catalogs-") as temp:
            for name, location in (("sqlite", Path(temp) / "sqlite" / "catalog.sqlite"), ("postgresql", url)):
                work = Path(temp) / name
                work.mkdir(exist_ok=True)
                results[name] = measure(location, Path(args.folder), embedder, work)
    finally:
        if server is not None:
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'':<22}{'SQLite':>10}{'PostgreSQL':>12}")
    for key in ("photos", "scan_s", "regroup_s", "keep_choices_s", "removal_batch_s", "review_s", "groups", "removed"):
        a, b = results["sqlite"][key], results["postgresql"][key]
        fmt = "{:>10.0f}{:>12.0f}" if key in ("photos", "groups", "removed") else "{:>10.2f}{:>12.2f}"
        print(f"{key:<22}" + fmt.format(a, b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
