"""One photo tile (thumbnail plus a few lines of facts), painted rather than built from widgets.

Groups and search results can hold thousands of photos; painting tiles from a
delegate keeps scrolling smooth where one widget per photo would not. Both
views use these helpers so the tiles look, hit-test and drag the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDrag, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QWidget

THUMB = 150
#: Longest side of the picture that follows the pointer while a tile is dragged.
DRAG_SIDE = 96
PADDING = 6
SPACING = 8
TEXT_LINES = 4

KEEP_COLOR = QColor(46, 160, 67)
MARK_COLOR = QColor(218, 54, 51)


@dataclass(slots=True)
class Tile:
    """What one tile shows; `accent` colours the last line (keep / marked)."""

    path: str
    lines: list[str]
    badge: str = ""
    badge_color: QColor = field(default_factory=lambda: QColor(KEEP_COLOR))
    marked: bool = False
    current: bool = False
    accent: QColor | None = None


def line_height(font: QFont) -> int:
    return QFontMetrics(font).height()


def tile_size(font: QFont) -> QSize:
    return QSize(THUMB + 2 * PADDING, THUMB + 2 * PADDING + TEXT_LINES * line_height(font) + 2)


def tile_rects(area: QRect, count: int, font: QFont) -> list[QRect]:
    """Where `count` tiles go inside `area`, left to right, wrapping to new rows."""
    size = tile_size(font)
    per_row = max(1, (area.width() + SPACING) // (size.width() + SPACING))
    return [
        QRect(
            area.left() + (i % per_row) * (size.width() + SPACING),
            area.top() + (i // per_row) * (size.height() + SPACING),
            size.width(),
            size.height(),
        )
        for i in range(count)
    ]


def rows_height(width: int, count: int, font: QFont) -> int:
    size = tile_size(font)
    per_row = max(1, (width + SPACING) // (size.width() + SPACING))
    rows = -(-count // per_row)
    return rows * size.height() + (rows - 1) * SPACING


def paint_tile(painter: QPainter, rect: QRect, tile: Tile, pixmap: QPixmap | None, failed: bool, palette: QPalette) -> None:
    """Thumbnail centred in its square, badges on top, facts below (elided to fit)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    frame = rect.adjusted(1, 1, -1, -1)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(palette.color(QPalette.ColorRole.Base))
    painter.drawRoundedRect(frame, 6, 6)

    square = QRect(rect.left() + PADDING, rect.top() + PADDING, THUMB, THUMB)
    if pixmap is not None and not pixmap.isNull():
        fits = pixmap.width() <= square.width() and pixmap.height() <= square.height()
        scaled = pixmap if fits else pixmap.scaled(square.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        top_left = square.center() - QPoint(scaled.width() // 2, scaled.height() // 2) + QPoint(1, 1)
        painter.drawPixmap(top_left, scaled)
        if tile.marked:
            painter.fillRect(QRect(top_left, scaled.size()), QColor(MARK_COLOR.red(), MARK_COLOR.green(), MARK_COLOR.blue(), 70))
    else:
        painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(square, 4, 4)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "no preview" if failed else "\u2026")

    if tile.badge:
        _paint_badge(painter, square, tile.badge, tile.badge_color)
    if tile.marked:
        _paint_badge(painter, square, "\u2715 remove", MARK_COLOR, right=True)

    metrics = QFontMetrics(painter.font())
    text_top = square.bottom() + 4
    width = rect.width() - 2 * PADDING
    for i, text in enumerate(tile.lines[:TEXT_LINES]):
        last = i == len(tile.lines) - 1
        color = tile.accent if (last and tile.accent is not None) else palette.color(
            QPalette.ColorRole.Text if i == 0 else QPalette.ColorRole.PlaceholderText
        )
        painter.setPen(color)
        line = QRect(rect.left() + PADDING, text_top + i * metrics.height(), width, metrics.height())
        painter.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, metrics.elidedText(text, Qt.TextElideMode.ElideMiddle if i == 0 else Qt.TextElideMode.ElideRight, width))

    if tile.current or tile.marked:
        color = MARK_COLOR if tile.marked and not tile.current else palette.color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(color, 3 if tile.current else 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(frame.adjusted(1, 1, -1, -1), 6, 6)
    painter.restore()


def _paint_badge(painter: QPainter, square: QRect, text: str, color: QColor, right: bool = False) -> None:
    font = QFont(painter.font())
    font.setBold(True)
    font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
    metrics = QFontMetrics(font)
    box = QRect(0, 0, metrics.horizontalAdvance(text) + 10, metrics.height() + 4)
    box.moveTopLeft(square.topLeft() + QPoint(4, 4))
    if right:
        box.moveTopRight(square.topRight() + QPoint(-4, 4))
    painter.save()
    painter.setFont(font)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QColor("white"))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def file_mime(paths: Sequence[str]) -> QMimeData:
    """Photos as file URLs: what file managers, other apps and our own window accept."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path) for path in paths])
    return mime


def drag_photo(source: QWidget, path: str, thumbnail: QPixmap | None) -> None:
    """Drag a photo out of a view: onto the window to search by it, or into a file manager.

    Only a copy is offered: moving the file away would change the library behind
    the catalog's back (removal goes through the journalled deletion instead).
    """
    drag = QDrag(source)
    drag.setMimeData(file_mime([path]))
    if thumbnail is not None and not thumbnail.isNull():
        drag.setPixmap(thumbnail.scaled(DRAG_SIDE, DRAG_SIDE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
    drag.exec(Qt.DropAction.CopyAction)
