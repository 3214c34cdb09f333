"""Proof that two photos are the same picture, or the same moment, from 64x64 detail thumbnails.

The 32x32 structural score (core/structure.py) finds candidates, but at 32x32
a sunset looks like another sunset, two terminal screenshots or receipts of one
layout line up, and burst frames are indistinguishable. Deletion needs proof, so
each candidate pair is checked again on a 64x64 greyscale thumbnail (the
*detail*, made from the file when its pair needs proof: core/matching/evidence.py):
the pair is aligned (the best quarter turn or mirror and centre crop at 32x32,
then an affine refinement by OpenCV's ECC),
split into 8x8 blocks, and every block with texture (a standard deviation of at
least TEXTURE grey levels in both photos) is correlated. A copy agrees almost
exactly in most textured blocks; another frame of a burst, an exposure bracket,
a page of the same layout or another sunset does not (docs/calibration.md has
the measurements on the devset and on real photos).

Verdicts, strictest first:
- SAME_PICTURE: at least AGREEING of the textured blocks correlate at EXACT or
  better and the lower quartile of all of them at COPY_QUARTILE (the rest of a
  copy still lines up where a caption or a logo spoils some blocks; another page
  of one layout does not), enough blocks have texture to judge (flat photos need evidence too, so
  a nearly flat pair is never proven), the contrast changed by at most CONTRAST
  (an edit; a bigger change is another exposure) and the framing by at most
  ZOOM (a slight crop; a bigger one is a detail made from the photo).
- SAME_MOMENT: not that, but aligned the textured blocks still agree broadly
  (their lower quartile correlates at MOMENT_QUARTILE or better): burst frames,
  bracketed exposures, a re-take moments apart. Also any pair that looks like
  the same picture but whose camera recorded two different moments (EXIF
  DateTimeOriginal with subseconds): at 64x64 nothing that moved less than about
  1% of the frame shows, so the camera's own word wins; copies keep that tag or
  lose it, they never change it.
- DIFFERENT: anything else that was checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import cv2
import numpy as np
from PIL import Image

# 64x64 images: OpenCV's worker threads cost more than they save, and would fight
# the scan's decoders and the app's UI thread for the cores.
cv2.setNumThreads(1)

#: The detail thumbnail's side.
SIDE = 64
#: Centre crops tried on either photo: the kept fraction of each side (as core/structure.py).
CROPS = (1.0, 0.92, 0.84)
GRID = 8
#: Grey levels (standard deviation) for a block to count as texture.
TEXTURE = 4.0
#: Fewest textured blocks (of GRID x GRID) to judge a pair at all.
MIN_TEXTURED = 24
#: A block correlating at least this well agrees exactly.
EXACT = 0.97
#: Fraction of textured blocks that must agree exactly for the same picture.
AGREEING = 0.62
#: Lower-quartile block correlation of the same picture.
COPY_QUARTILE = 0.80
#: Largest ratio of the two photos' contrast an edit may explain.
CONTRAST = 1.5
#: Largest zoom between the two framings a crop may explain (1.25: 80% of each side kept).
ZOOM = 1.25
#: Lower-quartile block correlation of the same moment.
MOMENT_QUARTILE = 0.75
BLUR = 0.5
#: Median block correlation of the coarse alignment above which refining cannot change the
#: verdict (most copies), and below which no refinement was seen to rescue a pair.
ALIGNED, HOPELESS = 0.99, 0.2
#: Bumped whenever a rule above changes, so cached verdicts are recomputed.
VERSION = 1


class Verdict(IntEnum):
    UNCHECKED = -1
    DIFFERENT = 0
    SAME_MOMENT = 1
    SAME_PICTURE = 2


@dataclass(frozen=True, slots=True)
class Detail:
    """What a photo brings to the proof: its detail and when its camera says it was taken."""

    thumbnail: bytes  # SIDE x SIDE greyscale, from `detail`
    captured: str | None = None  # images.ImageInfo.captured


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the aligned comparison of two details showed."""

    textured: int  # blocks with texture in both
    agreeing: float  # fraction of those correlating at EXACT or better
    typical: float  # lower quartile of their correlations
    contrast: float  # ratio of the photos' contrast, >= 1
    zoom: float  # zoom between the framings, >= 1

    @property
    def verdict(self) -> Verdict:
        if self.textured < MIN_TEXTURED or self.zoom > ZOOM:
            return Verdict.DIFFERENT
        if self.agreeing >= AGREEING and self.typical >= COPY_QUARTILE and self.contrast <= CONTRAST:
            return Verdict.SAME_PICTURE
        return Verdict.SAME_MOMENT if self.typical >= MOMENT_QUARTILE else Verdict.DIFFERENT


def detail(pixels: np.ndarray) -> bytes:
    """The 64 x 64 greyscale thumbnail (4 KB) of upright RGB pixels."""
    grey = Image.fromarray(pixels).convert("L").resize((SIDE, SIDE), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.uint8).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint8).reshape(SIDE, SIDE).astype(np.float32)


def verdict(a: Detail, b: Detail) -> Verdict:
    """What the pixels prove, unless the camera says these are two exposures."""
    seen = compare(unpack(a.thumbnail), unpack(b.thumbnail)).verdict
    if seen == Verdict.SAME_PICTURE and a.captured and b.captured and a.captured != b.captured:
        return Verdict.SAME_MOMENT
    return seen


