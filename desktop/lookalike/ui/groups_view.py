"""The Duplicates and Similar tabs: groups of photos with a live threshold slider.

One list row per group, painted by a delegate (thousands of groups scroll
smoothly); grouping itself is `core.review.view_pages`, run off the UI thread
and coalesced while the slider moves, with the first page's keepers: the list
fetches further pages as it scrolls, and the "could free" total is added up in
the background.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QFont, QFontMetrics, QKeyEvent, QMouseEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QSlider,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.review.tiers import (
    OTHER_SHOTS,
    GroupPages,
    ReviewGroup,
    ReviewMember,
    all_but_keepers,
    default_threshold,
    shots_among,
    view_pages,
)
from lookalike.ui import format as fmt
from lookalike.ui.session import Marks, Session
from lookalike.ui.system import photo_menu
from lookalike.ui.thumbnails import RepaintThrottle, ThumbnailCache
from lookalike.ui.tiles import KEEP_COLOR, MARK_COLOR, Tile, drag_photo, paint_tile, row_width, rows_height, tile_rects
from lookalike.ui.workers import Coalescer, Job

MARGIN = 8
#: A group is never narrower than this many tiles (room for its header line).
MIN_TILES = 2
GroupRole = Qt.ItemDataRole.UserRole + 1

TITLES = {"duplicate": "Duplicates", "burst": "Bursts", "similar": "Similar"}
#: What the representative's tile says instead of a similarity: the others' percentages are
#: measured to it (it need not be the copy kept, which the KEEP badge shows).
REFERENCE = "% measured to this"
LABELS = {"identical": "identical files", "duplicate": "same picture", "burst": "same moment", "similar": "similar pictures"}
#: The window-wide shortcut of "Not a duplicate of <reference>", shown in the context menus.
PAIR_APART_KEY = "Ctrl+Shift+D"
#: The window-wide shortcut of "Keep this one" (Edit menu, context menus, Compare).
KEEP_KEY = "K"


def verdict(member: ReviewMember) -> str:
    """The keep-rule's words for this copy, without the 'duplicate of X:' preamble."""
    return member.reason.split(": ", 1)[-1]


def other_shots_text(count: int, action: str) -> str:
    """The plain warning before marking or removing similar photos: they are not copies."""
    photos = f"{count} photo{'' if count == 1 else 's'}"
    return (
        f"{action} {photos} from the Bursts or Similar tab?\n\n"
        "These are different shots (of the same moment, or of similar scenes), not copies: each one is a picture of its own, "
        "and removing it loses that picture. Only continue if you have looked at them."
    )


