"""Entry point of the desktop app (`lookalike-gui`, or `lookalike` with no arguments)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from lookalike import __version__
from lookalike.core.catalog.store import CatalogError
from lookalike.core import paths
from lookalike.core.paths import resources_dir
from lookalike.ui.main_window import MainWindow, app_settings
from lookalike.ui.preflight import warn_if_missing
from lookalike.ui.theme import use_system_theme


def app_icon() -> QIcon:
    """The icon at every size shipped in resources/icons (an empty icon if they are missing)."""
    icon = QIcon()
    try:
        folder = resources_dir() / "icons"
    except FileNotFoundError:
        return icon
    for png in sorted(folder.glob("lookalike-*.png")):
        icon.addFile(str(png))
    return icon


def catalog_location(explicit: str | None) -> Path | str:
    """`--catalog`, else $LOOKALIKE_CATALOG, else the one chosen in Settings, else the default."""
    if explicit:
        return paths.catalog_location(explicit)
    chosen = app_settings().value("catalog")
    if chosen and not os.environ.get("LOOKALIKE_CATALOG"):
        return paths.catalog_location(str(chosen))
    return paths.default_catalog_path()


def create_app(argv: Sequence[str]) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName("Lookalike")
    app.setOrganizationName("Lookalike")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("lookalike")
    app.setWindowIcon(app_icon())
    use_system_theme(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    warn_if_missing()  # Qt's own message, should the xcb plugin fail, can blame the wrong library
    window = open_window(sys.argv[1:] if argv is None else list(argv))
    if window is None:
        return 1
    return QApplication.instance().exec()  # type: ignore[union-attr]


def open_window(argv: Sequence[str]) -> MainWindow | None:
    """Parse the arguments, create the app and show the main window (None if the catalog
    cannot be opened); photos given on the command line are searched for at once."""
    parser = argparse.ArgumentParser(prog="lookalike-gui", description="Lookalike desktop app")
    parser.add_argument("--catalog", metavar="PATH", help="catalog file (default: $LOOKALIKE_CATALOG, Settings, or the user data folder)")
    parser.add_argument("--version", action="version", version=f"lookalike {__version__}")
    parser.add_argument("photos", nargs="*", help="photos to search for (as with \"Open with Lookalike\")")
    args, qt_args = parser.parse_known_args(argv)
    create_app(qt_args)
    try:
        window = MainWindow(catalog_location(args.catalog))
    except (CatalogError, OSError) as exc:
        QMessageBox.critical(None, "Lookalike", f"Cannot open the catalog: {exc}")
        return None
    window.show()
    recovered = window.session.catalog.recovered
    if recovered is not None:  # a damaged catalog was set aside: say so, without blocking start-up
        QMessageBox(QMessageBox.Icon.Warning, "Lookalike", str(recovered), parent=window).open()
    if args.photos:
        window.search_by_image([str(Path(p).resolve()) for p in args.photos])
    return window
