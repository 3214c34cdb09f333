"""Issue acceptance on the devset: every duplicate variant beats every distractor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import decode

pytestmark = pytest.mark.devset
#: Sideways pixels without an EXIF tag need rotation-robust matching (a later step).
NOT_YET = {"rot90_pixels"}


def _embed(embedder: Embedder, folder: Path, names: list[str]) -> np.ndarray:
    return embedder.embed([decode(folder / n, embedder.input_size, embedder.manifest.resize).pixels for n in names])


def test_each_copy_is_closer_to_its_original_than_any_distractor(
    devset: Path, truth: dict, embedder: Embedder
) -> None:
    distractors = _embed(embedder, devset, truth["distractors"])
    kinds = truth["variant_kind"]
    margins: dict[str, list[float]] = {}
    for group in truth["groups"]:
        original, copies = group[0], [c for c in group[1:] if kinds[c] not in NOT_YET]
        vectors = _embed(embedder, devset, [original, *copies])
        best_distractor = float((distractors @ vectors[0]).max())
        for name, cosine in zip(copies, vectors[1:] @ vectors[0]):
            margins.setdefault(kinds[name], []).append(float(cosine) - best_distractor)
    for kind, values in sorted(margins.items()):
        print(f"{kind:16s} min margin {min(values):+.3f}  mean {np.mean(values):+.3f}")
    assert min(min(v) for v in margins.values()) > 0
