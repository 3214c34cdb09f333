"""The collection's 2-D map: each photo a point (a thumbnail when zoomed in), zoom, pan, hover
preview, double-click to open, rubber-band selection that can be searched, compared side by side or
marked for review.

The layout comes from core (explore/layout.py) in a background job: the quick PCA
view first when the map is computed from scratch, then the t-SNE map. A rubber
band selects through `MapLayout.select`, the one rule for which points a
rectangle holds; this widget only converts the band to map coordinates.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.explore.layout import MapLayout, open_map
from lookalike.ui.background_page import BackgroundPage
from lookalike.ui.session import Session
from lookalike.ui.system import open_file
from lookalike.ui.thumbnails import RepaintThrottle, ThumbnailCache
from lookalike.ui.workers import Work

#: Scene units across the map's longer side.
EXTENT = 1000.0
#: Screen pixels of a point's thumbnail, and of a plain dot.
THUMB_PX = 36
DOT_PX = 7
#: Thumbnails are drawn for small maps, or once zoomed in this far.
THUMBS_BELOW = 600
THUMBS_FROM_ZOOM = 3.0
PREVIEW_PX = 200


class PointItem(QGraphicsItem):
    """One photo; a fixed size on screen whatever the zoom."""

    def __init__(self, canvas: MapCanvas, file_id: int, path: str) -> None:
        super().__init__()
        self.canvas, self.file_id, self.path = canvas, file_id, path
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)

    def boundingRect(self) -> QRectF:
        half = THUMB_PX / 2 + 2
        return QRectF(-half, -half, 2 * half, 2 * half)

    def paint(self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget: QWidget | None = None) -> None:
        selected = self.file_id in self.canvas.selected
        pixmap = self.canvas.thumbnails.get(self.path) if self.canvas.show_thumbnails() else None
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.scaled(THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            painter.drawPixmap(int(-scaled.width() / 2), int(-scaled.height() / 2), scaled)
            if selected:
                painter.setPen(QPen(self.canvas.palette().highlight().color(), 3))
                painter.drawRect(QRectF(-scaled.width() / 2, -scaled.height() / 2, scaled.width(), scaled.height()))
            return
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(self.canvas.palette().highlight().color() if selected else QColor(110, 160, 240)))
        size = DOT_PX + (3 if selected else 0)
        painter.drawEllipse(QRectF(-size / 2, -size / 2, size, size))


class MapCanvas(QGraphicsView):
    """Wheel zooms at the pointer, the middle or right button pans, the left button draws a selection band."""

    hovered = Signal(str)
    selectionChanged = Signal(list)  # file ids

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.layout_: MapLayout | None = None
        self.items: dict[int, PointItem] = {}
        self.selected: set[int] = set()
        self._scale = 1.0
        self._origin: tuple[float, float] = (0.0, 0.0)
        self._band: QRect | None = None
        self._pan_from: QPointF | None = None
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setMouseTracking(True)
        self.setAccessibleName("Map of the collection")
        self.rubberBandChanged.connect(self._band_moved)
        throttle = RepaintThrottle(self.viewport())
        throttle.setParent(self)
        thumbnails.ready.connect(throttle.poke)

    def set_layout(self, layout: MapLayout, paths: dict[int, str]) -> None:
        """Show `layout`; the selection keeps the photos still on the map."""
        self.layout_ = layout
        scene = self.scene()
        scene.clear()
        self.items = {}
        xy = layout.xy
        low = xy.min(axis=0) if len(xy) else (0.0, 0.0)
        span = float(max((xy.max(axis=0) - low).max(), 1e-9)) if len(xy) else 1.0
        self._scale, self._origin = EXTENT / span, (float(low[0]), float(low[1]))
        for file_id, (x, y) in zip(layout.ids.tolist(), xy.tolist()):
            if file_id not in paths:
                continue
            item = PointItem(self, file_id, paths[file_id])
            item.setPos(self.scene_point(x, y))
            scene.addItem(item)
            self.items[file_id] = item
        margin = THUMB_PX
        scene.setSceneRect(QRectF(-margin, -margin, EXTENT + 2 * margin, EXTENT + 2 * margin))
        self.selected &= set(self.items)
        self.fit()

    def scene_point(self, x: float, y: float) -> QPointF:
        return QPointF((x - self._origin[0]) * self._scale, (y - self._origin[1]) * self._scale)

    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self) -> float:
        return self.transform().m11() * EXTENT / max(1.0, min(self.viewport().width(), self.viewport().height()))

    def show_thumbnails(self) -> bool:
        return len(self.items) <= THUMBS_BELOW or self.zoom() >= THUMBS_FROM_ZOOM

    def select_ids(self, ids: list[int]) -> None:
        self.selected = {i for i in ids if i in self.items}
        self.viewport().update()
        self.selectionChanged.emit(sorted(self.selected))

    # --- the selection band -------------------------------------------------------------

    def _band_moved(self, rect: QRect, _from: QPointF, _to: QPointF) -> None:
        """Track the band (its viewport rectangle is current; Qt's scene points lag a move)
        and, when it is released (a null rectangle), select what it held."""
        if not rect.isNull():
            self._band = rect
            return
        if self._band is not None and self.layout_ is not None:
            area, self._band = self.mapToScene(self._band).boundingRect(), None
            ids = self.layout_.select(*self._map_point(area.topLeft()), *self._map_point(area.bottomRight()))
            self.select_ids(ids.tolist())

    def _map_point(self, point: QPointF) -> tuple[float, float]:
        return point.x() / self._scale + float(self._origin[0]), point.y() / self._scale + float(self._origin[1])

    # --- mouse ---------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.25 ** (event.angleDelta().y() / 120)
        if 0.5 <= self.zoom() * factor <= 200:
            self.scale(factor, factor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        item = self._point_at(event.position())
        if item is not None:
            self.hovered.emit(item.path)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self._point_at(event.position())
        if item is not None:
            open_file(item.path)

    def _point_at(self, pos: QPointF) -> PointItem | None:
        item = self.itemAt(pos.toPoint())
        return item if isinstance(item, PointItem) else None


class MapView(BackgroundPage):
    """The canvas, a preview of the photo under the pointer, and what to do with a selection."""

    searchRequested = Signal(list)  # paths
    compareRequested = Signal(list)  # file ids
    busy_text = "Drawing the map\u2026"
    failed_text = "The map could not be drawn"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.canvas = MapCanvas(session.thumbnails)
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_PX, PREVIEW_PX)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview_name = QLabel()
        self.preview_name.setWordWrap(True)
        self.selection_label = QLabel("Drag a rectangle to select photos.")
        self.selection_label.setWordWrap(True)
        self.search_button = QPushButton("Search Like These")
        self.search_button.setToolTip("Find the photos most like the selected ones")
        self.compare_button = QPushButton("Compare Side by Side")
        self.compare_button.setToolTip("Open the selected photos in Compare, with the one the keep rules would keep")
        self.mark_button = QPushButton("Mark for Removal")
        self.mark_button.setToolTip("Mark the selected photos; review and remove them with Edit \u25b8 Remove Marked Photos")
        fit = QPushButton("Fit")
        fit.clicked.connect(self.canvas.fit)
        self.search_button.clicked.connect(lambda: self.searchRequested.emit(self.selected_paths()))
        self.compare_button.clicked.connect(lambda: self.compareRequested.emit(sorted(self.canvas.selected)))
        self.mark_button.clicked.connect(lambda: session.marks.set(sorted(self.canvas.selected)))
        self.canvas.hovered.connect(self._preview)
        self.canvas.selectionChanged.connect(self._selection_changed)
        session.thumbnails.ready.connect(lambda path: self._preview(path) if path == self._hovered else None)
        self._hovered = ""
        self._selection_changed([])

        side = QVBoxLayout()
        side.addWidget(self.preview)
        side.addWidget(self.preview_name)
        side.addSpacing(12)
        side.addWidget(self.selection_label)
        side.addWidget(self.search_button)
        side.addWidget(self.compare_button)
        side.addWidget(self.mark_button)
        side.addStretch(1)
        side.addWidget(fit)
        body = QHBoxLayout()
        body.addWidget(self.canvas, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.status)
        layout.addLayout(body, 1)

    def work(self) -> Work:
        """Read the cached map, update it, or compute it (the PCA view reported first)."""
        catalog, model_id = self.session.catalog, self.session.model_id

        def draw(progress, _cancel):  # type: ignore[no-untyped-def]
            layout = open_map(catalog, model_id, quick=lambda quick: progress(self._with_paths(catalog, quick)))
            return self._with_paths(catalog, layout)

        return draw

    @staticmethod
    def _with_paths(catalog, layout: MapLayout) -> tuple[MapLayout, dict[int, str]]:  # type: ignore[no-untyped-def]
        return layout, {i: f.path for i, f in catalog.files(layout.ids.tolist()).items()}

    def show_partial(self, result: tuple[MapLayout, dict[int, str]]) -> None:
        layout, paths = result
        self.canvas.set_layout(layout, paths)
        what = "quick view (PCA); the detailed map follows" if layout.method == "pca" else "t-SNE map"
        self.status.setText(f"{len(layout)} photos \u00b7 {what}. Wheel: zoom \u00b7 right-drag: pan \u00b7 drag: select \u00b7 double-click: open")

    def show_result(self, result: tuple[MapLayout, dict[int, str]]) -> None:
        self.show_partial(result)
        if not len(result[0]):
            self.status.setText("No photos yet: add a folder and scan it to see the map.")

    def selected_paths(self) -> list[str]:
        return sorted(self.canvas.items[i].path for i in self.canvas.selected)

    def _selection_changed(self, ids: list[int]) -> None:
        self.selection_label.setText(f"{len(ids)} photos selected" if ids else "Drag a rectangle to select photos.")
        self.search_button.setEnabled(bool(ids))
        self.compare_button.setEnabled(len(ids) >= 2)
        self.mark_button.setEnabled(bool(ids))

    def _preview(self, path: str) -> None:
        self._hovered = path
        self.preview_name.setText(Path(path).name)
        self.preview_name.setToolTip(path)
        pixmap = self.session.thumbnails.get(path)
        if pixmap is None:
            self.preview.setText("\u2026")
        else:
            self.preview.setPixmap(pixmap.scaled(PREVIEW_PX, PREVIEW_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
