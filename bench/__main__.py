"""`python -m bench [SECTION ...] [--quick] [--out DIR]`: run the benchmarks, write
one JSON per section and render docs/benchmarks.md from every result there.

Sections: quality, realset, gpu, throughput, scale (all by default, in that order:
scale comes last because it adapts its largest size to the time left of the
20-minute budget). `render` re-renders the page from existing results only.
`--quick` uses small sizes and writes under /tmp, never over the committed results.
`scale --photos N` measures that one library size (1,000,000 included) and adds
it to the saved scale results beside the other sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench import datasets, machine
from bench.report import render
from bench.targets import as_json, evaluate

RESULTS = datasets.REPO / "bench" / "results"
DOC = datasets.REPO / "docs" / "benchmarks.md"
SECTIONS = ("quality", "realset", "gpu", "throughput", "scale")
BUDGET_S = 20 * 60
#: Left at the end of the budget for rendering and slack.
RESERVE_S = 45


@dataclass(frozen=True)
class Sizes:
    big_count: int = 500
    library_sizes: tuple[int, ...] = (10_000, 100_000)
    tiny_first: int = 1000
    profile_count: int = 100
    search_sizes: tuple[int, ...] = (10_000, 100_000)
    graph_sizes: tuple[int, ...] = (10_000, 100_000)
    target: int = 1_000_000


QUICK = Sizes(big_count=24, library_sizes=(1000, 3000), tiny_first=40, profile_count=12,
              search_sizes=(2000, 5000), graph_sizes=(2000, 5000))


def _run_section(name: str, sizes: Sizes, out: Path, deadline: float) -> dict[str, object]:
    if name == "quality":
        from bench import quality

        return quality.run((DOC.parent if out == RESULTS else out) / "threshold_sweep.png")
    if name == "realset":
        from bench import realset

        return realset.run()
    if name == "gpu":
        from bench import gpu

        has_big = (datasets.CACHE / f"jpeg12mp_{sizes.big_count}" / "recipe.json").exists()
        return gpu.run(datasets.big_jpegs(sizes.big_count) if has_big and machine.gpu_names() else None)
    if name == "throughput":
        from bench import throughput

        return throughput.run(sizes.big_count, sizes.library_sizes, sizes.tiny_first, sizes.profile_count)
    from bench import scale

    return scale.run(sizes.search_sizes, sizes.graph_sizes, sizes.target, deadline - RESERVE_S)


def load_results(folder: Path) -> dict[str, dict]:
    found = {}
    for name in SECTIONS:
        path = folder / f"{name}.json"
        if path.is_file():
            found[name] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)}, or render")
    parser.add_argument("--quick", action="store_true", help="small sizes, results under /tmp (for development)")
    parser.add_argument("--out", type=Path, help="results folder (default bench/results, or /tmp/... with --quick)")
    parser.add_argument("--photos", type=int, help="scale only: measure this one library size and add it to the results")
    args = parser.parse_args(argv)
    unknown = set(args.sections) - {*SECTIONS, "render"}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if args.photos is not None and (args.sections != ["scale"] or args.photos < 1000):
        parser.error("--photos goes with the scale section alone, and at least 1000 photos")
    sizes = QUICK if args.quick else Sizes()
    out = args.out or (Path("/tmp/lookalike-bench-quick") if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    wanted = [s for s in SECTIONS if s in args.sections] or ([] if "render" in args.sections else list(SECTIONS))

    started = time.monotonic()
    deadline = started + BUDGET_S
    for name in wanted:
        print(f"[{time.monotonic() - started:5.0f} s] {name} ...", flush=True)
        section_start = time.monotonic()
        info = machine.describe()
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if args.photos is not None:
            from bench import scale

            previous = load_results(out).get("scale", {}).get("results")
            results = scale.run_one(args.photos, previous, sizes.target)
        else:
            results = _run_section(name, sizes, out, deadline)
        _write_json(out / f"{name}.json", {
            "section": name,
            "machine": info,
            "started_at": stamp,
            "seconds": round(time.monotonic() - section_start, 1),
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "sizes": asdict(sizes),
            "results": results,
        })
    results = load_results(out)
    verdicts = evaluate(results)
    _write_json(out / "targets.json", as_json(verdicts))
    doc = DOC if out == RESULTS else out / "benchmarks.md"
    doc.write_text(render(results), encoding="utf-8")
    print(f"[{time.monotonic() - started:5.0f} s] wrote {out}/*.json and {doc}")
    for v in verdicts:
        status = "not measured" if v.met is None else ("met" if v.met else "MISSED")
        print(f"  {status:12} {v.name}: {v.value} {v.unit} ({v.margin})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
