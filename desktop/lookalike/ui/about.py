"""Help > About: versions of everything that matters in a bug report (app, Qt, onnxruntime, model)."""

from __future__ import annotations

import onnxruntime
import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from lookalike import __version__
from lookalike.ui.session import Session
from lookalike.ui.settings_dialog import provider_text


def about_text(session: Session) -> str:
    embedder = session.embedders.loaded()
    provider = provider_text(embedder.provider if embedder else None)
    return (
        f"<h3>Lookalike {__version__}</h3>"
        "<p>Finds duplicate and similar photos on your own disks, and removes the extras safely.</p>"
        "<table>"
        f"<tr><td>Qt</td><td>{qVersion()} (PySide6 {PySide6.__version__})</td></tr>"
        f"<tr><td>onnxruntime</td><td>{onnxruntime.__version__}</td></tr>"
        f"<tr><td>Model</td><td>{session.model_id}</td></tr>"
        f"<tr><td>Runs on</td><td>{provider}</td></tr>"
        f"<tr><td>Catalog</td><td>{session.catalog.location}</td></tr>"
        "</table>"
    )


def show_about(session: Session, parent: QWidget) -> None:
    QMessageBox.about(parent, "About Lookalike", about_text(session))
