"""The Problems panel: every file a scan could not use, with the reason in plain words, and what
a person can do about one: see its folder, copy its path, move it to the trash."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QMessageBox, QTreeWidget, QTreeWidgetItem, QWidget

from lookalike.core.removal import trash
from lookalike.ui import format as fmt
from lookalike.ui.session import Session
from lookalike.ui.system import open_folder

#: Rows the panel grows to show before it scrolls: a few problems take a few lines, not a pane.
MAX_ROWS = 8
PathRole = Qt.ItemDataRole.UserRole


class ErrorsPanel(QTreeWidget):
    """Path and reason per unusable file or unreadable folder. Double-click (or Enter) shows its
    folder; right-click, Ctrl+C and Delete give the row's actions."""

    message = Signal(str)  # a status line for the window

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setHeaderLabels(["File", "Reason", "Folder"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAccessibleName("Scan problems")
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.itemActivated.connect(lambda item, _col: open_folder(item.data(0, PathRole)))
        self.folder_action = self._action("Open Containing Folder", self.open_folder, "Show the file in its folder (Enter)")
        self.copy_action = self._action("Copy Path", self.copy_path, "Copy the file's full path", QKeySequence.StandardKey.Copy)
        self.trash_action = self._action("Move to Trash\u2026", self.move_to_trash, "Move the file to the system trash (asks first)", QKeySequence.StandardKey.Delete)

    def _action(self, text: str, slot: object, tip: str, key: QKeySequence.StandardKey | None = None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if key is not None:
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.addAction(action)  # the shortcut works while the panel has the keyboard
        action.triggered.connect(slot)  # type: ignore[arg-type]
        return action

    def set_problems(self, problems: list[tuple[str, str]]) -> None:
        self.clear()
        for path, reason in problems:
            item = QTreeWidgetItem([fmt.name(path), reason, fmt.folder(path)])
            item.setData(0, PathRole, path)
            item.setToolTip(0, f"{fmt.path_text(path)}\nRight-click: open its folder, copy its path, move it to the trash")
            item.setToolTip(1, reason)
            self.addTopLevelItem(item)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        """As tall as the header and the rows, up to MAX_ROWS (then it scrolls)."""
        rows = max(1, min(self.topLevelItemCount(), MAX_ROWS))
        row = self.sizeHintForRow(0) if self.topLevelItemCount() else self.fontMetrics().height() + 4
        height = self.header().sizeHint().height() + rows * row + 2 * self.frameWidth()
        if self.horizontalScrollBar().isVisible():
            height += self.horizontalScrollBar().sizeHint().height()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self.header().sizeHint().height() + self.fontMetrics().height() + 8)

    def current_path(self) -> str | None:
        item = self.currentItem()
        return item.data(0, PathRole) if item is not None else None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        item = self.itemAt(event.pos())
        if item is None:
            return
        self.setCurrentItem(item)
        menu = QMenu(self)
        menu.addActions([self.folder_action, self.copy_action])
        menu.addSeparator()
        menu.addAction(self.trash_action)
        menu.exec(event.globalPos())

    def open_folder(self) -> None:
        path = self.current_path()
        if path:
            open_folder(path)

    def copy_path(self) -> None:
        path = self.current_path()
        if path:
            QGuiApplication.clipboard().setText(path)
            self.message.emit(f"Copied {fmt.path_text(path)}")

    def move_to_trash(self) -> None:
        """After a Yes (Cancel is the default), the file goes to the system trash through core."""
        item, path = self.currentItem(), self.current_path()
        if item is None or not path:
            return
        answer = QMessageBox.question(
            self,
            "Move to Trash",
            f"Move {fmt.name(path)} to the trash?\n\n{fmt.path_text(path)}\nLookalike could not use it: {item.text(1)}.\n\n"
            "It is in no group and Undo does not cover it: restore it from the Trash if you need it back.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.session.run(
            lambda _p, _c: trash.trash_file(Path(path)),
            on_done=lambda _where: self._trashed(path),
            on_error=lambda reason: QMessageBox.warning(self, "Not moved to the trash", reason),
        )

    def _trashed(self, path: str) -> None:
        for i in range(self.topLevelItemCount()):
            if self.topLevelItem(i).data(0, PathRole) == path:
                self.takeTopLevelItem(i)
                break
        self.updateGeometry()
        self.message.emit(f"Moved {fmt.name(path)} to the trash.")
