"""Thumbnails for any photo, loaded lazily: memory, then a disk cache, else decoded in a pool.

Views ask for a thumbnail while painting; a miss returns None at once and queues
the file, newest request first, so the photos on screen load before the ones
scrolled past. Decoded thumbnails are kept as small JPEGs in the user cache
folder, keyed by path, size and modification time, so a second launch is instant.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from lookalike.core.scan.images import ImageError, open_upright
from lookalike.core.paths import thumbnail_dir

#: Longest side of a thumbnail on disk (room for larger tiles or high-DPI screens).
THUMB_SIDE = 256
#: Requests beyond this many are dropped oldest first: they were scrolled past.
MAX_QUEUE = 400


def pil_to_qimage(image: object) -> QImage:
    """An RGB Pillow image as a QImage that owns its pixels (safe to pass between threads)."""
    rgb = image.convert("RGB")  # type: ignore[attr-defined]
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888).copy()


class _MemoryCache:
    """Least-recently-used pixmaps, bounded by their pixel memory."""

    def __init__(self, limit_bytes: int) -> None:
        self._items: OrderedDict[str, QPixmap] = OrderedDict()
        self._limit = limit_bytes
        self._used = 0

    def get(self, key: str) -> QPixmap | None:
        pixmap = self._items.get(key)
        if pixmap is not None:
            self._items.move_to_end(key)
        return pixmap

    def put(self, key: str, pixmap: QPixmap) -> None:
        self._items[key] = pixmap
        self._used += pixmap.width() * pixmap.height() * 4
        while self._used > self._limit and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._used -= old.width() * old.height() * 4

    def clear(self) -> None:
        self._items.clear()
        self._used = 0


class ThumbnailCache(QObject):
    """Thumbnails by file path, at most `side` pixels (scaled in the worker, so painting
    never resamples). `ready(path)` fires on the UI thread when one arrives."""

    ready = Signal(str)
    _loaded = Signal(str, object)

    def __init__(
        self,
        parent: QObject | None = None,
        side: int = THUMB_SIDE,
        directory: Path | None = None,
        threads: int = 2,
        memory_bytes: int = 192 << 20,
    ) -> None:
        super().__init__(parent)
        self.directory = directory or thumbnail_dir()
        self.side = side
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._memory = _MemoryCache(memory_bytes)
        self._failed: set[str] = set()
        self._queue: OrderedDict[str, None] = OrderedDict()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._loaded.connect(self._store)

    def get(self, path: str) -> QPixmap | None:
        """The thumbnail if it is in memory; otherwise None and it is queued for loading."""
        pixmap = self._memory.get(path)
        if pixmap is None and path not in self._failed:
            self._request(path)
        return pixmap

    def set_side(self, side: int) -> None:
        """Thumbnails of at most `side` pixels from now on; those in memory are dropped
        (the disk cache makes reloading them cheap)."""
        if side != self.side:
            self.side = side
            self._memory.clear()

    def failed(self, path: str) -> bool:
        """True when the file has no preview (missing or undecodable): draw a placeholder."""
        return path in self._failed

    def forget(self, paths: list[str] | None = None) -> None:
        """Drop remembered failures (files restored by undo, or a rescan)."""
        if paths is None:
            self._failed.clear()
        else:
            self._failed.difference_update(paths)

    def wait(self, msecs: int = 5000) -> bool:
        with self._lock:
            self._queue.clear()
        return self._pool.waitForDone(msecs)

    def _request(self, path: str) -> None:
        with self._lock:
            if path in self._inflight:
                return
            if path in self._queue:
                self._queue.move_to_end(path)
                return
            self._queue[path] = None
            while len(self._queue) > MAX_QUEUE:
                self._queue.popitem(last=False)
        self._pool.start(self._work)

    def _work(self) -> None:
        """Pool thread: load the most recently requested thumbnail still waiting."""
        with self._lock:
            if not self._queue:
                return
            path, _ = self._queue.popitem(last=True)
            self._inflight.add(path)
        self._loaded.emit(path, self._load(path))

    def _load(self, path: str) -> QImage | None:
        image = self._read(path)
        if image is None or max(image.width(), image.height()) <= self.side:
            return image
        return image.scaled(self.side, self.side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)

    def _read(self, path: str) -> QImage | None:
        """The disk-cached thumbnail, made (and cached) first when missing or stale."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        key = hashlib.sha1(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
        cached = self.directory / key[:2] / f"{key}.jpg"
        if cached.is_file():
            image = QImage(str(cached))
            if not image.isNull():
                return image
        try:
            thumb = open_upright(path, max_side=THUMB_SIDE)
        except ImageError:
            return None
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{threading.get_ident()}.tmp")
            thumb.save(tmp, "JPEG", quality=85)
            tmp.replace(cached)
        except OSError:
            pass  # a read-only or full cache folder only costs speed
        return pil_to_qimage(thumb)

    @Slot(str, object)
    def _store(self, path: str, image: QImage | None) -> None:
        with self._lock:
            self._inflight.discard(path)
        if image is None:
            self._failed.add(path)
        else:
            self._memory.put(path, QPixmap.fromImage(image))
        self.ready.emit(path)


class RepaintThrottle(QObject):
    """Repaints a view at most every `msecs` while thumbnails stream in."""

    def __init__(self, widget: object, msecs: int = 40) -> None:
        super().__init__()
        self._widget = widget
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(msecs)
        self._timer.timeout.connect(self._repaint)

    def poke(self, *_: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _repaint(self) -> None:
        self._widget.update()  # type: ignore[attr-defined]
