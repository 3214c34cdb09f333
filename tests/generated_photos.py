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


def copied_pictures(folder: Path, originals: list[Path]) -> list[Path]:
    """A library of many duplicate groups: each original's four quarter crops are distinct
    pictures, each saved with a half-size copy, every other one re-encoded lower too, and
    every third one copied byte for byte, so groups differ in size and member count."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "again").mkdir(exist_ok=True)
    paths: list[Path] = []
    number = 0
    for original in originals:
        with Image.open(original) as photo:
            rgb = photo.convert("RGB")
        width, height = rgb.size
        for left, top in ((0, 0), (width // 2, 0), (0, height // 2), (width // 2, height // 2)):
            crop = rgb.crop((left, top, left + width // 2, top + height // 2))
            picture = folder / f"p{number:02}.jpg"
            crop.save(picture, quality=92)
            crop.resize((crop.width // 2, crop.height // 2)).save(folder / f"p{number:02}_small.jpg", quality=85)
            paths += [picture, folder / f"p{number:02}_small.jpg"]
            if number % 2 == 0:
                crop.save(folder / f"p{number:02}_low.jpg", quality=60)
                paths.append(folder / f"p{number:02}_low.jpg")
            if number % 3 == 0:
                paths.append(Path(shutil.copyfile(picture, folder / "again" / picture.name)))
            number += 1
    return paths
