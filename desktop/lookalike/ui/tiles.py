"""One photo tile (thumbnail plus a few lines of facts), painted rather than built from widgets.

Groups and search results can hold thousands of photos; painting tiles from a
delegate keeps scrolling smooth where one widget per photo would not. Both
views use these helpers so the tiles look, hit-test and drag the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDrag, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap, QTextLayout, QTextOption
from PySide6.QtWidgets import QWidget

#: Longest side of the picture that follows the pointer while a tile is dragged.
DRAG_SIDE = 96
PADDING = 6
SPACING = 8
#: One-line facts under the thumbnail; the first two (name, folder) are elided in the
#: middle, where names differ least, the others at the end.
TEXT_LINES = 4
MIDDLE_ELIDED = 2
#: Lines the note (the keep-rule's verdict) may wrap onto before it is elided.
NOTE_LINES = 2

KEEP_COLOR = QColor(46, 160, 67)
MARK_COLOR = QColor(218, 54, 51)


@dataclass(slots=True)
class Tile:
    """What one tile shows: one-line facts, then a note on up to two lines that `accent`
    colours (keep / marked)."""

    path: str
    lines: list[str]
    note: str = ""
    badge: str = ""
    badge_color: QColor = field(default_factory=lambda: QColor(KEEP_COLOR))
    marked: bool = False
    current: bool = False
    accent: QColor | None = None


def line_height(font: QFont) -> int:
    return QFontMetrics(font).height()


def tile_size(font: QFont, thumb: int) -> QSize:
    """A tile around a `thumb`-pixel square: facts and note below it."""
    return QSize(thumb + 2 * PADDING, thumb + 2 * PADDING + (TEXT_LINES + NOTE_LINES) * line_height(font) + 2)


def per_row(width: int, font: QFont, thumb: int) -> int:
    return max(1, (width + SPACING) // (tile_size(font, thumb).width() + SPACING))


def row_width(count: int, font: QFont, thumb: int) -> int:
    """Width of `count` tiles side by side."""
    return count * tile_size(font, thumb).width() + max(0, count - 1) * SPACING


def tile_rects(area: QRect, count: int, font: QFont, thumb: int) -> list[QRect]:
    """Where `count` tiles go inside `area`, left to right, wrapping to new rows."""
    size, columns = tile_size(font, thumb), per_row(area.width(), font, thumb)
    return [
        QRect(
            area.left() + (i % columns) * (size.width() + SPACING),
            area.top() + (i // columns) * (size.height() + SPACING),
            size.width(),
            size.height(),
        )
        for i in range(count)
    ]


def rows_height(width: int, count: int, font: QFont, thumb: int) -> int:
    rows = -(-count // per_row(width, font, thumb))
    return rows * tile_size(font, thumb).height() + (rows - 1) * SPACING


def wrap_lines(text: str, font: QFont, width: int, lines: int = NOTE_LINES) -> list[str]:
    """`text` broken at word boundaries into at most `lines` lines of `width` pixels; only
    what does not fit on the last line is elided."""
    metrics = QFontMetrics(font)
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # a long file name still wraps
    layout.setTextOption(option)
    layout.beginLayout()
    starts: list[int] = []
    while len(starts) < lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if not starts:
        return []
    pieces = [text[a:b].rstrip() for a, b in zip(starts, [*starts[1:], len(text)])]
    pieces[-1] = metrics.elidedText(text[starts[-1]:].strip(), Qt.TextElideMode.ElideRight, width)
    return pieces


def paint_tile(painter: QPainter, rect: QRect, tile: Tile, pixmap: QPixmap | None, failed: bool, palette: QPalette) -> None:
    """Thumbnail centred in its square (as wide as the tile), badges on top, facts below
    (elided to fit), then the note wrapped onto two lines."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    frame = rect.adjusted(1, 1, -1, -1)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(palette.color(QPalette.ColorRole.Base))
    painter.drawRoundedRect(frame, 6, 6)

    side = rect.width() - 2 * PADDING
    square = QRect(rect.left() + PADDING, rect.top() + PADDING, side, side)
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
    width = rect.width() - 2 * PADDING
    texts = [(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle if i < MIDDLE_ELIDED else Qt.TextElideMode.ElideRight, width), None)
             for i, text in enumerate(tile.lines[:TEXT_LINES])]
    texts += [(text, tile.accent) for text in wrap_lines(tile.note, painter.font(), width)]
    for i, (text, accent) in enumerate(texts):
        role = QPalette.ColorRole.Text if i == 0 else QPalette.ColorRole.PlaceholderText
        painter.setPen(accent if accent is not None else palette.color(role))
        line = QRect(rect.left() + PADDING, square.bottom() + 4 + i * metrics.height(), width, metrics.height())
        painter.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

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
