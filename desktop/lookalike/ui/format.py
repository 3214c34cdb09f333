"""How numbers about photos are written in the UI (sizes, dimensions, dates, similarity)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path, PurePath

from lookalike.core.display import shown
from lookalike.core.review.keeprules import human_bytes
from lookalike.core.catalog.schema import File

__all__ = [
    "human_bytes", "dimensions", "taken", "percent", "duration", "folder_labels", "name", "folder", "path_text", "rich",
]


def name(path: str) -> str:
    """A file's name as a label shows it: one line, no control characters (core/display.py)."""
    return shown(Path(path).name or path)


def folder(path: str) -> str:
    return shown(Path(path).parent)


def path_text(path: str) -> str:
    return shown(path)


def rich(text: object) -> str:
    """Text for a rich-text label: shown safely and HTML-escaped, so a name cannot add markup (a fake KEEP)."""
    return html.escape(shown(text))


def dimensions(file: File) -> str:
    return f"{file.width}\u00d7{file.height}" if file.width and file.height else "unknown size"


def taken(file: File) -> str:
    """The EXIF date (ISO) shortened to what fits under a thumbnail."""
    return file.taken_at.replace("T", " ")[:16] if file.taken_at else "no date"


def percent(similarity: float) -> str:
    return f"{similarity * 100:.0f}%"


def duration(seconds: float | None) -> str:
    """An ETA or elapsed time: 42 s, 3 min 05 s, 1 h 02 min."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "\u2014"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def folder_labels(paths: Sequence[str]) -> list[str]:
    """The folder of each photo as short as it can be while telling them apart: the parent's
    name, with more of the path where two photos' parents share a name (a/2019, b/2019)."""
    parents = [PurePath(p).parent for p in paths]
    depth = [1] * len(parents)

    def label(i: int) -> str:
        parts = parents[i].parts
        return str(PurePath(*parts[-depth[i]:])) if parts else ""

    for _ in range(max((len(p.parts) for p in parents), default=0)):
        labels = [label(i) for i in range(len(parents))]
        clashing = [i for i in range(len(parents))
                    if any(labels[j] == labels[i] and parents[j] != parents[i] for j in range(len(parents)))]
        if not clashing:
            return [shown(text) for text in labels]
        for i in clashing:
            depth[i] += 1
    return [shown(label(i)) for i in range(len(parents))]
