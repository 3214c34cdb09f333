"""Edit > Decisions: what a person told Lookalike ("not a duplicate", "not similar", "keep
this one"), newest first, with the photos and the date; selected ones can be revoked.

The list is core's `decisions.remembered` (one row per action, as `lookalike
decisions` lists it); revoking goes through `ReviewActions.revoke` (core `revoke`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.catalog.store import Catalog
from lookalike.core.review.decisions import KEEP, Remembered, remembered
from lookalike.ui import format as fmt
from lookalike.ui.thumbnails import ThumbnailCache

#: A remembered kind as the menus and this list name it.
WORDS = {"not_duplicate": "Not a Duplicate", "not_similar": "Not Similar", KEEP: "Keep This One"}
#: Photos shown side by side in a row's picture strip, and their side in pixels.
STRIP_PHOTOS = 4
STRIP_SIDE = 40


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One remembered action and the paths of its photos (kept photo first for a keep choice)."""

    action: Remembered
    paths: list[str]


def load_decisions(catalog: Catalog) -> list[DecisionRow]:
    """Every remembered action, newest first, with its photos' paths (run in a worker)."""
    actions = remembered(catalog)
    files = catalog.files([i for a in actions for i in a.files])
    return [DecisionRow(a, [files[i].path if i in files else f"#{i}" for i in a.files]) for a in actions]


def photos_text(row: DecisionRow) -> str:
    """The photos of a decision by name; for a keep choice, which one is kept over which."""
    names = [fmt.name(p) for p in row.paths]
    if row.action.kind == KEEP:
        return f"{names[0]} kept over {', '.join(names[1:])}"
    return ", ".join(names)


class DecisionsDialog(QDialog):
    """The remembered decisions; "Revoke Selected" asks for them to be taken back."""

    revokeRequested = Signal(list)  # action ids

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Decisions")
        self.resize(820, 420)
        self._thumbnails = thumbnails
        self.rows: list[DecisionRow] = []
        self.note = QLabel(
            "What you told Lookalike about your photos. Revoke a decision and the groups form again as the rules say."
        )
        self.note.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photos", "Decision", "When"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setIconSize(QSize(STRIP_PHOTOS * (STRIP_SIDE + 2), STRIP_SIDE))
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.empty = QLabel("Nothing remembered yet.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.revoke_button = QPushButton("Revoke Selected")
        self.revoke_button.setToolTip("Forget the selected decisions (Delete)")
        self.revoke_button.setShortcut("Delete")
        self.revoke_button.setEnabled(False)
        self.revoke_button.clicked.connect(self._revoke)
        self.tree.itemSelectionChanged.connect(lambda: self.revoke_button.setEnabled(bool(self.tree.selectedItems())))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.revoke_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty)
        layout.addWidget(buttons)
        thumbnails.ready.connect(self._thumbnail_ready)
        self.set_rows([])

    def set_rows(self, rows: list[DecisionRow]) -> None:
        """Show `rows` (newest first), each with a strip of its first photos."""
        self.rows = rows
        self.tree.clear()
        for row in rows:
            item = QTreeWidgetItem([
                photos_text(row),
                WORDS.get(row.action.kind, row.action.kind),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(row.action.created_at)),
            ])
            item.setToolTip(0, "\n".join(fmt.path_text(p) for p in row.paths))
            item.setData(0, Qt.ItemDataRole.UserRole, row.action.id)
            item.setIcon(0, self._strip(row))
            self.tree.addTopLevelItem(item)
        self.tree.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        self.revoke_button.setEnabled(bool(self.tree.selectedItems()))

    def _strip(self, row: DecisionRow) -> QIcon:
        """The first photos of a decision side by side (a grey square while one is loading)."""
        strip = QPixmap(STRIP_PHOTOS * (STRIP_SIDE + 2), STRIP_SIDE)
        strip.fill(Qt.GlobalColor.transparent)
        painter = QPainter(strip)
        for n, path in enumerate(row.paths[:STRIP_PHOTOS]):
            box = QRect(n * (STRIP_SIDE + 2), 0, STRIP_SIDE, STRIP_SIDE)
            pixmap = None if path.startswith("#") else self._thumbnails.get(path)
            if pixmap is None or pixmap.isNull():
                painter.fillRect(box, QColor(128, 128, 128, 60))
                continue
            scaled = pixmap.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            painter.drawPixmap(box.center().x() - scaled.width() // 2 + 1, box.center().y() - scaled.height() // 2 + 1, scaled)
        painter.end()
        return QIcon(strip)

    def _thumbnail_ready(self, path: str) -> None:
        for n, row in enumerate(self.rows):
            if path in row.paths[:STRIP_PHOTOS]:
                item = self.tree.topLevelItem(n)
                if item is not None:
                    item.setIcon(0, self._strip(row))

    def selected_ids(self) -> list[str]:
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.tree.selectedItems()]

    def _revoke(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.revoke_button.setEnabled(False)
            self.revokeRequested.emit(ids)
