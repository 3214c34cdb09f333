"""What every view of one window shares: the open catalog, the settings, the marks, the workers.

Views observe the signals here and re-read core through workers; none of them
changes the catalog behind the others' backs. This is the model side of the UI,
with no widgets in it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings, load_settings, save_settings
from lookalike.core.removal.journal import recover
from lookalike.ui.thumbnails import ThumbnailCache
from lookalike.core.engines.manifest import manifest_for
from lookalike.ui.workers import EmbedderProvider, Job, JobRunner


class Marks(QObject):
    """File ids the person marked for removal; views paint them, Delete acts on them."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: set[int] = set()

    def __contains__(self, file_id: object) -> bool:
        return file_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> frozenset[int]:
        return frozenset(self._ids)

    def toggle(self, file_id: int) -> None:
        self._ids.symmetric_difference_update({file_id})
        self.changed.emit()

    def set(self, file_ids: Iterable[int], marked: bool = True) -> None:
        ids = set(file_ids)
        if marked:
            self._ids |= ids
        else:
            self._ids -= ids
        if ids:
            self.changed.emit()

    def clear(self) -> None:
        if self._ids:
            self._ids.clear()
            self.changed.emit()


class Session(QObject):
    """One open catalog with its settings and workers."""

    #: Files or groups may have changed (scan, deletion, undo, a remembered decision).
    catalogChanged = Signal()
    #: Another catalog file was opened: everything shown is stale.
    catalogOpened = Signal()
    settingsChanged = Signal()
    #: The photo tiles' side in pixels changed (View ▸ Larger / Smaller Thumbnails).
    tileSizeChanged = Signal(int)

    def __init__(self, catalog_path: Path | str, settings: Settings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or load_settings()
        self.catalog = _open(catalog_path)
        self.runner = JobRunner(self)
        self.embedders = EmbedderProvider(lambda: self.settings)
        self.marks = Marks(self)
        self.thumbnails = ThumbnailCache(self, side=self.settings.thumbnail_size)
        self.model_id = manifest_for(self.settings.model).model_id

    def run(
        self,
        work: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Job:
        return self.runner.start(work, on_done, on_error, on_progress)

    def open_catalog(self, path: Path | str) -> None:
        """Switch to another catalog (settings dialog); raises CatalogError when unusable."""
        catalog = _open(path)
        self.catalog.close()
        self.catalog = catalog
        self.marks.clear()
        self.catalogOpened.emit()
        self.catalogChanged.emit()

    def apply_settings(self, settings: Settings) -> None:
        """Save new settings; a new model or device is loaded on the next job that needs it."""
        model_changed = (settings.model, settings.device) != (self.settings.model, self.settings.device)
        save_settings(settings)
        self.settings = settings
        if model_changed:
            self.model_id = manifest_for(settings.model).model_id
            self.embedders.reset()
        self.settingsChanged.emit()
        self.catalogChanged.emit()

    def set_thumbnail_size(self, side: int) -> None:
        """Tiles of `side` pixels (kept within the allowed range), remembered in the settings;
        nothing is regrouped."""
        settings = dataclasses.replace(self.settings, thumbnail_size=side)
        if settings.thumbnail_size == self.settings.thumbnail_size:
            return
        save_settings(settings)
        self.settings = settings
        self.thumbnails.set_side(settings.thumbnail_size)
        self.tileSizeChanged.emit(settings.thumbnail_size)

    def changed(self, *_: object) -> None:
        """Tell every view the catalog changed (connect job results here)."""
        self.catalogChanged.emit()

    def close(self) -> None:
        self.runner.shutdown()
        self.thumbnails.wait()
        self.catalog.close()


def _open(path: Path | str) -> Catalog:
    """A catalog whose deletion journal agrees with the disk after a crash (see journal.recover)."""
    catalog = Catalog(path)
    recover(catalog)
    return catalog