def verdicts(pairs: Iterable[tuple[Detail, Detail]]) -> np.ndarray:
    """int8 Verdict of each pair."""
    return np.fromiter((verdict(a, b) for a, b in pairs), dtype=np.int8)


def compare(a: np.ndarray, b: np.ndarray) -> Evidence:
    """Align float32 (SIDE, SIDE) details and measure how far they agree."""
    turn, a_is_wide, keep = _coarse_alignment(a, b)
    b = _dihedral(b)[turn]
    narrow, wide = (a, b) if not a_is_wide else (b, a)
    # The narrow photo shows the centre `keep` of the wide one: bring the narrow one
    # down to that size rather than the crop up, so neither side is magnified.
    n = int(round(SIDE * keep))
    template = narrow if n == SIDE else cv2.resize(narrow, (n, n), interpolation=cv2.INTER_AREA)
    offset = (SIDE - n) / 2.0
    start = np.array([[1, 0, offset], [0, 1, offset]], dtype=np.float32)
    best = _measure(template, wide, start)
    refined = None if not HOPELESS < np.median(best[0]) < ALIGNED else _refine(template, wide, start)
    if refined is not None:
        other = _measure(template, wide, refined)
        if np.median(other[0]) > np.median(best[0]):
            best = other
    correlation, textured, contrast, warp = best
    zoom = SIDE / (n * np.sqrt(abs(np.linalg.det(warp[:, :2].astype(np.float64)))))
    agreeing = correlation[textured]
    return Evidence(
        textured=int(textured.sum()),
        agreeing=float((agreeing >= EXACT).mean()) if len(agreeing) else 0.0,
        typical=float(np.quantile(agreeing, 0.25)) if len(agreeing) else 0.0,
        contrast=contrast,
        zoom=float(max(zoom, 1.0 / zoom)),
    )


def _dihedral(x: np.ndarray) -> list[np.ndarray]:
    """The 8 quarter turns and mirrors, in core/structure.py's order."""
    return [np.ascontiguousarray(np.rot90(m, k)) for m in (x, x[:, ::-1]) for k in range(4)]


def _coarse_alignment(a: np.ndarray, b: np.ndarray) -> tuple[int, bool, float]:
    """(turn of b, whether a is the wide one, kept fraction) with the best 32x32 correlation."""
    small = lambda x: cv2.resize(x, (SIDE // 2, SIDE // 2), interpolation=cv2.INTER_AREA)  # noqa: E731
    crops_a = {keep: small(_centre(a, keep)) for keep in CROPS}  # each view made once, not per candidate
    candidates: list[tuple[int, bool, float]] = []
    views_a: list[np.ndarray] = []  # the narrow photo whole
    views_b: list[np.ndarray] = []  # the wide photo's centre
    for turn, tb in enumerate(_dihedral(b)):
        crops_b = {keep: small(_centre(tb, keep)) for keep in CROPS}
        for keep in CROPS:
            for a_is_wide in (False, True) if keep < 1.0 else (False,):
                candidates.append((turn, a_is_wide, keep))
                views_a.append(crops_b[1.0] if a_is_wide else crops_a[1.0])
                views_b.append(crops_a[keep] if a_is_wide else crops_b[keep])
    x = np.stack(views_a).reshape(len(candidates), -1)
    y = np.stack(views_b).reshape(len(candidates), -1)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    score = (x * y).sum(axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1) + 1e-6)
    return candidates[int(np.argmax(score))]


def _centre(x: np.ndarray, keep: float) -> np.ndarray:
    if keep == 1.0:
        return x
    margin = int(round(SIDE * (1.0 - keep) / 2.0))
    return x[margin : SIDE - margin, margin : SIDE - margin]


def _refine(template: np.ndarray, image: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """The affine warp (template -> image coordinates) ECC converges to, or None."""
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    try:
        _, warp = cv2.findTransformECC(template, image, start.copy(), cv2.MOTION_AFFINE, criteria, None, 3)
    except cv2.error:
        return None  # no convergence (flat or unrelated pictures): the start stands
    return warp


def _measure(template: np.ndarray, image: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Per-block correlation, textured-block mask and contrast ratio of `image` warped onto `template`."""
    n = template.shape[0]
    warped = cv2.warpAffine(
        image, warp, (n, n), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    margin = n // 16  # the warp's edges carry replicated border pixels
    size = (n - 2 * margin) // GRID * GRID
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), BLUR)  # noqa: E731
    t = _blocks(blur(template)[margin : margin + size, margin : margin + size])
    w = _blocks(blur(warped)[margin : margin + size, margin : margin + size])
    t = t - t.mean(axis=1, keepdims=True)
    w = w - w.mean(axis=1, keepdims=True)
    st, sw = np.sqrt((t * t).mean(axis=1)), np.sqrt((w * w).mean(axis=1))
    correlation = (t * w).mean(axis=1) / (st * sw + 1e-6)
    textured = np.minimum(st, sw) >= TEXTURE
    region_t = template[margin : margin + size, margin : margin + size].std()
    region_w = warped[margin : margin + size, margin : margin + size].std()
    contrast = float(max(region_t, region_w) / max(min(region_t, region_w), 1e-6))
    return correlation, textured, contrast, warp


def _blocks(x: np.ndarray) -> np.ndarray:
    """(GRID*GRID, pixels per block) of a square image whose side is a multiple of GRID."""
    b = x.shape[0] // GRID
    return x.reshape(GRID, b, GRID, b).swapaxes(1, 2).reshape(GRID * GRID, -1)
