"""The Ray engine against the local engine on the same photos: photos/s of a first scan.

Each engine scans a fresh copy of the devset into a fresh catalog through the CLI,
as a person runs it: `lookalike scan` (decode threads + one ONNX session here) and
`lookalike scan --engine ray --workers 2` (a local Ray instance started by the
command, two actors with one ONNX session and one core each). photos/s is the
scan's own rate (photos embedded / the scan's elapsed time, walk and index update
included); `wall_s` adds the start-up (Python, the model, and for Ray the cluster).

`python -m bench.engines [--out FILE]` (needs the devset and the cluster extra).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import datasets, machine

RESULT = datasets.REPO / "bench" / "results" / "engines.json"
ENGINES: dict[str, list[str]] = {
    "local": ["--workers", "2"],
    "ray (local instance, 2 workers)": ["--engine", "ray", "--workers", "2"],
}


def scan(photos: Path, catalog: Path, extra: list[str]) -> dict[str, object]:
    command = [sys.executable, "-m", "lookalike", "--catalog", str(catalog), "scan", str(photos),
               "--device", "cpu", "--json", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    wall = time.perf_counter() - start
    report = json.loads(done.stdout)
    return {
        "photos": report["embedded"],
        "errors": report["errors"],
        "scan_s": round(report["elapsed"], 2),
        "photos_per_s": round(report["embedded"] / report["elapsed"], 1),
        "wall_s": round(wall, 2),
        "provider": report["provider"],
    }


def run() -> dict[str, object]:
    out: dict[str, object] = {"section": "engines", "machine": machine.describe(), "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as folder:
        for name, extra in ENGINES.items():
            photos = datasets.copy_devset(Path(folder) / name.split()[0])
            out[name] = scan(photos, Path(folder) / f"{name.split()[0]}.sqlite", extra)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    result = run()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
