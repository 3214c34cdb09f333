"""The Problems panel: every file a scan could not use, with the reason in plain words."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from lookalike.ui import format as fmt


class ErrorsPanel(QTreeWidget):
    """Path and reason per unusable file or unreadable folder; double-click shows the folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["File", "Reason", "Folder"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setAccessibleName("Scan problems")
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.itemActivated.connect(lambda item, _col: QDesktopServices.openUrl(QUrl.fromLocalFile(item.data(2, Qt.ItemDataRole.UserRole))))

    def set_problems(self, problems: list[tuple[str, str]]) -> None:
        self.clear()
        for path, reason in problems:
            item = QTreeWidgetItem([fmt.name(path), reason, fmt.folder(path)])
            item.setToolTip(0, fmt.path_text(path))
            item.setData(2, Qt.ItemDataRole.UserRole, str(Path(path).parent))  # the real folder, to open
            item.setToolTip(1, reason)
            self.addTopLevelItem(item)
