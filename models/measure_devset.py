#!/usr/bin/env python3
"""Cosine similarities of an ONNX embedder on the labelled devset.

    python models/measure_devset.py [--manifest models/efficientnet_lite0.json]
        [--devset ../shared/data/devset] [--modes squash center_crop]

Preprocessing follows the manifest and the app: Pillow, JPEG draft decoding,
EXIF orientation applied, RGB, BILINEAR resize ("squash" = whole image to the
input size; "center_crop" = shorter side to the input size, centre crop),
(pixel - mean) / std, NCHW. Embeddings are L2-normalised. Prints a Markdown
table: one column per preprocessing mode, reads the devset only.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # HEIC files then fail to open and are reported
    pass

HERE = Path(__file__).resolve().parent
DEFAULT_DEVSET = HERE.parent.parent / "shared" / "data" / "devset"


def load(path: Path, size: tuple[int, int], mode: str) -> np.ndarray:
    """Decode to an upright RGB uint8 array of `size` (height, width)."""
    height, width = size
    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", (width, height))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    if mode == "squash":
        resized = upright.resize((width, height), Image.Resampling.BILINEAR)
    elif mode == "center_crop":
        resized = ImageOps.fit(upright, (width, height), Image.Resampling.BILINEAR)
    else:
        raise ValueError(f"unknown resize mode {mode!r}")
    return np.asarray(resized, dtype=np.uint8)


class Embedder:
    def __init__(self, manifest_path: Path, threads: int) -> None:
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        model = manifest_path.parent / self.manifest["file"]
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.mean = np.asarray(self.manifest["mean"], dtype=np.float32)
        self.std = np.asarray(self.manifest["std"], dtype=np.float32)

    def __call__(self, paths: list[Path], mode: str, batch: int = 16) -> np.ndarray:
        size = tuple(self.manifest["input_size"])
        out = []
        for start in range(0, len(paths), batch):
            pixels = np.stack([load(p, size, mode) for p in paths[start : start + batch]])
            x = ((pixels.astype(np.float32) - self.mean) / self.std).transpose(0, 3, 1, 2)
            feed = {self.manifest["input_name"]: np.ascontiguousarray(x)}
            out.append(self.session.run([self.manifest["output_name"]], feed)[0])
        vectors = np.concatenate(out)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def measure(truth: dict[str, Any], vectors: dict[str, np.ndarray]) -> dict[str, str]:
    """Row label -> formatted statistic."""

    def cos(a: str, b: str) -> float:
        return float(vectors[a] @ vectors[b])

    rows: dict[str, str] = {}
    by_kind: dict[str, list[float]] = defaultdict(list)
    for group in truth["groups"]:
        original, *copies = group
        for copy in copies:
            by_kind[truth["variant_kind"][copy]].append(cos(original, copy))
    for kind in sorted(by_kind):
        values = by_kind[kind]
        rows[f"dup `{kind}` (n={len(values)}): min / mean"] = f"{min(values):.3f} / {np.mean(values):.3f}"
    kept = [v for k, vs in by_kind.items() if k != "rot90_pixels" for v in vs]
    rows["dup, all kinds except rot90_pixels: min"] = f"{min(kept):.3f}"

    identical = [cos(a, b) for a, b in truth["identical"]]
    rows[f"identical files (n={len(identical)}): min"] = f"{min(identical):.3f}"
    similar = [cos(a, b) for a, b in truth["similar"]]
    rows[f"similar pairs (n={len(similar)}): min / mean / max"] = (
        f"{min(similar):.3f} / {np.mean(similar):.3f} / {max(similar):.3f}"
    )

    originals = [g[0] for g in truth["groups"]]
    distractors = list(truth["distractors"])
    o = np.stack([vectors[n] for n in originals])
    d = np.stack([vectors[n] for n in distractors])
    off_diagonal = ~np.eye(len(d), dtype=bool)
    o_off = ~np.eye(len(o), dtype=bool)
    rows["original vs distractor: max"] = f"{(o @ d.T).max():.3f}"
    rows["distractor vs distractor: max"] = f"{(d @ d.T)[off_diagonal].max():.3f}"
    rows["original vs other original: max"] = f"{(o @ o.T)[o_off].max():.3f}"

    # One threshold for "duplicate": copies (not rot90_pixels) and identical files
    # must be above it; similar pairs and unrelated photos below it.
    positives = np.asarray(kept + identical)
    negatives = np.concatenate(
        [similar, (o @ d.T).ravel(), (d @ d.T)[np.triu(off_diagonal)], (o @ o.T)[np.triu(o_off)]]
    )
    best = min(
        (int((positives < t).sum() + (negatives >= t).sum()), float(t)) for t in np.concatenate([positives, negatives])
    )
    t = best[1]
    rows["best single threshold: missed dups + false dups"] = (
        f"{t:.3f}: {(positives < t).sum()} + {(negatives >= t).sum()}"
    )
    zero_fp = positives > negatives.max()
    rows[f"dups above every non-dup pair (of {len(positives)})"] = f"{zero_fp.sum()}"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=HERE / "efficientnet_lite0.json")
    parser.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    parser.add_argument("--modes", nargs="+", default=["squash", "center_crop"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    truth = json.loads((args.devset / "truth.json").read_text(encoding="utf-8"))
    names = sorted(
        {n for g in truth["groups"] for n in g}
        | {n for pair in truth["identical"] + truth["similar"] for n in pair}
        | set(truth["distractors"])
    )
    embed = Embedder(args.manifest, args.threads)
    table: dict[str, dict[str, str]] = {}
    for mode in args.modes:
        vectors = embed([args.devset / n for n in names], mode)
        table[mode] = measure(truth, dict(zip(names, vectors)))

    print(f"{embed.manifest['name']}, {len(names)} images\n")
    print("| cosine | " + " | ".join(args.modes) + " |")
    print("|---|" + "---|" * len(args.modes))
    for label in table[args.modes[0]]:
        print(f"| {label} | " + " | ".join(table[m][label] for m in args.modes) + " |")


if __name__ == "__main__":
    main()
