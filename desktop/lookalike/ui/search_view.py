"""Search by image: the catalogued photos most like a dropped, pasted or chosen picture, best first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPalette, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.catalog.schema import File
from lookalike.core.explore.search import CLOSE_MATCH, SearchResult, is_close
from lookalike.ui import format as fmt
from lookalike.ui.session import Session
from lookalike.ui.system import open_file, photo_menu
from lookalike.ui.thumbnails import RepaintThrottle, ThumbnailCache
from lookalike.ui.tiles import KEEP_COLOR, Tile, drag_photo, paint_tile, tile_size

#: The badge of a result below the close-match cut-off: neutral, not the green of a match.
FAR_COLOR = QColor(120, 120, 120)

MatchRole = Qt.ItemDataRole.UserRole + 1
HINT = (
    "Drop a photo on the window, paste one (Ctrl+V), or choose File \u25b8 Search by Image\u2026 (Ctrl+F)\n"
    "to find the most similar photos in your library."
)


class MatchesModel(QAbstractListModel):
    """Ranked (file, similarity) pairs of one query."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matches: list[tuple[File, float]] = []
        self.folders: list[str] = []

    def set_matches(self, matches: list[tuple[File, float]]) -> None:
        self.beginResetModel()
        self.matches = list(matches)
        self.folders = fmt.folder_labels([f.path for f, _ in self.matches])
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.matches)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        file, similarity = self.matches[index.row()]
        if role == MatchRole:
            return file, similarity
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{index.row() + 1}. {fmt.name(file.path)} ({fmt.percent(similarity)})"
        if role == Qt.ItemDataRole.ToolTipRole:
            verdict = "" if is_close(similarity) else f" (not a close match: below {fmt.percent(CLOSE_MATCH)})"
            return f"{fmt.path_text(file.path)}\n{fmt.percent(similarity)} similar{verdict}"
        return None


class MatchDelegate(QStyledItemDelegate):
    """A result tile: rank and similarity first, then the photo's facts."""

    def __init__(self, view: MatchesGrid, thumbnails: ThumbnailCache) -> None:
        super().__init__(view)
        self._view = view
        self._thumbnails = thumbnails

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return tile_size(option.font, self._view.thumb)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        file, similarity = index.data(MatchRole)
        close = is_close(similarity)
        rank = f"#{index.row() + 1} \u00b7 {fmt.percent(similarity)} similar"
        tile = Tile(
            path=file.path,
            lines=[fmt.name(file.path), f"in {index.model().folders[index.row()]}", f"{fmt.human_bytes(file.size)} \u00b7 {fmt.dimensions(file)}", fmt.taken(file)],
            note=rank if close else f"{rank}: not a close match",
            badge=fmt.percent(similarity),
            badge_color=KEEP_COLOR if close else FAR_COLOR,
            current=bool(option.state & QStyle.StateFlag.State_Selected),
            accent=KEEP_COLOR if close else None,
        )
        paint_tile(painter, option.rect, tile, self._thumbnails.get(file.path), self._thumbnails.failed(file.path), option.palette)


class MatchesGrid(QListView):
    """The result tiles; one dragged out is its photo file (search by it, or copy it elsewhere)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thumbnails = session.thumbnails
        self.thumb = session.settings.thumbnail_size
        session.tileSizeChanged.connect(self.set_thumb)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setDragDropMode(QListView.DragDropMode.DragOnly)  # after setMovement, which turns dragging off

    def set_thumb(self, side: int) -> None:
        self.thumb = side
        self.scheduleDelayedItemsLayout()

    def startDrag(self, _actions: Qt.DropAction) -> None:
        index = self.currentIndex()
        if index.isValid():
            path = index.data(MatchRole)[0].path
            drag_photo(self, path, self._thumbnails.get(path))


def matches_grid(model: MatchesModel, session: Session) -> MatchesGrid:
    """A grid of (photo, similarity) tiles over `model`: search results, a cluster's photos."""
    grid = MatchesGrid(session)
    grid.setResizeMode(QListView.ResizeMode.Adjust)
    grid.setUniformItemSizes(True)
    grid.setSpacing(6)
    grid.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
    grid.setModel(model)
    grid.setItemDelegate(MatchDelegate(grid, session.thumbnails))
    return grid