def mark_extras(parent: QWidget, marks: Marks, groups: Sequence[ReviewGroup]) -> bool:
    """Mark what the keep rules would remove (core's `all_but_keepers`). Bursts and similar
    photos are other shots, so there it happens only after an explicit Yes (Cancel is the
    default); True when marked."""
    selection = all_but_keepers(groups, different_shots=True)
    if not selection.file_ids:
        return False
    if selection.different_shots:
        answer = QMessageBox.question(
            parent, "Mark other shots for removal", other_shots_text(len(selection.file_ids), "Mark"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
    marks.set(selection.file_ids)
    return True


def reference_of(group: ReviewGroup, member: ReviewMember) -> ReviewMember | None:
    """The photo a "not a duplicate of" verdict on `member` pairs it with: the representative
    its similarity is measured against, else (on the representative itself) the keeper, else the closest."""
    order = sorted(group.members, key=lambda m: (m.file.id != group.representative_id, not m.keep))
    return next((m for m in order if m.file.id != member.file.id), None)


def apart_pair(group: ReviewGroup | None, member: ReviewMember | None) -> list[int] | None:
    """[photo, its reference] for a "not a duplicate of" verdict; None when there is no pair."""
    reference = reference_of(group, member) if group and member else None
    return [member.file.id, reference.file.id] if member and reference else None


def apart_actions(parent: QObject, kind: str, group: ReviewGroup, member: ReviewMember, slot: Callable[[], None]) -> list[QAction]:
    """The context-menu entry "Not a Duplicate of <reference>" (or "Not Similar to"), if there is a pair."""
    reference = reference_of(group, member)
    if reference is None:
        return []
    relation = "Not a Duplicate of" if kind == "duplicate" else "Not Similar to"
    action = QAction(f"{relation} {fmt.name(reference.file.path)}", parent)
    action.setShortcut(PAIR_APART_KEY)
    action.triggered.connect(slot)
    return [action]


def keep_choice(group: ReviewGroup | None, member: ReviewMember | None) -> tuple[int, list[int]] | None:
    """(kept photo, its group's photos) for a "keep this one"; None without a photo."""
    if group is None or member is None:
        return None
    return member.file.id, [m.file.id for m in group.members]


def keep_action(parent: QObject, slot: Callable[[], None]) -> QAction:
    """The context-menu entry "Keep This One" (with the window's shortcut shown)."""
    action = QAction("Keep This One", parent)
    action.setShortcut(KEEP_KEY)
    action.setToolTip("Keep this photo in its group whatever the keep rules say; remembered (Edit \u25b8 Decisions)")
    action.triggered.connect(slot)
    return action


def member_tiles(group: ReviewGroup, marks: Marks, current: int = -1) -> list[Tile]:
    """The tiles of a group's photos: name, folder (told apart where names clash), facts,
    similarity (first: the date may be cut), then the keep-rule verdict on two lines."""
    folders = fmt.folder_labels([m.file.path for m in group.members])
    return [member_tile(group, m, folder, m.file.id in marks, i == current) for i, (m, folder) in enumerate(zip(group.members, folders))]


def member_tile(group: ReviewGroup, member: ReviewMember, folder: str, marked: bool, current: bool) -> Tile:
    """The tile of one photo of a group (see `member_tiles`). A marked photo is not shown as
    kept: KEEP and "remove" never sit on one tile."""
    file = member.file
    similarity = REFERENCE if file.id == group.representative_id else f"{fmt.percent(member.similarity)} similar"
    if marked:
        note, accent = "Marked for removal", MARK_COLOR
    elif member.keep:
        note, accent = f"Keep: {fmt.path_text(verdict(member))}", KEEP_COLOR
    else:
        note, accent = fmt.path_text(verdict(member)), None
    return Tile(
        path=file.path,
        lines=[fmt.name(file.path), f"in {folder}", f"{fmt.human_bytes(file.size)} \u00b7 {fmt.dimensions(file)}", f"{similarity} \u00b7 {fmt.taken(file)}"],
        note=note,
        badge="KEEP" if member.keep and not marked else "",
        marked=marked,
        current=current,
        accent=accent,
    )


class GroupsModel(QAbstractListModel):
    """The groups of one kind for the current threshold, a page at a time: the list asks
    for more (canFetchMore / fetchMore) as it scrolls, and core chooses keepers only for
    the pages fetched (`core.review.tiers.GroupPages`)."""

    #: Groups fetched at a time.
    PAGE = 50

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pages: GroupPages | None = None
        self.groups: list[ReviewGroup] = []  # the groups fetched so far, in order

    def set_pages(self, pages: GroupPages | None) -> None:
        """Show `pages` from its first page (fetched already when it came off the UI thread)."""
        self.beginResetModel()
        self.pages = pages
        self.groups = pages.page(0, self.PAGE) if pages is not None else []
        self.endResetModel()

    def set_chosen(self, groups: list[ReviewGroup]) -> None:
        """Show groups core made outside any view (photos chosen on the map), with no pages behind."""
        self.beginResetModel()
        self.pages = None
        self.groups = list(groups)
        self.endResetModel()

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self.pages is not None and len(self.groups) < len(self.pages)

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._append(self.pages.page(len(self.groups), self.PAGE))  # type: ignore[union-attr]

    def fetch_all(self) -> list[ReviewGroup]:
        """Every group, fetched (bulk actions over all of them: "mark all but keepers")."""
        if self.pages is not None:
            self._append(self.pages.all()[len(self.groups) :])
        return self.groups

    def _append(self, more: list[ReviewGroup]) -> None:
        if more:
            self.beginInsertRows(QModelIndex(), len(self.groups), len(self.groups) + len(more) - 1)
            self.groups = self.groups + more
            self.endInsertRows()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.groups)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        group = self.groups[index.row()]
        if role == GroupRole:
            return group
        if role == Qt.ItemDataRole.DisplayRole:
            return f"Group {index.row() + 1}: {len(group.members)} photos"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        """Rows may start a drag (of the photo under the pointer, see GroupsList.startDrag)."""
        return super().flags(index) | Qt.ItemFlag.ItemIsDragEnabled

    def row_of_file(self, file_id: int) -> int | None:
        return next((r for r, g in enumerate(self.groups) if any(m.file.id == file_id for m in g.members)), None)


class GroupDelegate(QStyledItemDelegate):
    """Paints a group: a header line, then one tile per photo, wrapping to the view's width."""

    def __init__(self, view: GroupsList, thumbnails: ThumbnailCache, marks: Marks) -> None:
        super().__init__(view)
        self._view = view
        self._thumbnails = thumbnails
        self._marks = marks

    def _header_height(self, font: QFont) -> int:
        return QFontMetrics(font).height() + 12

    def _tiles_area(self, rect: QRect, font: QFont) -> QRect:
        return rect.adjusted(MARGIN, MARGIN + self._header_height(font), -MARGIN, -MARGIN)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        """As wide as its tiles in one row (at least MIN_TILES wide, for the header), else the
        view's width with the tiles wrapping: small groups then sit side by side."""
        group: ReviewGroup = index.data(GroupRole)
        thumb = self._view.thumb
        available = self._view.viewport().width() - 1
        needed = row_width(max(len(group.members), MIN_TILES), option.font, thumb) + 2 * MARGIN
        width = max(1, min(available, needed))
        height = self._header_height(option.font) + rows_height(width - 2 * MARGIN, len(group.members), option.font, thumb)
        return QSize(width, height + 2 * MARGIN)

    def member_rects(self, rect: QRect, index: QModelIndex | QPersistentModelIndex) -> list[QRect]:
        """Where each photo's tile lies in a group drawn in `rect`."""
        group: ReviewGroup = index.data(GroupRole)
        return tile_rects(self._tiles_area(rect, self._view.font()), len(group.members), self._view.font(), self._view.thumb)

    def member_at(self, rect: QRect, index: QModelIndex, pos: QPoint) -> int | None:
        return next((i for i, r in enumerate(self.member_rects(rect, index)) if r.contains(pos)), None)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        group: ReviewGroup = index.data(GroupRole)
        palette = option.palette
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        background = palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.AlternateBase)
        if selected:
            background.setAlpha(60)
        painter.fillRect(option.rect.adjusted(2, 2, -2, -2), background)

        header = option.rect.adjusted(MARGIN + 2, MARGIN, -MARGIN, 0)
        header.setHeight(self._header_height(option.font))
        title = QFont(option.font)
        title.setBold(True)
        marked = sum(1 for m in group.members if m.file.id in self._marks)
        extra = "  \u00b7  ".join(
            ([f"could free {fmt.human_bytes(group.reclaimable)}"] if group.copies else []) + ([f"{marked} marked"] if marked else [])
        )
        painter.setFont(option.font)
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(header, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, extra)
        room = header.width() - (QFontMetrics(option.font).horizontalAdvance(extra) + 12 if extra else 0)
        painter.setFont(title)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        text = f"Group {index.row() + 1}  \u00b7  {len(group.members)} photos  \u00b7  {LABELS[group.kind]}"
        text = QFontMetrics(title).elidedText(text, Qt.TextElideMode.ElideRight, max(0, room))
        painter.drawText(header, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.setFont(option.font)

        current_member = self._view.current_member if selected else -1
        rects = self.member_rects(option.rect, index)
        for rect, tile in zip(rects, member_tiles(group, self._marks, current_member)):
            paint_tile(painter, rect, tile, self._thumbnails.get(tile.path), self._thumbnails.failed(tile.path), palette)
        painter.restore()

    def helpEvent(self, event: QEvent, view: QAbstractItemView, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        member = self.member_at(option.rect, index, event.pos())  # type: ignore[attr-defined]
        if member is None:
            QToolTip.hideText()
            return True
        m = index.data(GroupRole).members[member]
        QToolTip.showText(event.globalPos(), f"{fmt.path_text(m.file.path)}\n{'Keep' if m.keep else 'Remove'}: {fmt.path_text(m.reason)}", view)  # type: ignore[attr-defined]
        return True


class GroupsList(QListView):
    """Groups, one per row. Up/Down move between groups, Left/Right between photos,
    Space marks the current photo, Enter or a double-click opens the comparison;
    a photo dragged out is a file (search by it, or copy it in a file manager)."""

    compareRequested = Signal(int, int)  # row, member
    notDuplicateRequested = Signal(list, str)  # file ids, kind
    keepRequested = Signal(int, list)  # kept file id, the group's file ids

    def __init__(self, session: Session, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._marks = session.marks
        self._thumbnails = session.thumbnails
        self.kind = kind
        self.thumb = session.settings.thumbnail_size
        self.current_member = 0
        self._pressed_tile = False
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Groups flow left to right and wrap: small ones share a row on a wide window.
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setUniformItemSizes(False)
        self.setMouseTracking(True)
        self.verticalScrollBar().setSingleStep(24)
        self.setItemDelegate(GroupDelegate(self, session.thumbnails, session.marks))
        throttle = RepaintThrottle(self.viewport())
        throttle.setParent(self)
        session.thumbnails.ready.connect(throttle.poke)
        session.marks.changed.connect(self.viewport().update)
        session.tileSizeChanged.connect(self.set_thumb)

    def set_thumb(self, side: int) -> None:
        """Tiles of `side` pixels: every group is measured and laid out again."""
        self.thumb = side
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    def group(self) -> ReviewGroup | None:
        index = self.currentIndex()
        return index.data(GroupRole) if index.isValid() else None

    def member(self) -> ReviewMember | None:
        group = self.group()
        if group is None or not group.members:
            return None
        return group.members[min(self.current_member, len(group.members) - 1)]

    def pair_apart(self) -> None:
        """Ask to remember the current photo apart from its reference (see `reference_of`)."""
        pair = apart_pair(self.group(), self.member())
        if pair:
            self.notDuplicateRequested.emit(pair, self.kind)

    def keep_this(self) -> None:
        """Ask to keep the current photo in its group (see `keep_choice`)."""
        choice = keep_choice(self.group(), self.member())
        if choice:
            self.keepRequested.emit(*choice)

    def select(self, row: int, member: int = 0) -> None:
        index = self.model().index(row, 0)
        if index.isValid():
            self.current_member = member
            self.setCurrentIndex(index)
            self.scrollTo(index)
            self.viewport().update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        index = self.indexAt(pos)
        hit = self.itemDelegate().member_at(self.visualRect(index), index, pos) if index.isValid() else None  # type: ignore[attr-defined]
        if index.isValid():
            self.current_member = hit if hit is not None else 0
        self._pressed_tile = hit is not None
        super().mousePressEvent(event)
        self.viewport().update()

    def startDrag(self, _actions: Qt.DropAction) -> None:
        """Drag the photo the press was on (not the whole group row)."""
        member = self.member()
        if self._pressed_tile and member is not None:
            drag_photo(self, member.file.path, self._thumbnails.get(member.file.path))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid():
            self.compareRequested.emit(index.row(), self.current_member)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Open, show in folder, copy path; mark this photo or all but the keeper; compare."""
        pos = event.pos()
        index = self.indexAt(pos)
        hit = self.itemDelegate().member_at(self.visualRect(index), index, pos) if index.isValid() else None  # type: ignore[attr-defined]
        if hit is None:
            return
        self.select(index.row(), hit)
        group, member = self.group(), self.member()
        assert group is not None and member is not None
        mark = QAction("Unmark" if member.file.id in self._marks else "Mark for Removal", self)
        mark.triggered.connect(lambda: self._marks.toggle(member.file.id))
        others = QAction("Mark All but Keeper in This Group", self)
        others.triggered.connect(lambda: mark_extras(self, self._marks, [group]))
        compare = QAction("Compare Side by Side", self)
        compare.triggered.connect(lambda: self.compareRequested.emit(index.row(), hit))
        actions = [mark, others, keep_action(self, self.keep_this), compare, *apart_actions(self, self.kind, group, member, self.pair_apart)]
        photo_menu(self, member.file.path, actions).exec(event.globalPos())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        group = self.group()
        key = event.key()
        if group is not None and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = 1 if key == Qt.Key.Key_Right else -1
            self.current_member = max(0, min(len(group.members) - 1, self.current_member + step))
            self.viewport().update()
        elif group is not None and key == Qt.Key.Key_Space:
            member = self.member()
            if member is not None:
                self._marks.toggle(member.file.id)
        elif group is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.compareRequested.emit(self.currentIndex().row(), self.current_member)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and not event.modifiers():
            # The previous / next group, wherever the flow put it (not the one drawn above or below).
            row = self.currentIndex().row() + (1 if key == Qt.Key.Key_Down else -1)
            if 0 <= row < self.model().rowCount():
                self.select(row)
        else:
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self.current_member = 0
            super().keyPressEvent(event)


class GroupsPage(QWidget):
    """One tab: threshold slider, group count, mark-all button and the list of groups."""

    compareRequested = Signal(str, int, int)  # kind, row, member
    groupsChanged = Signal(str, int)  # kind, number of groups
    settled = Signal()  # no regroup running or waiting any more
    notDuplicateRequested = Signal(list, str)  # file ids, kind
    keepRequested = Signal(int, list)  # kept file id, the group's file ids

    def __init__(self, session: Session, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.kind = kind
        self.model = GroupsModel(self)
        self._regroup = Coalescer(session.runner, self)
        self._regroup.result.connect(self._show_groups)
        self._regroup.failed.connect(self._show_failure)
        self._regroup.busyChanged.connect(lambda busy: None if busy else self.settled.emit())
        self._total: Job | None = None  # adding up what the copies take, in the background
        self._counted = (0, 0)  # groups, photos
        #: The catalog changed since this page last regrouped (MainWindow regroups pages in turn).
        self.stale = True
        self._grouped_at: float | None = None  # the threshold of the last regroup asked for
        self._debounce = QTimer(self, singleShot=True, interval=100)
        self._debounce.timeout.connect(self._threshold_settled)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(50, 100)
        self.slider.setPageStep(5)
        self.slider.setToolTip("How alike two photos must be to share a group (Ctrl+[ / Ctrl+])")
        self.slider.setAccessibleName(f"{TITLES[kind]} threshold")
        self.threshold_label = QLabel()
        self.threshold_label.setMinimumWidth(42)
        self.count_label = QLabel("\u2014")
        self.count_label.setAccessibleName(f"{TITLES[kind]} group count")
        self.mark_button = QPushButton("Mark all but keepers")
        self.mark_button.setToolTip(
            "Mark every photo the keep rules would remove, in every group (Ctrl+Shift+M)"
            + ("; these are other shots, not copies, so it asks first" if kind in OTHER_SHOTS else "")
        )
        self.mark_button.clicked.connect(self.mark_all_but_keepers)
        self.compare_button = QPushButton("Compare\u2026")
        self.compare_button.setToolTip("Compare the selected group side by side (Enter)")
        self.compare_button.clicked.connect(lambda: self.list.compareRequested.emit(max(0, self.list.currentIndex().row()), self.list.current_member))

        self.list = GroupsList(session, kind)
        self.list.setModel(self.model)
        self.list.setAccessibleName(f"{TITLES[kind]} groups")
        self.list.compareRequested.connect(lambda row, member: self.compareRequested.emit(self.kind, row, member))
        self.list.notDuplicateRequested.connect(self.notDuplicateRequested)
        self.list.keepRequested.connect(self.keepRequested)
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.list)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Threshold"))
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.threshold_label)
        bar.addSpacing(16)
        bar.addWidget(self.count_label, 2)
        bar.addWidget(self.mark_button)
        bar.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

        self.slider.valueChanged.connect(self._slider_moved)
        session.settingsChanged.connect(self.reset_threshold)
        self.slider.blockSignals(True)  # the first regroup is MainWindow's, in turn with the other tabs
        self.reset_threshold()
        self.slider.blockSignals(False)
        self._show_threshold()

    @property
    def threshold(self) -> float:
        return self.slider.value() / 100

    def nudge_threshold(self, steps: int) -> None:
        """Raise (positive) or lower the threshold by hundredths: keyboard control of the slider."""
        self.slider.setValue(self.slider.value() + steps)

    def reset_threshold(self) -> None:
        """Back to the default threshold from the settings (a move regroups, as the slider's)."""
        self.slider.setValue(round(default_threshold(self.kind, self.session.settings) * 100))

    def _slider_moved(self) -> None:
        self._show_threshold()
        self._debounce.start()

    def _show_threshold(self) -> None:
        self.threshold_label.setText(f"{self.threshold:.2f}")

    def _threshold_settled(self) -> None:
        """The slider stopped: regroup, unless this page's groups are up to date at it
        (then say so: MainWindow waits for a page's regroup before starting the next)."""
        if self.stale or self.threshold != self._grouped_at:
            self.refresh()
        else:
            self.settled.emit()

    def refresh(self) -> None:
        """Regroup from the catalog at the slider's threshold (off the UI thread, with the
        first page's keepers: the rest are chosen as the list scrolls)."""
        session, kind, threshold, first = self.session, self.kind, self.threshold, GroupsModel.PAGE
        self.stale, self._grouped_at = False, threshold
        catalog, model_id, settings = session.catalog, session.model_id, session.settings

        def regroup(_progress: object, _cancel: object) -> GroupPages:
            pages = view_pages(catalog, model_id, kind, threshold, settings)
            pages.page(0, first)
            return pages

        self._regroup.submit(regroup)

    def busy(self) -> bool:
        return self._regroup.busy() or self._debounce.isActive()

    def _show_groups(self, pages: GroupPages) -> None:
        focused = self.list.member()
        self.model.set_pages(pages)
        count = len(pages)
        if self._total is not None:
            self._total.cancel()  # the total of groups no longer shown
            self._total = None
        if count and self.kind not in OTHER_SHOTS:
            # A bound slot, not a lambda: Qt drops the delivery once this page is gone.
            self._total = self.session.runner.start(
                lambda _progress, cancel: pages.reclaimable(cancel.is_set), self._show_total
            )
        self._counted = (count, pages.photos)
        self._show_count("could free \u2026 (adding up)" if self._total else "")
        self.mark_button.setEnabled(bool(count))
        self.compare_button.setEnabled(bool(count))
        if count:
            row = self.model.row_of_file(focused.file.id) if focused else None
            self.list.select(row if row is not None else 0, self.list.current_member if row is not None else 0)
            self.stack.setCurrentWidget(self.list)
        else:
            self.empty.setText(
                f"No {TITLES[self.kind].lower()} at threshold {self.threshold:.2f}.\n\n"
                "Add a folder of photos (Ctrl+O, or drop it on the window), or lower the threshold."
            )
            self.stack.setCurrentWidget(self.empty)
        self.groupsChanged.emit(self.kind, count)

    def _show_total(self, total: int | None) -> None:
        """The bytes the copies take, once every keeper is chosen (in the background); the
        total of groups no longer shown (its job was replaced by a regroup's) is dropped."""
        if self.sender() is self._total and total is not None:
            self._show_count(f"could free {fmt.human_bytes(total)}")

    def _show_count(self, copies: str) -> None:
        count, photos = self._counted
        noun = "group" if count == 1 else "groups"
        extra = "different shots, not copies" if count and self.kind in OTHER_SHOTS else copies
        self.count_label.setText(f"<b>{count}</b> {noun} \u00b7 {photos} photos" + (f" \u00b7 {extra}" if extra else ""))

    def _show_failure(self, message: str) -> None:
        self.model.set_pages(None)
        self.count_label.setText("\u2014")
        self.empty.setText(f"Could not group photos: {message}")
        self.stack.setCurrentWidget(self.empty)
        self.groupsChanged.emit(self.kind, 0)

    def mark_all_but_keepers(self) -> None:
        mark_extras(self, self.session.marks, self.model.fetch_all())
