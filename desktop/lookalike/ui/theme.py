"""Fusion style with a light or dark palette that follows the system's colour scheme, live."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_DARK = {
    QPalette.ColorRole.Window: "#2b2d30",
    QPalette.ColorRole.WindowText: "#dfe1e5",
    QPalette.ColorRole.Base: "#1e1f22",
    QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.ToolTipBase: "#3c3f41",
    QPalette.ColorRole.ToolTipText: "#dfe1e5",
    QPalette.ColorRole.PlaceholderText: "#8c8f94",
    QPalette.ColorRole.Text: "#dfe1e5",
    QPalette.ColorRole.Button: "#35373b",
    QPalette.ColorRole.ButtonText: "#dfe1e5",
    QPalette.ColorRole.BrightText: "#ff6b68",
    QPalette.ColorRole.Highlight: "#3574f0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#589df6",
    QPalette.ColorRole.Light: "#45484d",
    QPalette.ColorRole.Midlight: "#3a3d41",
    QPalette.ColorRole.Mid: "#2f3135",
    QPalette.ColorRole.Dark: "#1b1c1f",
    QPalette.ColorRole.Shadow: "#101113",
}


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in _DARK.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f737a"))
    return palette


def apply_palette(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """The dark palette for a dark `scheme` (default: the system's current one), else Fusion's light one."""
    dark = (app.styleHints().colorScheme() if scheme is None else scheme) == Qt.ColorScheme.Dark
    app.setPalette(dark_palette() if dark else app.style().standardPalette())


def use_system_theme(app: QApplication) -> None:
    """Fusion looks the same everywhere; the palette tracks light/dark changes while running."""
    app.setStyle("Fusion")
    apply_palette(app)
    app.styleHints().colorSchemeChanged.connect(lambda scheme: apply_palette(app, scheme))
