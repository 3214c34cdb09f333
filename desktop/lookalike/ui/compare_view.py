"""Side-by-side comparison of one group: synchronised zoom and pan, and a table of differences.

Each photo first shows its thumbnail, then its full-resolution pixels once a
worker has decoded them. Zoom and pan are synchronised relative to each photo
(same zoom steps, same point of the picture centred), so a half-size copy and
its original stay aligned.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QContextMenuEvent, QImage, QKeyEvent, QPainter, QPalette, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.scan.images import open_upright
from lookalike.core.review.tiers import ReviewGroup, ReviewMember
from lookalike.ui import format as fmt
from lookalike.ui.groups_view import KEEP_KEY, GroupsModel, apart_actions, apart_pair, keep_action, keep_choice, mark_extras, verdict
from lookalike.ui.session import Session
from lookalike.ui.system import photo_menu
from lookalike.ui.thumbnails import pil_to_qimage
from lookalike.ui.tiles import KEEP_COLOR, MARK_COLOR
from lookalike.ui.workers import Job

ZOOM_STEP = 1.25
#: Rows of the metadata table: label and how to read it from a member.
FIELDS: list[tuple[str, object]] = [
    ("Name", lambda m: fmt.name(m.file.path)),
    ("Folder", lambda m: fmt.folder(m.file.path)),
    ("Dimensions", lambda m: fmt.dimensions(m.file)),
    ("File size", lambda m: fmt.human_bytes(m.file.size)),
    ("Format", lambda m: m.file.format or "unknown"),
    ("Date taken", lambda m: fmt.taken(m.file)),
    ("Camera", lambda m: m.file.camera or "none"),
    ("GPS", lambda m: "yes" if m.file.has_gps else "no"),
    ("Similarity", lambda m: fmt.percent(m.similarity)),
    ("Keep rule", lambda m: ("Keep: " if m.keep else "") + verdict(m)),
]
#: Rows saying how a photo relates to its group rather than what the file is: they differ
#: by construction, so only the file's own facts are highlighted where they differ.
RELATIONS = {"Similarity", "Keep rule"}
#: Background of a fact that differs from the proposed keeper's.
HIGHLIGHT = QColor(255, 196, 0, 90)


class ImagePane(QGraphicsView):
    """One photo, zoomable with the wheel and pannable by dragging."""

    wheelZoomed = Signal(object, float)  # pane, factor
    panned = Signal(object)
    clicked = Signal(object)
    menuRequested = Signal(object, QPoint)  # pane, global position
    zoomChanged = Signal(object)  # pane

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Clicks and drags pan the photo but never take the keyboard: the arrows and
        # Page keys belong to the comparison (next group, next photo), not to scrolling.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QBrush(self.palette().color(QPalette.ColorRole.Window).darker(115)))
        self.fitted = True
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.panned.emit(self))
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.panned.emit(self))

    def set_pixmap(self, pixmap: QPixmap, native: QSize) -> None:
        """Show `pixmap` scaled so that one scene unit is one pixel of the original photo."""
        self._item.setPixmap(pixmap)
        self._item.setScale(native.width() / max(1, pixmap.width()))
        self.scene().setSceneRect(QRectF(0, 0, native.width(), native.height()))
        if self.fitted:
            self.fit()

    def fit(self) -> None:
        self.fitted = True
        if not self.scene().sceneRect().isEmpty():
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self)

    def actual_size(self) -> None:
        self.fitted = False
        self.resetTransform()
        self.zoomChanged.emit(self)

    def zoom(self, factor: float) -> None:
        self.fitted = False
        self.scale(factor, factor)
        self.zoomChanged.emit(self)

    def scale_factor(self) -> float:
        """Screen pixels per photo pixel (scene units are the photo's own pixels)."""
        return self.transform().m11()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        event.ignore()  # up to the CompareView: the view's own arrow-key scrolling would swallow navigation

    def center_fraction(self) -> QPointF:
        """The point of the photo at the centre of the view, as fractions of its size."""
        rect = self.scene().sceneRect()
        center = self.mapToScene(self.viewport().rect().center())
        return QPointF(center.x() / max(1.0, rect.width()), center.y() / max(1.0, rect.height()))

    def center_on_fraction(self, fraction: QPointF) -> None:
        rect = self.scene().sceneRect()
        self.centerOn(fraction.x() * rect.width(), fraction.y() * rect.height())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.wheelZoomed.emit(self, ZOOM_STEP**steps)

    def mousePressEvent(self, event: object) -> None:
        self.clicked.emit(self)
        super().mousePressEvent(event)  # type: ignore[arg-type]

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.menuRequested.emit(self, event.globalPos())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fitted:
            self.fit()


class PhotoPanel(QFrame):
    """A pane with its caption; the frame colour says keep, marked or current."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pane = ImagePane()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.pane, 1)
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(2)

    def show_state(self, member: ReviewMember, marked: bool, current: bool) -> None:
        name = fmt.rich(Path(member.file.path).name)
        tag = ""
        if member.keep and not marked:  # never KEEP and MARKED together
            tag = f" <span style='color:{KEEP_COLOR.name()}'><b>KEEP</b></span>"
        if marked:
            tag += f" <span style='color:{MARK_COLOR.name()}'><b>MARKED</b></span>"
        pointer = "\u25b6 " if current else ""
        self.caption.setText(f"{pointer}{name}{tag}")
        color = MARK_COLOR if marked else (self.palette().color(QPalette.ColorRole.Highlight) if current else QColor(0, 0, 0, 0))
        self.setStyleSheet(f"PhotoPanel {{ border: 2px solid {color.name(QColor.NameFormat.HexArgb)}; border-radius: 4px; }}")


class CompareView(QWidget):
    """Compare the photos of one group; keys: arrows, Space, F (fit), 1 (100%), +/-, Esc."""

    closed = Signal()
    notDuplicateRequested = Signal(list, str)  # file ids, kind
    keepRequested = Signal(int, list)  # kept file id, the group's file ids
    groupChanged = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model: GroupsModel | None = None
        self.kind = "duplicate"
        self.row = 0
        self.current = 0
        self.panels: list[PhotoPanel] = []
        self._loads: list[Job] = []
        self._syncing = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.title = QLabel("Select a group and press Enter to compare its photos")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        bar = QToolBar()
        bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.back_button = self._button(bar, "\u2190 Groups", "Back to the list of groups (Esc)", self.close_view)
        self.prev_button = self._button(bar, "\u25c0", "Previous group (Up)", lambda: self.step_group(-1))
        bar.addWidget(self.title)
        self.next_button = self._button(bar, "\u25b6", "Next group (Down)", lambda: self.step_group(1))
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self._button(bar, "Fit", "Fit every photo in its pane (F)", self.fit_all)
        self._button(bar, "100%", "Show every photo at its actual pixels (1)", self.actual_all)
        self._button(bar, "+", "Zoom in (+ or the mouse wheel)", lambda: self.zoom_all(ZOOM_STEP))
        self._button(bar, "\u2212", "Zoom out (-)", lambda: self.zoom_all(1 / ZOOM_STEP))
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip("Zoom of the current photo: 100% shows its actual pixels")
        self.zoom_label.setAccessibleName("Zoom level")
        self.zoom_label.setMinimumWidth(self.zoom_label.fontMetrics().horizontalAdvance("Fit \u00b7 100%") + 12)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.zoom_label)
        bar.addSeparator()
        self.mark_button = self._button(bar, "Mark", "Mark or unmark the current photo for removal (Space)", self.toggle_mark)
        self._button(bar, "Mark All but Keeper", "Mark every photo of this group except the proposed keeper (M)", self.mark_all_but_keeper)
        self.keep_button = self._button(bar, "Keep This One", f"Keep the current photo whatever the keep rules say; remembered ({KEEP_KEY})", self.keep_this)
        self.not_duplicate_button = self._button(bar, "Not a Duplicate", "Remember that these photos are not duplicates and drop the group (N)", self._not_duplicate)

        self.photos = QWidget()
        self.photos_layout = QHBoxLayout(self.photos)
        self.photos_layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setToolTip("Values that differ from the proposed keeper are highlighted")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.photos)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setCollapsible(0, False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setMinimumHeight(80)
        splitter.setSizes([10_000, (self.table.fontMetrics().height() + 6) * (len(FIELDS) + 1) + 4])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(bar)
        layout.addWidget(splitter, 1)

        session.marks.changed.connect(self._refresh_marks)
        session.thumbnails.ready.connect(self._thumbnail_ready)

    def _button(self, bar: QToolBar, text: str, tip: str, slot: object) -> QAction:
        action = bar.addAction(text, slot)
        action.setToolTip(tip)
        return action

    def close_view(self) -> None:
        self.closed.emit()

    # --- which group ----------------------------------------------------------

    def show_group(self, model: GroupsModel, kind: str, row: int, member: int = 0) -> None:
        if self.model is not model:
            if self.model is not None:
                self.model.modelReset.disconnect(self._regrouped)
            model.modelReset.connect(self._regrouped)
        self.model, self.kind = model, kind
        self.row, self.current = row, member
        self._rebuild()

    def group(self) -> ReviewGroup | None:
        if self.model is None or not 0 <= self.row < len(self.model.groups):
            return None
        return self.model.groups[self.row]

    def step_group(self, step: int) -> None:
        if self.model and self.row + step >= len(self.model.groups):
            self.model.fetchMore()  # the list fetches as it scrolls; stepping past its end does too
        if self.model and 0 <= self.row + step < len(self.model.groups):
            self.row += step
            self.current = 0
            self._rebuild()

    def _regrouped(self) -> None:
        """After a regroup (deletion, undo, decision), stay on the same photos if they still group."""
        if self.model is None:
            return
        ids = [p.property("file_id") for p in self.panels]
        row = next((r for i in ids if (r := self.model.row_of_file(i)) is not None), None)
        self.row = row if row is not None else min(self.row, len(self.model.groups) - 1)
        self._rebuild()

    def _rebuild(self) -> None:
        for job in self._loads:
            job.cancel()  # photos of the group left behind: not worth decoding any more
        self._loads = []
        for panel in self.panels:
            panel.hide()  # out of the layout now: deleteLater waits for the event loop
            self.photos_layout.removeWidget(panel)
            panel.deleteLater()
        self.panels = []
        group = self.group()
        count = len(self.model.groups) if self.model else 0
        self.prev_button.setEnabled(self.row > 0)
        self.next_button.setEnabled(self.row < count - 1 or bool(self.model and self.model.canFetchMore()))
        self.not_duplicate_button.setText("Not a Duplicate" if self.kind == "duplicate" else "Not Similar")
        if group is None:
            self.zoom_label.clear()
            self.title.setText("<b>No group left</b>")
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        self.current = min(self.current, len(group.members) - 1)
        self.title.setText(f"<b>Group {self.row + 1}</b> of {count} \u00b7 {len(group.members)} photos")
        for member in group.members:
            panel = PhotoPanel()
            panel.setProperty("file_id", member.file.id)
            panel.pane.wheelZoomed.connect(self._wheel_zoom)
            panel.pane.panned.connect(self._pan_from)
            panel.pane.clicked.connect(self._pane_clicked)
            panel.pane.menuRequested.connect(self._pane_menu)
            panel.pane.zoomChanged.connect(self._zoom_changed)
            self.photos_layout.addWidget(panel, 1)
            self.panels.append(panel)
            self._show_thumbnail(panel, member)
            self._load_full(panel, member)
        self._fill_table(group)
        self._refresh_marks()
        self.groupChanged.emit()

    # --- pixels -----------------------------------------------------------------

    def _native(self, member: ReviewMember) -> QSize:
        return QSize(member.file.width or 1, member.file.height or 1)

    def _show_thumbnail(self, panel: PhotoPanel, member: ReviewMember) -> None:
        pixmap = self.session.thumbnails.get(member.file.path)
        if pixmap is not None:
            panel.pane.set_pixmap(pixmap, self._native(member))

    def _thumbnail_ready(self, path: str) -> None:
        group = self.group()
        if group is None:
            return
        for panel, member in zip(self.panels, group.members):
            if member.file.path == path and not panel.property("full"):
                self._show_thumbnail(panel, member)

    def _load_full(self, panel: PhotoPanel, member: ReviewMember) -> None:
        path = member.file.path

        def done(image: QImage | None) -> None:
            if image is not None and panel in self.panels:
                panel.setProperty("full", True)
                panel.pane.set_pixmap(QPixmap.fromImage(image), self._native(member))

        def load(_progress: object, cancel: threading.Event) -> QImage | None:
            return None if cancel.is_set() else pil_to_qimage(open_upright(path))

        self._loads.append(self.session.run(load, on_done=done))

    # --- zoom and pan, synchronised -------------------------------------------

    def fit_all(self) -> None:
        for panel in self.panels:
            panel.pane.fit()

    def actual_all(self) -> None:
        for panel in self.panels:
            panel.pane.actual_size()

    def zoom_all(self, factor: float) -> None:
        for panel in self.panels:
            panel.pane.zoom(factor)

    def _zoom_changed(self, pane: ImagePane) -> None:
        if 0 <= self.current < len(self.panels) and self.panels[self.current].pane is pane:
            self._show_zoom()

    def _show_zoom(self) -> None:
        """The current photo's zoom: "Fit · 23%" while it is fitted to its pane, else "200%"."""
        if not 0 <= self.current < len(self.panels):
            self.zoom_label.clear()
            return
        pane = self.panels[self.current].pane
        percent = f"{round(pane.scale_factor() * 100)}%"
        self.zoom_label.setText(f"Fit \u00b7 {percent}" if pane.fitted else percent)

    def _wheel_zoom(self, source: ImagePane, factor: float) -> None:
        source.zoom(factor)
        self._syncing = True
        try:
            for panel in self.panels:
                if panel.pane is not source:
                    panel.pane.zoom(factor)
        finally:
            self._syncing = False
        self._pan_from(source)

    def _pan_from(self, source: ImagePane) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            fraction = source.center_fraction()
            for panel in self.panels:
                if panel.pane is not source:
                    panel.pane.center_on_fraction(fraction)
        finally:
            self._syncing = False

    # --- marks and navigation --------------------------------------------------

    def member(self) -> ReviewMember | None:
        group = self.group()
        return group.members[self.current] if group and group.members else None

    def _pane_clicked(self, pane: ImagePane) -> None:
        self.current = next(i for i, p in enumerate(self.panels) if p.pane is pane)
        self.setFocus()  # whatever had the keyboard before, the arrows now move between photos and groups
        self._refresh_marks()

    def toggle_mark(self) -> None:
        member = self.member()
        if member is not None:
            self.session.marks.toggle(member.file.id)

    def mark_all_but_keeper(self) -> None:
        group = self.group()
        if group is not None:
            mark_extras(self, self.session.marks, [group])

    def _pane_menu(self, pane: ImagePane, where: QPoint) -> None:
        """Open, show in folder, copy path; mark; "not a duplicate of" the group's reference photo."""
        self._pane_clicked(pane)
        group, member = self.group(), self.member()
        if group is None or member is None:
            return
        mark = QAction("Unmark" if member.file.id in self.session.marks else "Mark for Removal", self)
        mark.triggered.connect(self.toggle_mark)
        actions = [mark, keep_action(self, self.keep_this), *apart_actions(self, self.kind, group, member, self.pair_apart)]
        photo_menu(self, member.file.path, actions).exec(where)

    def keep_this(self) -> None:
        """Ask to keep the current photo in its group, whatever the keep rules say."""
        choice = keep_choice(self.group(), self.member())
        if choice:
            self.keepRequested.emit(*choice)

    def pair_apart(self) -> None:
        """Ask to remember the current photo apart from its group's reference photo."""
        pair = apart_pair(self.group(), self.member())
        if pair:
            self.notDuplicateRequested.emit(pair, self.kind)

    def _not_duplicate(self) -> None:
        group = self.group()
        if group is not None:
            self.notDuplicateRequested.emit([m.file.id for m in group.members], self.kind)

    def _refresh_marks(self) -> None:
        group = self.group()
        if group is None:
            return
        marks = self.session.marks
        for i, (panel, member) in enumerate(zip(self.panels, group.members)):
            panel.show_state(member, member.file.id in marks, i == self.current)
        member = self.member()
        self.mark_button.setText("Unmark" if member and member.file.id in marks else "Mark")
        self._show_zoom()

    def _fill_table(self, group: ReviewGroup) -> None:
        keeper = next((m for m in group.members if m.keep), group.members[0])
        self.table.clear()
        self.table.setColumnCount(len(group.members))
        self.table.setRowCount(len(FIELDS))
        self.table.setVerticalHeaderLabels([label for label, _ in FIELDS])
        self.table.setHorizontalHeaderLabels([fmt.name(m.file.path) for m in group.members])
        for row, (label, read) in enumerate(FIELDS):
            reference = read(keeper)  # type: ignore[operator]
            for column, member in enumerate(group.members):
                value = read(member)  # type: ignore[operator]
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if label not in RELATIONS and value != reference:
                    item.setBackground(HIGHLIGHT)
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        group = self.group()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and group:
            step = 1 if key == Qt.Key.Key_Right else -1
            self.current = max(0, min(len(group.members) - 1, self.current + step))
            self._refresh_marks()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_PageUp):
            self.step_group(-1)
        elif key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown):
            self.step_group(1)
        elif key == Qt.Key.Key_Space:
            self.toggle_mark()
        elif key == Qt.Key.Key_M:
            self.mark_all_but_keeper()
        elif key == Qt.Key.Key_N:
            self._not_duplicate()
        elif key == Qt.Key.Key_F:
            self.fit_all()
        elif key == Qt.Key.Key_1:
            self.actual_all()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_all(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_all(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_Escape:
            self.close_view()
        else:
            super().keyPressEvent(event)
