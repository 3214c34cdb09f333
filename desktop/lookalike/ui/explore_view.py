"""The Explore tab: the collection by how it looks, as clusters, a map and album comparisons.

Each page computes in the background when first shown and again, when shown, after
the catalog changed (a scan, a removal); the rules live in core/explore.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.explore.clusters import PhotoCluster, catalog_clusters
from lookalike.core.catalog.schema import File
from lookalike.ui.albums_view import AlbumsView
from lookalike.ui.background_page import BackgroundPage
from lookalike.ui.map_view import MapView
from lookalike.ui.search_view import MatchesModel, matches_grid
from lookalike.ui.session import Session
from lookalike.ui.system import open_file
from lookalike.ui.thumbnails import RepaintThrottle, ThumbnailCache
from lookalike.ui.workers import Work

ICON_PX = 64


class ClusterDelegate(QStyledItemDelegate):
    """A cluster row: its most typical photo, then its size. Painting asks for the thumbnail,
    so only the rows in view load theirs."""

    def __init__(self, view: QListWidget, thumbnails: ThumbnailCache, first_path: Callable[[int], str]) -> None:
        super().__init__(view)
        self._thumbnails, self._first_path = thumbnails, first_path

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(ICON_PX * 3, ICON_PX + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        square = QRect(option.rect.left() + 4, option.rect.top() + 4, ICON_PX, ICON_PX)
        pixmap = self._thumbnails.get(self._first_path(index.row()))
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.scaled(square.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            painter.drawPixmap(square.center() - QPoint(scaled.width() // 2, scaled.height() // 2), scaled)
        text = option.rect.adjusted(ICON_PX + 12, 0, 0, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.drawText(text, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, index.data())


class ClustersView(BackgroundPage):
    """Clusters largest first, each shown by its most typical photo; a cluster's members in a grid."""

    busy_text = "Finding clusters\u2026"
    failed_text = "Clusters could not be found"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.clusters: list[PhotoCluster] = []
        self.files: dict[int, File] = {}
        self.list = QListWidget()
        self.list.setItemDelegate(ClusterDelegate(self.list, session.thumbnails, lambda row: self.clusters[row].paths[0]))
        self.list.setAccessibleName("Clusters")
        self.list.currentRowChanged.connect(self._show_cluster)
        self.model = MatchesModel(self)
        self.grid = matches_grid(self.model, session)
        self.grid.setAccessibleName("Photos of the cluster")
        self.grid.doubleClicked.connect(lambda index: open_file(self.model.matches[index.row()][0].path))
        for view in (self.list, self.grid):
            throttle = RepaintThrottle(view.viewport())
            throttle.setParent(self)
            session.thumbnails.ready.connect(throttle.poke)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(self.grid)
        splitter.setSizes([260, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

    def work(self) -> Work:
        catalog, model_id = self.session.catalog, self.session.model_id

        def find(_progress, _cancel):  # type: ignore[no-untyped-def]
            found = catalog_clusters(catalog, model_id)
            return found, catalog.files([i for c in found for i in c.ids])

        return find

    def show_result(self, result: tuple[list[PhotoCluster], dict[int, File]]) -> None:
        self.clusters, self.files = result
        self.list.clear()
        for n, cluster in enumerate(self.clusters, start=1):
            item = QListWidgetItem(f"Cluster {n}: {len(cluster.ids)} photo{'s' if len(cluster.ids) != 1 else ''}")
            item.setToolTip("\n".join(cluster.paths[: cluster.central]))
            self.list.addItem(item)
        photos = sum(len(c.ids) for c in self.clusters)
        self.status.setText(f"{photos} photos in {len(self.clusters)} clusters, largest first; each opens on its most typical photos."
                            if self.clusters else "No photos yet: add a folder and scan it to see clusters.")
        if self.clusters:
            self.list.setCurrentRow(0)
        else:
            self.model.set_matches([])

    def _show_cluster(self, row: int) -> None:
        if 0 <= row < len(self.clusters):
            cluster = self.clusters[row]
            self.model.set_matches([(self.files[i], t) for i, t in zip(cluster.ids, cluster.typicality) if i in self.files])

class ExploreView(QTabWidget):
    """Clusters, Map and Albums; each page recomputes, when shown, after the catalog changed."""

    searchRequested = Signal(list)  # paths to search the library with
    compareRequested = Signal(list)  # file ids to compare side by side

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clusters = ClustersView(session)
        self.map = MapView(session)
        self.albums = AlbumsView(session)
        self.addTab(self.clusters, "Clusters")
        self.addTab(self.map, "Map")
        self.addTab(self.albums, "Albums")
        self.map.searchRequested.connect(self.searchRequested)
        self.map.compareRequested.connect(self.compareRequested)
        self.currentChanged.connect(lambda _: self._refresh_visible())
        session.catalogChanged.connect(self._catalog_changed)

    def _catalog_changed(self) -> None:
        self.clusters.stale = self.map.stale = True
        if self.isVisible():
            self._refresh_visible()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_visible()

    def _refresh_visible(self) -> None:
        page = self.currentWidget()
        if isinstance(page, (ClustersView, MapView)) and page.stale:
            page.refresh()

    def busy(self) -> bool:
        return self.clusters.loading or self.map.loading or self.albums.loading
