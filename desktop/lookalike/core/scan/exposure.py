"""How good a shot is: sharpness and exposure, measured once at scan time.

The burst tier's keep rule (core/review/shot.py) proposes the sharpest,
well-exposed frame. The measures come from the pixels the scan decodes for the
model anyway (about 224 px a side), so they cost no extra read: fine enough to
tell a shaken or blown-out frame from a good one, not to grade lenses.
"""

from __future__ import annotations

import numpy as np

from lookalike.core.catalog.store import Shot

#: Grey levels counted as blown out / as crushed to black.
BRIGHT, DARK = 250, 6


def measure(pixels: np.ndarray) -> Shot:
    """The measures of upright RGB pixels (H, W, 3) uint8."""
    grey = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    laplacian = (
        grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4.0 * grey[1:-1, 1:-1]
    )
    gradient = np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean()
    return Shot(
        sharpness=float(np.abs(laplacian).mean() / max(gradient, 1e-3)),
        highlights=float((grey >= BRIGHT).mean()),
        shadows=float((grey <= DARK).mean()),
        brightness=float(grey.mean()),
    )
