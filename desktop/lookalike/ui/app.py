"""Entry point of the desktop app (`lookalike-gui`, or `lookalike` with no arguments)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("Lookalike")
    window = QLabel("Lookalike")
    window.show()
    return app.exec()
