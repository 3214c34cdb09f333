"""The best shot of a burst, from the sharpness and exposure measured at scan time.

Near-identical shots (a burst, bracketed exposures) are not copies: a person
keeps the best frame, so the burst tier's keep rule needs to know which frame is
sharp and well exposed (the measures: core/scan/exposure.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import PurePath
from typing import Protocol

import numpy as np


class ShotLike(Protocol):
    id: int
    path: str
    sharpness: float | None
    highlights: float | None
    shadows: float | None
    brightness: float | None


#: Fraction of pixels blown out / crushed to black above which a frame counts as badly exposed.
BLOWN, CRUSHED = 0.02, 0.25
#: A frame darker than this share of its burst's median brightness is underexposed (frames
#: of one moment share their light; a night scene is dark in every frame).
DIM = 0.5


def best_shot(files: Sequence[ShotLike], chosen: Collection[int] = ()) -> tuple[int, dict[int, str]]:
    """The frame of a burst to keep and, for every file id, a sentence saying why.

    A frame a person chose to keep (`chosen`) wins; then well exposed beats blown
    out, crushed or much darker than the burst (detail that is gone cannot be
    sharpened back), and the sharpest of those wins; among badly exposed frames
    the least clipped one wins; frames never measured (scanned by an older
    version) come last, and ties go to the first path.
    """
    if not files:
        raise ValueError("best_shot needs at least one file")
    lit = [f.brightness for f in files if f.brightness is not None]
    dim = DIM * float(np.median(lit)) if lit else 0.0
    ranked = sorted(sorted(files, key=lambda f: f.path), key=lambda f: (f.id in chosen, *_rank(f, dim)), reverse=True)
    keeper = ranked[0]
    title = "kept: your choice" if keeper.id in chosen else "best shot"
    reasons = {keeper.id: f"{title}: " + _qualities(keeper, dim)}
    for other in ranked[1:]:
        reasons[other.id] = f"other shot of the same moment as {PurePath(keeper.path).name}: " + _qualities(other, dim)
    return keeper.id, reasons


def _flaws(file: ShotLike, dim: float) -> list[str]:
    """What is wrong with a frame's exposure, in words (nothing: well exposed)."""
    flaws = []
    if (file.highlights or 0.0) > BLOWN:
        flaws.append(f"{file.highlights:.0%} blown out")
    if (file.shadows or 0.0) > CRUSHED:
        flaws.append(f"{file.shadows:.0%} crushed to black")
    if file.brightness is not None and file.brightness < dim:
        flaws.append("much darker than the other frames")
    return flaws


def _rank(file: ShotLike, dim: float) -> tuple[bool, bool, float]:
    """Measured first, then well exposed; the sharpest of the well exposed, else the one
    that lost the least to clipping (a bracket's frames are all flawed one way or another)."""
    if file.sharpness is None:
        return (False, False, 0.0)
    if not _flaws(file, dim):
        return (True, True, file.sharpness)
    return (True, False, -((file.highlights or 0.0) + (file.shadows or 0.0)))


def _qualities(file: ShotLike, dim: float) -> str:
    if file.sharpness is None:
        return "not measured (scan again)"
    return ", ".join([f"sharpness {file.sharpness:.2f}", *(_flaws(file, dim) or ["well exposed"])])
