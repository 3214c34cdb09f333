"""Edit > History: every removal batch, newest first, with what each did; any batch can be undone."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from lookalike.core.removal.journal import BatchSummary
from lookalike.ui import format as fmt

MODES = {"trash": "Moved to trash", "quarantine": "Moved to quarantine", "permanent": "Deleted permanently"}


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


class HistoryDialog(QDialog):
    """Lists batches; 'Undo Batch' asks the window to restore the selected one."""

    undoRequested = Signal(int)

    def __init__(self, batches: list[BatchSummary], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Removal History")
        self.resize(760, 360)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["When", "What", "Files", "Space", "Status", "Where"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for batch in batches:
            item = QTreeWidgetItem([
                time.strftime("%Y-%m-%d %H:%M", time.localtime(batch.created_at)),
                MODES.get(batch.mode, batch.mode),
                describe_counts(batch.counts),
                fmt.human_bytes(batch.bytes_removed),
                batch.status,
                batch.target or "",
            ])
            item.setData(0, Qt.ItemDataRole.UserRole, batch.id)
            item.setDisabled(batch.status == "undone")
            self.tree.addTopLevelItem(item)
        self.undo_button = QPushButton("Undo Batch")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self._undo)
        self.tree.itemSelectionChanged.connect(
            lambda: self.undo_button.setEnabled(any(not i.isDisabled() for i in self.tree.selectedItems()))
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.undo_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)

    def _undo(self) -> None:
        for item in self.tree.selectedItems():
            self.undoRequested.emit(item.data(0, Qt.ItemDataRole.UserRole))
        self.accept()
