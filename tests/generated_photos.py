"""Photos made on the fly for tests that need many files: distinct, small, real JPEGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def small_jpegs(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """`count` distinct 96x72 noise JPEGs: quick to decode, so embedding sets a scan's pace."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = [folder / f"p{number:04}.jpg" for number in range(count)]
    for path in paths:
        Image.fromarray(rng.integers(0, 256, (72, 96, 3), dtype=np.uint8)).save(path)
    return paths
