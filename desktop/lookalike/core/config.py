"""User settings shared by the CLI and the app, stored as JSON in the user config dir."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

from lookalike.core.paths import APP_NAME

#: Structural score (core/structure.py) at or above which two photos whose
#: embeddings are loosely alike are the same picture (re-encoded, resized, cropped,
#: turned, mirrored, grey, watermarked). Copies score >= 0.926 on the devset, other
#: shots of one scene <= 0.868: see docs/calibration.md.
DUPLICATE_THRESHOLD = 0.90
#: Scene score (core/scene.py) at or above which two photos show the same scene or
#: subject. On real photos 0.58 groups with member precision 0.90 and finds 56% of
#: same-scene pairs; 0.50 (looser) to 0.64 (stricter) stay usable (docs/calibration.md).
SIMILAR_THRESHOLD = 0.58
#: What similar_threshold measures; a saved threshold for another measure (the raw
#: cosine of earlier versions) is not carried over.
SIMILAR_MEASURE = "scene"
#: Side of the app's photo tiles in pixels: the default, and the range the size control
#: allows (the thumbnail disk cache keeps 256 px images, so larger would only blur).
THUMBNAIL_SIZE = 150
THUMBNAIL_SIZES = range(96, 257)


@dataclass
class Settings:
    duplicate_threshold: float = DUPLICATE_THRESHOLD
    similar_threshold: float = SIMILAR_THRESHOLD
    similar_measure: str = SIMILAR_MEASURE
    model: str = "efficientnet_lite0"  # a shipped model's name, or a manifest path
    device: str = "auto"  # auto | cpu | cuda
    workers: int = 2
    excludes: list[str] = field(default_factory=list)  # glob patterns on paths
    deletion_mode: str = "trash"  # trash | quarantine | permanent (the app asks twice)
    quarantine_dir: str = ""
    #: Before removing, save a removed copy's date taken / GPS that its kept copy lacks
    #: in an XMP sidecar beside the kept copy (the app says so in its confirmation).
    merge_metadata: bool = True
    keep_rules: list[str] = field(default_factory=list)  # empty: the default order
    preferred_folders: list[str] = field(default_factory=list)
    thumbnail_size: int = THUMBNAIL_SIZE  # the app's tile size (View ▸ Larger / Smaller Thumbnails)

    def __post_init__(self) -> None:
        """A hand-edited or stale size outside the allowed range is brought back inside it."""
        self.thumbnail_size = min(max(self.thumbnail_size, THUMBNAIL_SIZES.start), THUMBNAIL_SIZES.stop - 1)


def settings_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Saved settings over the defaults; unknown or malformed entries are ignored."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    known = {f.name for f in fields(Settings)}
    defaults = asdict(Settings())
    clean = {k: v for k, v in data.items() if k in known and type(v) is type(defaults[k])}
    if clean.get("similar_measure") != SIMILAR_MEASURE:
        clean.pop("similar_threshold", None)
        clean.pop("similar_measure", None)
    return Settings(**clean)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    tmp.replace(path)
