"""Hand files to the desktop: open a photo in the system viewer, show its folder, copy its path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu, QWidget


def open_file(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def open_folder(path: str) -> bool:
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


def photo_menu(parent: QWidget, path: str, extra: Sequence[QAction] = ()) -> QMenu:
    """The context menu every photo gets: open, show in folder, copy path (plus view-specific actions)."""
    menu = QMenu(parent)
    menu.addAction("Open", lambda: open_file(path))
    menu.addAction("Open Containing Folder", lambda: open_folder(path))
    menu.addAction("Copy Path", lambda: QGuiApplication.clipboard().setText(path))
    if extra:
        menu.addSeparator()
        for action in extra:
            menu.addAction(action)
    return menu
