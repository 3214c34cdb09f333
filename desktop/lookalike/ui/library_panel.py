"""The library sidebar: the folders Lookalike watches, with their photo counts, and the scan buttons."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.scan.discovery import folder_problem
from lookalike.ui import format as fmt
from lookalike.ui.session import Session


def _ago(timestamp: float | None, photos: int) -> str:
    """When the folder was last scanned to the end; photos without one come from a scan that
    was cancelled or cut short."""
    if not timestamp:
        return "partly scanned (scan again to finish)" if photos else "not scanned yet"
    minutes = int((time.time() - timestamp) // 60)
    if minutes < 1:
        return "scanned just now"
    if minutes < 60:
        return f"scanned {minutes} min ago"
    if minutes < 48 * 60:
        return f"scanned {minutes // 60} h ago"
    return "scanned " + time.strftime("%Y-%m-%d", time.localtime(timestamp))


class LibraryPanel(QWidget):
    """Folders to scan, remembered between sessions; removing one stops scanning it."""

    addRequested = Signal()
    scanRequested = Signal()
    cancelRequested = Signal()
    foldersChanged = Signal(list)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.folders: list[str] = []
        self._counts: dict[str, tuple[int, float | None]] = {}

        title = QLabel("<b>Library</b>")
        self.list = QListWidget()
        self.list.setAccessibleName("Library folders")
        self.list.setWordWrap(True)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.add_button = QPushButton("Add Folder\u2026")
        self.add_button.setToolTip("Add a folder of photos and scan it (Ctrl+O); you can also drop folders on the window")
        self.add_button.clicked.connect(self.addRequested)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Stop watching the selected folders; their photos leave the catalog (nothing on disk is touched)")
        self.remove_button.clicked.connect(self._remove_selected)
        self.scan_button = QPushButton("Scan")
        self.scan_button.setToolTip("Look for new, changed and removed photos in every folder (F5)")
        self.scan_button.clicked.connect(self.scanRequested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the scan; what is done is kept (Ctrl+.)")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.cancel_button.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        scan_row = QHBoxLayout()
        scan_row.addWidget(self.scan_button)
        scan_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addLayout(scan_row)
        session.catalogChanged.connect(self.refresh)
        self._update_buttons()

    def set_folders(self, folders: list[str] | None) -> None:
        """Folders remembered from last time; None (first run, or a catalog made by the CLI) takes the catalog's roots."""
        if folders is None:
            folders = [root.path for root in self.session.catalog.roots()]
        self.folders = list(dict.fromkeys(folders))
        self._show()
        self.refresh()

    def add_folders(self, folders: list[str]) -> list[str]:
        """Add folders (resolved, deduplicated); returns the ones that were new."""
        new = [p for p in (os.path.realpath(f) for f in folders) if p not in self.folders and folder_problem(p) is None]
        if new:
            self.folders.extend(new)
            self.foldersChanged.emit(self.folders)
            self._show()
            self.refresh()
        return new

    def set_scanning(self, scanning: bool) -> None:
        self.scan_button.setVisible(not scanning)
        self.cancel_button.setVisible(scanning)
        self.add_button.setEnabled(True)
        self._update_buttons()

    def refresh(self) -> None:
        """Recount photos per folder in a worker."""
        catalog = self.session.catalog
        self.session.run(lambda _p, _c: catalog.root_counts(), on_done=self._counted)

    def _counted(self, counts: dict[str, tuple[int, float | None]]) -> None:
        self._counts.update(counts)
        self._show()

    def _show(self) -> None:
        selected = {item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()}
        self.list.clear()
        total = 0
        for folder in self.folders:
            photos, scanned = self._counts.get(folder, (0, None))
            total += photos
            name = fmt.name(folder)
            item = QListWidgetItem(f"{name}\n{photos:,} photos \u00b7 {_ago(scanned, photos)}")
            item.setData(Qt.ItemDataRole.UserRole, folder)
            item.setToolTip(fmt.path_text(folder))
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon))
            self.list.addItem(item)
            item.setSelected(folder in selected)
        folders = f"{len(self.folders)} folder{'' if len(self.folders) == 1 else 's'}"
        self.summary.setText(f"{total:,} photos in {folders}" if self.folders else "Add a folder of photos to begin.")
        self._update_buttons()

    def _remove_selected(self) -> None:
        gone = [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]
        photos = sum(self._counts.get(folder, (0, None))[0] for folder in gone)
        answer = QMessageBox.question(
            self,
            "Remove from library",
            f"Stop watching {len(gone)} folder{'' if len(gone) == 1 else 's'} and forget its {photos:,} photos?\n\n"
            "Nothing on disk is touched; adding the folder again rescans it.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.folders = [f for f in self.folders if f not in gone]
        self.foldersChanged.emit(self.folders)
        self._show()
        catalog = self.session.catalog
        self.session.run(
            lambda _p, _c: [catalog.remove_root(folder) for folder in gone],
            on_done=lambda _forgotten: self.session.catalogChanged.emit(),
        )

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(bool(self.list.selectedItems()) and self.scan_button.isVisible())
        self.scan_button.setEnabled(bool(self.folders))
