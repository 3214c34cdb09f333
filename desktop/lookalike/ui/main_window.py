"""The main window: library sidebar, Duplicates / Bursts / Similar / Compare / Search / Explore tabs, menus and shortcuts.

It wires views to the session and to core jobs; it decides nothing about photos.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDropEvent, QGuiApplication, QIcon, QImage, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSplitter,
    QStyle,
    QTabWidget,
)

from lookalike.core.catalog.store import CatalogError
from lookalike.core.config import THUMBNAIL_SIZES
from lookalike.core.scan.images import is_supported
from lookalike.core.review.tiers import ReviewGroup, chosen_group, shots_among
from lookalike.core.scan.pipeline import ScanReport, Scanner
from lookalike.core.explore.search import search_images
from lookalike.ui.about import show_about
from lookalike.ui.compare_view import CompareView
from lookalike.ui.drop_overlay import DropOverlay
from lookalike.ui.errors_panel import ErrorsPanel
from lookalike.ui.explore_view import ExploreView
from lookalike.ui.groups_view import KEEP_KEY, PAIR_APART_KEY, TITLES, GroupsModel, GroupsPage, other_shots_text
from lookalike.ui.library_panel import LibraryPanel
from lookalike.ui.review_actions import ReviewActions
from lookalike.ui.scan_status import ScanStatus, summarize
from lookalike.ui.search_view import SearchView
from lookalike.ui.session import Session
from lookalike.ui.settings_dialog import SettingsDialog
from lookalike.ui.workers import Job

#: How many matches a search by image shows.
SEARCH_TOP_K = 48
#: Pixels one "Larger / Smaller Thumbnails" step adds or takes away.
THUMBNAIL_STEP = 24


def app_settings() -> QSettings:
    """Window geometry, remembered folders and the catalog location (per user)."""
    return QSettings("Lookalike", "Lookalike")


def scan_work(session: Session, folders: list[str], pause: threading.Event):  # type: ignore[no-untyped-def]
    """The scan job: load the model here (not on the UI thread), scan, then read the problems list.

    The scan holds while `pause` is set; the thumbnail cache is never scanned.
    """
    catalog, embedders, settings = session.catalog, session.embedders, session.settings
    thumbnails = session.thumbnails.directory  # the default one is skipped by every scan

    def work(progress, cancel):  # type: ignore[no-untyped-def]
        scanner = Scanner(catalog, embedders.get(), workers=settings.workers, excludes=settings.excludes,
                          skip_dirs=[thumbnails])
        report = scanner.run(folders, progress, cancel, pause)
        return report, [*report.unreadable, *catalog.errors()]

    return work


class MainWindow(QMainWindow):
    def __init__(self, catalog_path: Path | str) -> None:
        super().__init__()
        self.setWindowTitle("Lookalike")
        self.setAcceptDrops(True)
        self.session = Session(catalog_path, parent=self)
        self.scan_job: Job | None = None
        self.scan_pause = threading.Event()  # set: the running scan holds (core/scan.py)
        self.last_report: ScanReport | None = None

        self.library = LibraryPanel(self.session)
        self.pages = {kind: GroupsPage(self.session, kind) for kind in TITLES}
        self.compare = CompareView(self.session)
        self.search = SearchView(self.session)
        self.explore = ExploreView(self.session)
        self.explore.searchRequested.connect(self.search_by_image)
        self.explore.compareRequested.connect(self.compare_chosen)
        self.chosen = GroupsModel(self)  # photos picked on the map, as one group for Compare
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for page in self.pages.values():
            self.tabs.addTab(page, TITLES[page.kind])
            page.compareRequested.connect(self.open_compare)
            page.groupsChanged.connect(self._groups_changed)
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.search, "Search")
        self.tabs.addTab(self.explore, "Explore")
        splitter = QSplitter()
        splitter.addWidget(self.library)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 1000])
        self.setCentralWidget(splitter)

        self.problems = ErrorsPanel(self.session)
        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems")
        self.problems_dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.problems_dock.hide()

        self.scan_status = ScanStatus()
        self.statusBar().addWidget(self.scan_status, 1)
        self.marks_label = QLabel()
        self.statusBar().addPermanentWidget(self.marks_label)
        self.thumb_slider = QSlider(Qt.Orientation.Horizontal)
        self.thumb_slider.setRange(THUMBNAIL_SIZES.start, THUMBNAIL_SIZES.stop - 1)
        self.thumb_slider.setSingleStep(8)
        self.thumb_slider.setPageStep(THUMBNAIL_STEP)
        self.thumb_slider.setFixedWidth(120)
        self.thumb_slider.setValue(self.session.settings.thumbnail_size)
        self.thumb_slider.setToolTip("Thumbnail size (Ctrl+= / Ctrl+-)")
        self.thumb_slider.setAccessibleName("Thumbnail size")
        self.thumb_slider.valueChanged.connect(self.session.set_thumbnail_size)
        self.session.tileSizeChanged.connect(self.thumb_slider.setValue)
        self.statusBar().addPermanentWidget(self.thumb_slider)
        self.drop_overlay = DropOverlay(self)

        self.review = ReviewActions(self.session, self, self._status, self._group_sources)
        self._build_actions()
        self._connect()
        self._restore_state()
        self.session.changed()

    # --- construction ---------------------------------------------------------------

    def _action(self, menu, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "", icon: tuple[QIcon.ThemeIcon, QStyle.StandardPixmap] | None = None) -> QAction:  # type: ignore[no-untyped-def]
        """A menu entry with its shortcut, tooltip and icon (the desktop theme's, else Qt's own)."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})" if shortcut else tip)
        if icon is not None:
            themed, fallback = icon
            action.setIcon(QIcon.fromTheme(themed, self.style().standardIcon(fallback)))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp, ti = QStyle.StandardPixmap, QIcon.ThemeIcon
        key = QKeySequence.StandardKey
        file = self.menuBar().addMenu("&File")
        self.add_action = self._action(file, "&Add Folder\u2026", self.choose_folders, key.Open, "Add a folder of photos and scan it", (ti.FolderOpen, sp.SP_DirOpenIcon))
        self.scan_action = self._action(file, "&Scan Library", self.start_scan, "F5", "Look for new, changed and removed photos", (ti.ViewRefresh, sp.SP_BrowserReload))
        self.cancel_action = self._action(file, "&Cancel Scan", self.cancel_scan, "Ctrl+.", "Stop the running scan", (ti.ProcessStop, sp.SP_BrowserStop))
        self.pause_action = self._action(file, "&Pause Scan", self.toggle_pause, "F6", "Hold the running scan, or let it go on", (ti.MediaPlaybackPause, sp.SP_MediaPause))
        file.addSeparator()
        self.search_action = self._action(file, "Search by &Image\u2026", self.choose_search, key.Find, "Find the photos most like a picture", (ti.EditFind, sp.SP_FileDialogContentsView))
        self.paste_action = self._action(file, "Search &Pasted Image", self.paste_search, key.Paste, "Search with the picture on the clipboard")
        file.addSeparator()
        self.settings_action = self._action(file, "Se&ttings\u2026", self.open_settings, key.Preferences if not QKeySequence(key.Preferences).isEmpty() else "Ctrl+,", "Model, thresholds, exclusions, deletion mode")
        file.addSeparator()
        self._action(file, "&Quit", self.close, key.Quit)

        edit = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action(edit, "&Undo Last Removal", self.review.undo, key.Undo, "Take back the last removal or remembered decision", (ti.EditUndo, sp.SP_ArrowBack))
        self._action(edit, "Removal &History\u2026", self.review.show_history, "Ctrl+H", "Every removal batch, with undo")
        self.decisions_action = self._action(edit, "&Decisions\u2026", self.review.show_decisions, "Ctrl+Shift+H", "What you told Lookalike (not a duplicate, keep this one), with revoke")
        edit.addSeparator()
        self._action(edit, "Mark All but &Keepers", self.mark_all_but_keepers, "Ctrl+Shift+M", "Mark every photo the keep rules would remove, in every group")
        self._action(edit, "C&lear Marks", self.session.marks.clear, "Ctrl+Shift+U", "Unmark every photo")
        self.delete_action = self._action(edit, "&Remove Marked Photos\u2026", self.remove_marked, key.Delete, "Remove the marked photos as set in Settings: trash, quarantine folder or permanently (asks first)", (ti.EditDelete, sp.SP_TrashIcon))
        edit.addSeparator()
        self._action(edit, "&Not a Duplicate", self.not_duplicate, "Ctrl+D", "Remember that the photos of the selected group are not duplicates")
        self._action(edit, "Not a Duplicate of Its &Reference", self.not_duplicate_pair, PAIR_APART_KEY, "Remember that the selected photo is not a duplicate of its group's reference photo")
        self.keep_action = self._action(edit, "&Keep This One", self.keep_current, KEEP_KEY, "Keep the selected photo in its group, whatever the keep rules say (remembered)")

        view = self.menuBar().addMenu("&View")
        for number, title in enumerate([*TITLES.values(), "Compare", "Search Results", "Explore"]):
            self._action(view, title, lambda _=False, n=number: self.tabs.setCurrentIndex(n), f"Ctrl+{number + 1}")
        view.addSeparator()
        self._action(view, "&Raise Threshold", lambda: self.current_page().nudge_threshold(1), "Ctrl+]", "Stricter grouping: fewer, closer groups")
        self._action(view, "&Lower Threshold", lambda: self.current_page().nudge_threshold(-1), "Ctrl+[", "Looser grouping: more, larger groups")
        self._action(view, "Compare Selected &Group", self.compare_current, "Ctrl+Return", "Open the selected group side by side")
        view.addSeparator()
        larger = self._action(view, "Larger &Thumbnails", lambda: self.resize_thumbnails(THUMBNAIL_STEP), "Ctrl+=", "Bigger photo tiles")
        larger.setShortcuts([QKeySequence("Ctrl+="), QKeySequence("Ctrl++")])
        self._action(view, "S&maller Thumbnails", lambda: self.resize_thumbnails(-THUMBNAIL_STEP), "Ctrl+-", "Smaller photo tiles: more photos on screen")
        problems = self.problems_dock.toggleViewAction()
        problems.setShortcut(QKeySequence("Ctrl+E"))
        view.addAction(problems)
        self._action(view, "&Full Screen", lambda: self.showNormal() if self.isFullScreen() else self.showFullScreen(), key.FullScreen)

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Keyboard Shortcuts", self.show_shortcuts, key.HelpContents)
        self._action(help_menu, "&About Lookalike", lambda: show_about(self.session, self))

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        for action, short in (
            (self.add_action, "Add Folder"), (self.scan_action, "Scan"), (self.pause_action, "Pause"), (self.search_action, "Search by Image"),
            (self.delete_action, "Remove Marked"), (self.undo_action, "Undo"),
        ):
            action.setIconText(short)
            toolbar.addAction(action)
        self.cancel_action.setEnabled(False)
        self.pause_action.setEnabled(False)

    def _connect(self) -> None:
        self.library.addRequested.connect(self.choose_folders)
        self.library.scanRequested.connect(self.start_scan)
        self.library.cancelRequested.connect(self.cancel_scan)
        self.library.foldersChanged.connect(lambda folders: app_settings().setValue("folders", folders))
        self.compare.closed.connect(self._close_compare)
        self.problems.message.connect(self._status)
        self.problems.model().rowsRemoved.connect(self._count_problems)
        self.compare.notDuplicateRequested.connect(self.review.remember_apart)
        self.compare.keepRequested.connect(self.review.keep_one)
        for page in self.pages.values():
            page.notDuplicateRequested.connect(self.review.remember_apart)
            page.keepRequested.connect(self.review.keep_one)
            page.settled.connect(self._regroup_next)
        self.session.catalogChanged.connect(self._regroup_pages)
        self.tabs.currentChanged.connect(self._regroup_next)
        self.review.undoChanged.connect(self.undo_action.setText)
        self.session.marks.changed.connect(self._marks_changed)
        self._marks_changed()

    def _restore_state(self) -> None:
        settings = app_settings()
        geometry = settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = settings.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        folders = settings.value("folders")
        self.library.set_folders([str(f) for f in folders] if isinstance(folders, list) else ([str(folders)] if folders else None))

    # --- status -------------------------------------------------------------------

    def _status(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def _marks_changed(self) -> None:
        marks = self.session.marks
        self.delete_action.setEnabled(len(marks) > 0)
        self.marks_label.setText(f"{len(marks)} marked" if len(marks) else "")

    def _count_problems(self) -> None:
        self.problems_dock.setWindowTitle(f"Problems ({self.problems.topLevelItemCount()})")

    def _groups_changed(self, kind: str, count: int) -> None:
        self.tabs.setTabText(list(self.pages).index(kind), f"{TITLES[kind]} ({count})")

    def _regroup_pages(self) -> None:
        """The catalog changed: every review tab must regroup. The tab in view (else
        Duplicates) goes first and the others in turn, each once the one before has shown
        its groups: on a million photos each takes seconds, and run together they would
        share the cores and delay the groups a person is looking at."""
        for page in self.pages.values():
            page.stale = True
        self._regroup_next()

    def _regroup_next(self, *_: object) -> None:
        """Regroup the next stale tab, the one in view first, unless a regroup is running
        (its end calls this again)."""
        current = self.tabs.currentWidget()
        pages = sorted(self.pages.values(), key=lambda p: p is not current)
        waiting = [p for p in pages if p.stale and not p.busy()]
        # The tab in view never waits: a person switched to it.
        if waiting and (waiting[0] is current or not any(p.busy() for p in pages)):
            waiting[0].refresh()

    def _group_sources(self) -> list[list[ReviewGroup]]:
        """Groups to resolve marked photos against: the tab in view first."""
        pages = list(self.pages.values())
        current = self.compare.kind if self.tabs.currentWidget() is self.compare else None
        current = current or next((p.kind for p in pages if p is self.tabs.currentWidget()), "duplicate")
        pages.sort(key=lambda p: p.kind != current)
        return [p.model.groups for p in pages]

    # --- folders and scanning -------------------------------------------------------

    def choose_folders(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos", str(Path.home()))
        if folder:
            self.add_folders([folder])

    def add_folders(self, folders: list[str]) -> None:
        """Add folders to the library and scan (the new ones, or all when a scan is not running)."""
        new = self.library.add_folders(folders)
        if new:
            self._status(f"Added {', '.join(new)}")
            self.start_scan()

    def start_scan(self) -> None:
        if self.scan_job is not None:
            return
        folders = list(self.library.folders)
        if not folders:
            self.choose_folders()
            return
        # A message left in the status bar ("Added <folder>") would be painted under the progress.
        self.statusBar().clearMessage()
        self.scan_status.start()
        self.library.set_scanning(True)
        self.scan_action.setEnabled(False)
        self.cancel_action.setEnabled(True)
        self.pause_action.setEnabled(True)
        self.scan_pause = threading.Event()
        self.scan_job = self.session.run(
            scan_work(self.session, folders, self.scan_pause), self._scan_done, self._scan_failed,
            self.scan_status.update_progress,
        )

    def cancel_scan(self) -> None:
        if self.scan_job is not None:
            self.scan_job.cancel()  # wins over a pause: a held scan stops at once
            self.scan_status.text.setText("Cancelling\u2026")

    def toggle_pause(self) -> None:
        """Hold the running scan (what it did stays committed) or let it go on; the status
        says "Paused" once the scan has actually stopped moving."""
        if self.scan_job is None:
            return
        paused = not self.scan_pause.is_set()
        if paused:
            self.scan_pause.set()
        else:
            self.scan_pause.clear()
        self._label_pause(paused)
        self.scan_status.text.setText("Pausing\u2026" if paused else "Resuming\u2026")

    def _label_pause(self, paused: bool) -> None:
        """The action says (and its icon shows) what it will do: pause a running scan, resume a held one."""
        self.pause_action.setText("&Resume Scan" if paused else "&Pause Scan")
        self.pause_action.setIconText("Resume" if paused else "Pause")
        icon = (QIcon.ThemeIcon.MediaPlaybackStart, QStyle.StandardPixmap.SP_MediaPlay) if paused else (
            QIcon.ThemeIcon.MediaPlaybackPause, QStyle.StandardPixmap.SP_MediaPause)
        self.pause_action.setIcon(QIcon.fromTheme(icon[0], self.style().standardIcon(icon[1])))

    def scanning(self) -> bool:
        return self.scan_job is not None

    def _scan_finished(self) -> None:
        self.scan_job = None
        self.scan_status.stop()
        self.library.set_scanning(False)
        self.scan_action.setEnabled(True)
        self.cancel_action.setEnabled(False)
        self.pause_action.setEnabled(False)
        self._label_pause(False)

    def _scan_done(self, result: tuple[ScanReport, list[tuple[str, str]]]) -> None:
        report, problems = result
        self.last_report = report
        self._scan_finished()
        self.problems.set_problems(problems)
        self._count_problems()
        if problems and not report.cancelled:
            self.problems_dock.show()
            self.resizeDocks([self.problems_dock], [self.problems_dock.sizeHint().height()], Qt.Orientation.Vertical)
        self._status(summarize(report))
        self.session.changed()

    def _scan_failed(self, message: str) -> None:
        self._scan_finished()
        QMessageBox.warning(self, "Scan failed", message)
        self.session.changed()

    # --- search by image --------------------------------------------------------------

    def choose_search(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif", ".tif", ".tiff", ".bmp", ".gif"}))
        paths, _ = QFileDialog.getOpenFileNames(self, "Search by image", str(Path.home()), f"Images ({patterns});;All files (*)")
        if paths:
            self.search_by_image(paths)

    def paste_search(self) -> None:
        """Search with the clipboard: copied files, or a copied picture (saved to a temporary file)."""
        mime = QGuiApplication.clipboard().mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and is_supported(u.toLocalFile())] if mime.hasUrls() else []
        if not paths and mime.hasImage():
            paths = [self._save_image(QImage(mime.imageData()))]
        if paths:
            self.search_by_image(paths)
        else:
            self._status("The clipboard holds no picture to search with.")

    def _save_image(self, image: QImage) -> str:
        handle, path = tempfile.mkstemp(prefix="lookalike-pasted-", suffix=".png")
        os.close(handle)
        image.save(path, "PNG")
        return path

    def search_by_image(self, paths: list[str]) -> None:
        self.tabs.setCurrentWidget(self.search)
        self.search.searching(paths)
        catalog, embedders = self.session.catalog, self.session.embedders
        self.session.run(
            lambda _p, _c: search_images(catalog, embedders.get(), paths, top_k=SEARCH_TOP_K),
            self.search.show_results, self.search.show_error,
        )

    # --- drag and drop --------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept pictures and files, and cover the window with what a drop will do."""
        mime = event.mimeData()
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if mime.hasImage() or local:
            event.acceptProposedAction()
            self.drop_overlay.show_for(folders=bool(local) and all(os.path.isdir(p) for p in local))

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Folders join the library; image files (or dragged pictures) are searched for."""
        self.drop_overlay.hide()
        mime = event.mimeData()
        local = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        folders = [p for p in local if os.path.isdir(p)]
        images = [p for p in local if os.path.isfile(p) and is_supported(p)]
        if not images and not folders and mime.hasImage():
            images = [self._save_image(QImage(mime.imageData()))]
        if folders:
            self.add_folders(folders)
        if images:
            self.search_by_image(images)
        if folders or images:
            event.acceptProposedAction()
        else:
            self._status("Drop a folder to add it, or a photo to search for similar ones.")

    # --- review -----------------------------------------------------------------------

    def current_page(self) -> GroupsPage:
        widget = self.tabs.currentWidget()
        if isinstance(widget, GroupsPage):
            return widget
        return self.pages[self.compare.kind]

    def open_compare(self, kind: str, row: int, member: int = 0) -> None:
        self.compare.show_group(self.pages[kind].model, kind, row, member)
        self.tabs.setCurrentWidget(self.compare)
        self.compare.setFocus()

    def compare_chosen(self, file_ids: list[int]) -> None:
        """Open photos picked on the map in Compare, as one group of different shots (core decides
        its order and keeper)."""
        session = self.session
        try:
            group = chosen_group(session.catalog, session.model_id, file_ids, session.settings)
        except ValueError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        self.chosen.set_chosen([group])
        self.compare.show_group(self.chosen, "similar", 0)
        self.tabs.setCurrentWidget(self.compare)
        self.compare.setFocus()

    def compare_current(self) -> None:
        page = self.current_page()
        if page.model.groups:
            self.open_compare(page.kind, max(0, page.list.currentIndex().row()), page.list.current_member)

    def _close_compare(self) -> None:
        page = self.pages[self.compare.kind]
        page.list.select(self.compare.row, self.compare.current)
        self.tabs.setCurrentWidget(page)
        page.list.setFocus()

    def resize_thumbnails(self, step: int) -> None:
        self.session.set_thumbnail_size(self.session.settings.thumbnail_size + step)

    def remove_marked(self) -> None:
        """Remove the marked photos; marked similar photos that are no copy of anything are
        named as other shots first (their own Yes, Cancel by default), then the usual confirmation."""
        shots = shots_among([g for page in self.pages.values() for g in page.model.groups], self.session.marks.ids())
        if shots:
            answer = QMessageBox.question(
                self, "Remove other shots", other_shots_text(len(shots), "Remove"),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.review.delete_marked()

    def mark_all_but_keepers(self) -> None:
        if self.tabs.currentWidget() is self.compare:
            self.compare.mark_all_but_keeper()
        else:
            self.current_page().mark_all_but_keepers()

    def not_duplicate_pair(self) -> None:
        (self.compare if self.tabs.currentWidget() is self.compare else self.current_page().list).pair_apart()

    def not_duplicate(self) -> None:
        if self.tabs.currentWidget() is self.compare:
            group, kind = self.compare.group(), self.compare.kind
        else:
            group, kind = self.current_page().list.group(), self.current_page().kind
        if group is not None:
            self.review.remember_apart([m.file.id for m in group.members], kind)

    def keep_current(self) -> None:
        """"Keep this one" for the selected photo (of the Compare view, or of the tab in view)."""
        (self.compare if self.tabs.currentWidget() is self.compare else self.current_page().list).keep_this()

    # --- dialogs ----------------------------------------------------------------------

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.session, self.session.catalog.location, self)
        if dialog.exec():
            new_catalog = dialog.catalog_location()
            if dialog.catalog_changed():
                try:
                    self.session.open_catalog(new_catalog)
                except CatalogError as exc:
                    QMessageBox.warning(self, "Cannot open catalog", str(exc))
                else:
                    # A file as resolved; a server's URL as typed (its shown location hides the password).
                    catalog = self.session.catalog
                    app_settings().setValue("catalog", str(new_catalog) if catalog.on_server else catalog.location)
                    self.library.set_folders(None)
            self.session.apply_settings(dialog.result_settings())
        dialog.deleteLater()

    def show_shortcuts(self) -> None:
        rows = [
            ("Ctrl+O", "Add a folder"), ("F5", "Scan the library"), ("Ctrl+.", "Cancel the scan"), ("F6", "Pause or resume the scan"),
            ("Ctrl+F", "Search by image"), ("Ctrl+V", "Search with a pasted picture"),
            ("Up / Down", "Previous / next group"), ("Left / Right", "Previous / next photo"),
            ("Space", "Mark or unmark the photo"), ("Enter", "Compare the group side by side"),
            ("M", "Mark all but the keeper (compare view)"), ("Ctrl+Shift+M", "Mark all but keepers, every group"),
            ("Delete", "Remove marked photos (asks first)"), ("Ctrl+Z", "Undo the last removal or decision"),
            (KEEP_KEY, "Keep this one: the selected photo stays, whatever the rules say"), ("Ctrl+Shift+H", "Remembered decisions"),
            ("Ctrl+D", "Not a duplicate: the whole group"), (PAIR_APART_KEY, "Not a duplicate: this photo and its group's reference"),
            ("F / 1 / + / \u2212", "Fit / 100% / zoom (compare view)"), ("Esc", "Back to the groups"),
            ("Ctrl+[ / Ctrl+]", "Lower / raise the threshold"), ("Ctrl+= / Ctrl+\u2212", "Larger / smaller thumbnails"), ("Ctrl+1 \u2026 6", "Switch tabs"), ("Ctrl+,", "Settings"),
        ]
        table = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard Shortcuts", f"<table cellspacing='6'>{table}</table>")

    # --- closing ----------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = app_settings()
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        settings.setValue("folders", self.library.folders)
        if self.scan_job is not None:
            self.scan_job.cancel()
        self.session.close()
        super().closeEvent(event)
