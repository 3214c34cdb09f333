"""Decode and embed rates, each stage alone: which one limits a scan?

    python bench/embed.py [FOLDER]      (default: the devset)

Prints decode img/s (the app's `images.decode` to model size, in a thread pool
like the Scanner's) and embed img/s (the app's `Embedder` on pre-decoded pixels,
batches of 32) for 1 and 2 workers/threads. The throughput benchmark reuses
these functions to explain its scan figures.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets, machine  # noqa: E402
from lookalike.core.engines.embedder import Embedder  # noqa: E402
from lookalike.core.scan.images import ImageError, decode  # noqa: E402
from lookalike.core.engines.manifest import default_manifest_path, load_manifest  # noqa: E402

BATCH = 32


def _decode_one(path: Path, size: tuple[int, int], resize: str) -> np.ndarray | None:
    try:
        return decode(path, size, resize).pixels  # type: ignore[arg-type]
    except ImageError:
        return None


def decode_rate(files: Sequence[Path], workers: int, size: tuple[int, int] = (224, 224), resize: str = "squash") -> tuple[float, list[np.ndarray]]:
    """(files/s, decoded pixels) for decoding `files` with `workers` threads."""
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        pixels = list(pool.map(lambda p: _decode_one(p, size, resize), files))
    seconds = time.perf_counter() - start
    return len(files) / seconds, [p for p in pixels if p is not None]


def embed_rate(
    pixels: Sequence[np.ndarray],
    threads: int | None,
    device: str = "cpu",
    manifest_path: Path | None = None,
    batch: int = BATCH,
) -> tuple[float, str]:
    """(images/s, provider) for embedding pre-decoded pixels in batches.

    `threads` None means the app's default. One warm-up batch first: session
    start-up and first-run allocation are not what a long scan pays per image.
    """
    embedder = Embedder(load_manifest(manifest_path or default_manifest_path()), device, threads=threads)  # type: ignore[arg-type]
    embedder.embed(list(pixels[:batch]), batch)
    start = time.perf_counter()
    embedder.embed(list(pixels), batch)
    return len(pixels) / (time.perf_counter() - start), embedder.provider


def stage_rates(files: Sequence[Path], workers: Sequence[int] = (1, 2)) -> dict[str, dict[str, float]]:
    """Decode and embed rates for each worker count, as JSON-ready data."""
    out: dict[str, dict[str, float]] = {}
    pixels: list[np.ndarray] = []
    for count in workers:
        rate, pixels = decode_rate(files, count)
        out[f"decode_{count}"] = {"workers": count, "img_per_s": round(rate, 1)}
    for count in workers:
        rate, provider = embed_rate(pixels, count)
        out[f"embed_{count}"] = {"threads": count, "img_per_s": round(rate, 1), "provider": provider}
    return out


def main(argv: Sequence[str]) -> int:
    folder = Path(argv[0]) if argv else datasets.require_devset()
    files = datasets.photo_files(folder)
    print(f"{len(files)} files in {folder}; {machine.one_line(machine.describe())}")
    for name, row in stage_rates(files).items():
        stage, count = name.split("_")
        print(f"{stage:6} x{count}: {row['img_per_s']:7.1f} img/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
