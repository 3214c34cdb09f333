"""Where Lookalike finds its shipped files and keeps its own data.

The model and samples live at the repository top (`models/`, `resources/`) in a
checkout, under `share/lookalike/` in a wheel install, and beside the executable
in a PyInstaller bundle; this module is the one place that knows all three.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from lookalike.core.catalog.server import is_url

APP_NAME = "Lookalike"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _candidates(name: str) -> list[Path]:
    bundle = getattr(sys, "_MEIPASS", None)
    found = [Path(bundle) / name] if bundle else []
    found.append(_PACKAGE_DIR.parent.parent / name)  # source checkout / editable install
    found.append(Path(sys.prefix) / "share" / "lookalike" / name)
    return found


def _first_existing(name: str, env: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    for candidate in _candidates(name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cannot find the {name}/ folder (looked in {', '.join(map(str, _candidates(name)))}); "
        f"set {env} to its location"
    )


def models_dir() -> Path:
    """Folder holding the shipped ONNX models and their manifests."""
    return _first_existing("models", "LOOKALIKE_MODELS_DIR")


def resources_dir() -> Path:
    """Folder holding icons, the .desktop file and the demo samples."""
    return _first_existing("resources", "LOOKALIKE_RESOURCES_DIR")


def data_dir() -> Path:
    """Per-user folder for the catalog, index and thumbnail cache."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def thumbnail_dir() -> Path:
    """The app's thumbnail cache: JPEGs a scan must never catalogue as photos."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "thumbnails"


def catalog_location(text: str) -> Path | str:
    """A catalog location as a person typed it: a `postgresql://` URL stays text (a Path would
    fold its "//"), anything else is a file path."""
    return text.strip() if is_url(text) else Path(text.strip()).expanduser()


def default_catalog_path() -> Path | str:
    """The catalog: `LOOKALIKE_CATALOG` (a file or a server's URL) wins, else the user data dir."""
    override = os.environ.get("LOOKALIKE_CATALOG")
    return catalog_location(override) if override else data_dir() / "catalog.sqlite"
