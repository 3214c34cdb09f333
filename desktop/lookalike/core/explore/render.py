"""The map as a picture (Pillow, no Qt): the CLI's `map --out` and anyone without the app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lookalike.core.explore.layout import MapLayout
from lookalike.core.scan.images import ImageError, decode

#: Above this many photos the map is drawn as dots: reading every photo for a
#: thumbnail would take as long as a scan.
MAX_THUMBNAILS = 2000


def render_map(layout: MapLayout, paths: dict[int, str], out: Path, side: int = 2000, thumb: int = 40) -> int:
    """Draw each photo as a small thumbnail (or a dot) at its map position; returns thumbnails drawn.

    Unreadable photos (moved since the scan, say) are drawn as dots.
    """
    canvas = Image.new("RGB", (side, side), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    margin = thumb
    points = _to_pixels(layout.xy, side - 2 * margin) + margin
    drawn = 0
    with_thumbs = len(layout) <= MAX_THUMBNAILS
    for file_id, (x, y) in zip(layout.ids.tolist(), points.tolist()):
        picture = _thumbnail(paths.get(file_id), thumb) if with_thumbs else None
        if picture is None:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(120, 170, 255))
            continue
        canvas.paste(picture, (int(x - picture.width / 2), int(y - picture.height / 2)))
        drawn += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return drawn


def _to_pixels(xy: np.ndarray, span: int) -> np.ndarray:
    """Map coordinates into [0, span] squares, keeping the aspect."""
    if not len(xy):
        return np.zeros((0, 2))
    low, high = xy.min(axis=0), xy.max(axis=0)
    extent = float(max((high - low).max(), 1e-12))
    centred = (xy - (low + high) / 2) / extent  # within [-0.5, 0.5], the longer axis filling it
    return (centred + 0.5) * span


def _thumbnail(path: str | None, side: int) -> Image.Image | None:
    if path is None:
        return None
    try:
        return Image.fromarray(decode(path, (side, side), "fit").pixels)
    except ImageError:
        return None
