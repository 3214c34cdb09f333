"""Write the app icon: lookalike.svg (the source) and PNGs from 16 to 256 px rendered from it.

Run from anywhere: `python resources/icons/make_icons.py`. Needs only PySide6 (QtSvg).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QByteArray, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

SIZES = (16, 24, 32, 48, 64, 128, 256)
HERE = Path(__file__).resolve().parent


def photo(x: float, y: float, angle: float, sky: str, hill: str, sun: str) -> str:
    """One photo card: white frame, sky, a sun and two hills, turned by `angle` degrees."""
    return f"""
  <g transform="rotate({angle} {x + 60} {y + 50})">
    <rect x="{x}" y="{y}" width="120" height="100" rx="10" fill="#ffffff"/>
    <clipPath id="c{int(x)}"><rect x="{x + 9}" y="{y + 9}" width="102" height="82" rx="5"/></clipPath>
    <g clip-path="url(#c{int(x)})">
      <rect x="{x + 9}" y="{y + 9}" width="102" height="82" fill="{sky}"/>
      <circle cx="{x + 82}" cy="{y + 32}" r="11" fill="{sun}"/>
      <path d="M{x + 5} {y + 95} L{x + 42} {y + 48} L{x + 70} {y + 80} L{x + 86} {y + 62} L{x + 118} {y + 95} Z" fill="{hill}"/>
    </g>
  </g>"""


SVG = f"""<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#3d7cf2"/>
      <stop offset="1" stop-color="#6a3fd1"/>
    </linearGradient>
  </defs>
  <rect x="8" y="8" width="240" height="240" rx="52" fill="url(#bg)"/>
  {photo(34, 58, -12, "#9cc7ff", "#3f8f5a", "#ffd54a")}
  {photo(102, 96, 9, "#ffc9a3", "#2f7a4c", "#fff3b0")}
  <circle cx="196" cy="62" r="22" fill="#ffffff"/>
  <path d="M186 62 l7 7 l13 -15" stroke="#2ea043" stroke-width="7" fill="none" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
"""


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    (HERE / "lookalike.svg").write_text(SVG, encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(SVG.encode()))
    if not renderer.isValid():
        print("the SVG did not parse", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        image.save(str(HERE / f"lookalike-{size}.png"))
    del app
    print(f"wrote lookalike.svg and {len(SIZES)} PNGs to {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
