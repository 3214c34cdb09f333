"""The inputs of the benchmarks: the labelled devset, a cached set of 12-megapixel
JPEGs, libraries of many tiny files, and clustered synthetic vectors.

Generated photo sets are made once and kept under `bench/.cache` (or
`$LOOKALIKE_BENCH_CACHE`), since making 500 12-MP JPEGs costs minutes; the
devset is read-only and is always copied before a scan touches it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from lookalike.core.scan.images import is_supported

REPO = Path(__file__).resolve().parent.parent
DEVSET = Path(os.environ.get("LOOKALIKE_DEVSET", REPO.parent / "shared" / "data" / "devset"))
CACHE = Path(os.environ.get("LOOKALIKE_BENCH_CACHE", REPO / "bench" / ".cache"))

#: The 12-MP set: devset photos upscaled to a camera's 4000 x 3000 and saved as
#: a camera would (quality 92). Bump _BIG_VERSION when the recipe changes.
BIG_SIZE = (4000, 3000)
BIG_QUALITY = 92
_BIG_VERSION = 1
#: Distinct tiny photos behind a many-file library (the rest are hard links).
_TINY_DISTINCT = 256
#: Synthetic vectors: weight of the direction all photos share, and the rank of
#: the subspace cluster centres vary in (fitted to the devset, see clustered_vectors).
_COMMON = 0.3
_SUBSPACE = 150


def truth() -> dict:
    """The devset's labels (see its README.md)."""
    return json.loads((DEVSET / "truth.json").read_text(encoding="utf-8"))


def require_devset() -> Path:
    if not (DEVSET / "truth.json").is_file():
        raise SystemExit(f"devset not found at {DEVSET}; set LOOKALIKE_DEVSET")
    return DEVSET


def copy_devset(target: Path) -> Path:
    """A private copy of the devset (scans write nothing there, but stay safe)."""
    shutil.copytree(require_devset(), target)
    return target


def cache_dir(name: str) -> Path:
    """A folder under the cache, which ignores itself in git wherever it lives."""
    CACHE.mkdir(parents=True, exist_ok=True)
    marker = CACHE / ".gitignore"
    if not marker.exists():
        marker.write_text("*\n", encoding="utf-8")
    folder = CACHE / name
    folder.mkdir(exist_ok=True)
    return folder


def _source_photos() -> list[Path]:
    """Devset JPEGs that are distinct photos (originals, distractors, scene pairs)."""
    labels = truth()
    names = [group[0] for group in labels["groups"]] + labels["distractors"]
    names += [name for pair in labels["similar"] for name in pair]
    return [DEVSET / name for name in names if name.lower().endswith(".jpg")]


def _make_big(job: tuple[str, str, int]) -> int:
    """Upscale one source to 4000 x 3000 and save it; `shift` trims a few % so that
    files made from the same source differ (no accidental byte-identical copies)."""
    source, target, shift = job
    with Image.open(source) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    if shift:
        w, h = upright.size
        cut = shift * 0.02
        upright = upright.crop((int(w * cut), 0, w, int(h * (1 - cut / 2))))
    if upright.height > upright.width:
        upright = upright.rotate(90, expand=True)
    upright.resize(BIG_SIZE, Image.Resampling.BICUBIC).save(target, quality=BIG_QUALITY)
    return os.path.getsize(target)


def big_jpegs(count: int, processes: int = 2) -> Path:
    """A folder of `count` 12-MP JPEGs, generated on first use and then reused."""
    folder = cache_dir(f"jpeg12mp_{count}")
    recipe = {"count": count, "size": BIG_SIZE, "quality": BIG_QUALITY, "version": _BIG_VERSION}
    stamp = folder / "recipe.json"
    if stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")) == json.loads(json.dumps(recipe)):
        return folder
    for old in folder.glob("*.jpg"):
        old.unlink()
    sources = _source_photos()
    jobs = [
        (str(sources[i % len(sources)]), str(folder / f"big_{i:04d}.jpg"), i // len(sources))
        for i in range(count)
    ]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        list(pool.map(_make_big, jobs, chunksize=8))
    stamp.write_text(json.dumps(recipe), encoding="utf-8")
    return folder


def photo_files(folder: Path) -> list[Path]:
    """The files a scan of `folder` would try to decode (supported extensions), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_supported(p))


def tiny_library(count: int, per_folder: int = 1000) -> Path:
    """`count` small JPEGs in folders of `per_folder`: 256 distinct files, the rest
    hard links to them (cheap to make; each path is still its own catalog row)."""
    folder = cache_dir(f"tiny_{count}")
    stamp = CACHE / f"tiny_{count}.json"  # beside, not inside: the folder holds photos only
    if stamp.exists():
        return folder
    shutil.rmtree(folder)
    folder.mkdir()
    originals = _tiny_originals()
    for i in range(count):
        sub = folder / f"album_{i // per_folder:04d}"
        if i % per_folder == 0:
            sub.mkdir()
        os.link(originals[i % len(originals)], sub / f"img_{i:07d}.jpg")
    stamp.write_text(json.dumps({"count": count}), encoding="utf-8")
    return folder


def _tiny_originals() -> list[Path]:
    folder = cache_dir("tiny_originals")
    made = sorted(folder.glob("*.jpg"))
    if len(made) == _TINY_DISTINCT:
        return made
    rng = np.random.default_rng(7)
    sources = _source_photos()
    for i in range(_TINY_DISTINCT):
        with Image.open(sources[i % len(sources)]) as image:
            small = image.convert("RGB").resize((96, 72), Image.Resampling.BOX)
        noise = rng.integers(-6, 7, (72, 96, 3))
        pixels = np.clip(np.asarray(small, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"tiny_{i:03d}.jpg", quality=85)
    return sorted(folder.glob("*.jpg"))


def clustered_vectors(count: int, dim: int, seed: int = 0, chunk: int = 50_000) -> Iterator[np.ndarray]:
    """Unit vectors in chunks, shaped like the shipped model's embeddings of a library.

    Photos come in bursts: each vector is a cluster centre (~8 photos a cluster)
    plus noise of a random strength, so cosines to the centre spread from ~0.99
    (near copies) to ~0.6 (loosely related). Centres share a common direction and
    vary in a ~150-dimensional subspace, which reproduces what the devset shows
    for unrelated photos (cosine mean ~0.20, sd ~0.06; pooled CNN features are
    non-negative and low-rank): isotropic noise in 1280 dimensions would put every
    unrelated pair at 0 +- 0.03, far easier for a nearest-neighbour search.
    """
    rng = np.random.default_rng(seed)
    clusters = max(1, count // 8)
    common = rng.standard_normal(dim).astype(np.float32)
    common /= np.linalg.norm(common)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, _SUBSPACE)).astype(np.float32))
    centres = rng.standard_normal((clusters, _SUBSPACE), dtype=np.float32) @ basis.T
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    centres = np.sqrt(np.float32(_COMMON)) * common + np.sqrt(np.float32(1 - _COMMON)) * centres
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        which = rng.integers(0, clusters, n)
        spread = rng.uniform(0.1, 1.3, (n, 1)).astype(np.float32) / np.sqrt(dim, dtype=np.float32)
        block = centres[which] + spread * rng.standard_normal((n, dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        yield block