class SearchView(QWidget):
    """The query photo on top, its matches in a grid; double-click opens a photo."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.results: list[SearchResult] = []
        self.query_picture = QLabel()
        self.query_picture.setFixedSize(96, 96)
        self.query_picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.queries = QComboBox()
        self.queries.setToolTip("Which of the searched photos to show results for")
        self.queries.currentIndexChanged.connect(self._show_query)

        self.model = MatchesModel(self)
        self.grid = matches_grid(self.model, session)
        self.grid.setAccessibleName("Search results")
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._context_menu)
        self.grid.doubleClicked.connect(self._open)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.grid, lambda: self._open(self.grid.currentIndex()), context=Qt.ShortcutContext.WidgetShortcut)
        throttle = RepaintThrottle(self.grid.viewport())
        throttle.setParent(self)
        session.thumbnails.ready.connect(throttle.poke)
        session.thumbnails.ready.connect(self._query_thumbnail)

        self.hint = QLabel(HINT, alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.hint)
        self.stack.addWidget(self.grid)

        header = QHBoxLayout()
        header.addWidget(self.query_picture)
        header.addWidget(self.title, 1)
        header.addWidget(self.queries)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self.queries.hide()
        self.query_picture.hide()

    def searching(self, paths: list[str]) -> None:
        """Show that a search is running (the model may still be loading)."""
        names = ", ".join(fmt.rich(Path(p).name) for p in paths[:3]) + ("\u2026" if len(paths) > 3 else "")
        self.title.setText(f"Searching for photos like <b>{names}</b>\u2026")

    def show_results(self, results: list[SearchResult]) -> None:
        self.results = results
        self.queries.blockSignals(True)
        self.queries.clear()
        self.queries.addItems([fmt.name(str(r.query)) for r in results])
        self.queries.blockSignals(False)
        self.queries.setVisible(len(results) > 1)
        self._show_query(0)

    def show_error(self, message: str) -> None:
        self.title.setText(f"<b>Search failed:</b> {fmt.rich(message)}")
        self.model.set_matches([])
        self.stack.setCurrentWidget(self.hint)

    def _show_query(self, row: int) -> None:
        if not 0 <= row < len(self.results):
            return
        result = self.results[row]
        self.model.set_matches(result.matches)
        query = str(result.query)
        if result.error:
            self.show_error(result.error)
            return
        name = fmt.rich(Path(query).name)
        if result.matches and not is_close(result.matches[0][1]):
            self.title.setText(
                f"<b>No close match</b> for <b>{name}</b>: the library holds nothing much like it.<br>"
                f"The most alike photos are shown anyway (best {fmt.percent(result.matches[0][1])}, "
                f"a match starts at {fmt.percent(CLOSE_MATCH)})."
            )
        else:
            close = sum(1 for _, s in result.matches if is_close(s))
            best = f" \u00b7 best match {fmt.percent(result.matches[0][1])}" if result.matches else ""
            self.title.setText(f"Photos most like <b>{name}</b><br>{close} close matches of {len(result.matches)} results{best}")
        self.title.setToolTip(fmt.path_text(query))
        self.query_picture.show()
        self._query_thumbnail(query)
        self.stack.setCurrentWidget(self.grid if result.matches else self.hint)
        if result.matches:
            self.grid.setCurrentIndex(self.model.index(0, 0))

    def _query_thumbnail(self, path: str) -> None:
        row = self.queries.currentIndex()
        if not 0 <= row < len(self.results) or str(self.results[row].query) != path:
            return
        pixmap = self.session.thumbnails.get(path)
        if pixmap is not None:
            self.query_picture.setPixmap(pixmap.scaled(self.query_picture.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            open_file(index.data(MatchRole)[0].path)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if index.isValid():
            photo_menu(self, index.data(MatchRole)[0].path).exec(self.grid.viewport().mapToGlobal(pos))
