"""A page whose content core computes in the background: when first shown, and again when
shown after the catalog changed (a scan, a removal). Its status line says what is going on."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from lookalike.ui.session import Session
from lookalike.ui.workers import Work


class BackgroundPage(QWidget):
    #: What the status line says while the work runs, and before a failure's reason.
    busy_text = "Working\u2026"
    failed_text = "This could not be computed"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.stale = True
        self.loading = False
        self.status = QLabel("Computed when this tab is first shown.")
        self.status.setWordWrap(True)

    def work(self) -> Work:
        """The core call to run off the UI thread (it must not touch widgets)."""
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        raise NotImplementedError

    def show_partial(self, value: Any) -> None:
        """A first result the work reports before its final one (default: ignored)."""

    def refresh(self) -> None:
        if self.loading:
            return
        self.loading, self.stale = True, False
        self.status.setText(self.busy_text)
        self.session.run(self.work(), self._finished, self._failed, self.show_partial)

    def _finished(self, result: Any) -> None:
        self.loading = False
        self.show_result(result)
        if self.stale and self.isVisible():  # the catalog changed while this ran
            self.refresh()

    def _failed(self, message: str) -> None:
        self.loading = False
        self.status.setText(f"{self.failed_text}: {message}")
