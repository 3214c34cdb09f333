"""Which copy of a group to keep, and a sentence saying why, from ordered rules.

Each rule scores a file (higher is better). Files are ranked by the scores of the
rules in the user's order, then by path, so the same group always gets the same
keeper. The reason shown for a removed copy is the first rule on which the keeper
beat it: a person can check that one fact instead of reading a score table.

Rules read `schema.File` attributes (path, size, width, height, format, taken_at,
has_gps) by duck typing, so the UI can pass its own row objects. The Settings
dialog and `lookalike dedupe` both pass a person's choices through
`normalise_rules` and `normalise_folders`, so a typo is refused the same way in both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, Protocol


class FileLike(Protocol):
    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    taken_at: str | None
    has_gps: bool
    grey: bool


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may need beyond the file itself."""

    preferred_folders: tuple[str, ...] = ()
    #: The copies still in the running: tied with the best on every earlier rule.
    contenders: tuple[FileLike, ...] = ()


@dataclass(frozen=True, slots=True)
class KeepRule:
    """One criterion: a score (higher wins) and the words for winning and losing on it."""

    name: str
    label: str  # shown in the settings list of the UI
    score: Callable[[FileLike, Context], Any]
    won: Callable[[FileLike, Context], str]  # why the keeper is kept
    lost: Callable[[FileLike, Context], str]  # why another copy is not


# --- preferred folder -----------------------------------------------------------


def _normal(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def _preferred_index(file: FileLike, ctx: Context) -> int | None:
    """Position of the first preferred folder holding `file`, or None."""
    where = PurePath(_normal(file.path))
    for index, folder in enumerate(ctx.preferred_folders):
        if where.is_relative_to(_normal(folder)):
            return index
    return None


def _preferred_score(file: FileLike, ctx: Context) -> int:
    index = _preferred_index(file, ctx)
    return 0 if index is None else len(ctx.preferred_folders) - index


def _preferred_won(file: FileLike, ctx: Context) -> str:
    index = _preferred_index(file, ctx)
    return f"in preferred folder {ctx.preferred_folders[index]}" if index is not None else "in a preferred folder"


def _preferred_lost(file: FileLike, ctx: Context) -> str:
    index = _preferred_index(file, ctx)
    if index is None:
        return "not in a preferred folder"
    return f"in a less preferred folder ({ctx.preferred_folders[index]})"


# --- resolution -----------------------------------------------------------------


def _pixels(file: FileLike, _ctx: Context) -> int:
    return (file.width or 0) * (file.height or 0)


def _dimensions(file: FileLike) -> str:
    if not file.width or not file.height:
        return "unknown size"
    return f"{file.width}×{file.height}"


# --- format ---------------------------------------------------------------------

#: Higher is closer to what the camera recorded: RAW > lossless > lossy > the rest.
FORMAT_RANK = {
    "RAW": 3,
    **dict.fromkeys(("TIFF", "PNG", "HEIC", "HEIF"), 2),
    **dict.fromkeys(("JPEG", "MPO", "WEBP", "AVIF"), 1),
}
_EXTENSION_FORMAT = {
    **dict.fromkeys(".cr2 .cr3 .nef .arw .dng .raf .orf .rw2 .pef .srw".split(), "RAW"),
    **dict.fromkeys(".tif .tiff".split(), "TIFF"),
    ".png": "PNG",
    **dict.fromkeys(".heic .heif".split(), "HEIF"),
    **dict.fromkeys(".jpg .jpeg .jpe .jfif".split(), "JPEG"),
    ".webp": "WEBP",
    ".avif": "AVIF",
}


def _format_name(file: FileLike) -> str:
    """The stored decoder format, else one guessed from the extension."""
    if file.format:
        return file.format.upper()
    return _EXTENSION_FORMAT.get(PurePath(file.path).suffix.lower(), PurePath(file.path).suffix.lstrip(".").upper())


def _format_score(file: FileLike, _ctx: Context) -> int:
    return FORMAT_RANK.get(_format_name(file), 0)


# --- size -----------------------------------------------------------------------

#: Files within this fraction of the largest copy still in the running count as
#: equally large: saving one picture again at the same quality (or mirrored, or
#: turned) moves its size a few percent either way, while a real loss of quality
#: (a messenger's or a thumbnailer's recompression) saves far more. Ties go on to
#: the next rule.
SIZE_TOLERANCE = 0.10


def _largest(ctx: Context) -> int:
    return max((c.size or 0 for c in ctx.contenders), default=0)


def _size_score(file: FileLike, ctx: Context) -> int:
    """The size, with every size close to the largest contender's counted as the largest."""
    size, largest = file.size or 0, _largest(ctx)
    return largest if size >= largest * (1 - SIZE_TOLERANCE) else size


def _size_won(file: FileLike, ctx: Context) -> str:
    largest = "largest file" if (file.size or 0) >= _largest(ctx) else "about the largest file"
    return f"{largest} ({human_bytes(file.size or 0)})"


def human_bytes(size: int) -> str:
    """1536 -> '1.5 KB' (decimal units, as file managers show)."""
    if size < 1000:
        return f"{size} B"
    value, unit = float(size), "B"
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000:
            break
    return f"{value:.1f} {unit}"


# --- date taken -----------------------------------------------------------------


def _taken(file: FileLike) -> datetime | None:
    try:
        return datetime.fromisoformat(file.taken_at) if file.taken_at else None
    except ValueError:
        return None


def _taken_score(file: FileLike, _ctx: Context) -> tuple[int, float]:
    """Any date beats none; among dated copies the oldest wins (edits are newer)."""
    taken = _taken(file)
    if taken is None:
        return (0, 0.0)
    return (1, -(taken.replace(tzinfo=None) - datetime(1, 1, 1)).total_seconds())


def _taken_text(file: FileLike) -> str:
    taken = _taken(file)
    return taken.strftime("%Y-%m-%d %H:%M") if taken else "none"


def _taken_lost(file: FileLike, _ctx: Context) -> str:
    return "no date taken" if _taken(file) is None else f"later date taken ({_taken_text(file)})"


# --- metadata -------------------------------------------------------------------


def _metadata_score(file: FileLike, _ctx: Context) -> int:
    return int(_taken(file) is not None) + int(bool(file.has_gps))


def _metadata_won(file: FileLike, _ctx: Context) -> str:
    present = [name for name, has in (("EXIF date", _taken(file)), ("GPS", file.has_gps)) if has]
    return "has " + " and ".join(present)


def _metadata_lost(file: FileLike, _ctx: Context) -> str:
    missing = [name for name, has in (("EXIF date", _taken(file)), ("GPS", file.has_gps)) if not has]
    return "missing " + " and ".join(missing)


RULES: dict[str, KeepRule] = {
    rule.name: rule
    for rule in (
        KeepRule("preferred_folder", "In a preferred folder", _preferred_score, _preferred_won, _preferred_lost),
        KeepRule(
            "colour",
            "Colour over greyscale",
            lambda f, _c: 0 if getattr(f, "grey", False) else 1,
            lambda f, _c: "in colour",
            lambda f, _c: "greyscale",
        ),
        KeepRule(
            "resolution",
            "Highest resolution",
            _pixels,
            lambda f, _c: f"highest resolution ({_dimensions(f)})",
            lambda f, _c: f"lower resolution ({_dimensions(f)})",
        ),
        KeepRule(
            "format",
            "Original format (RAW > TIFF/PNG/HEIC > JPEG/WebP/AVIF)",
            _format_score,
            lambda f, _c: f"original format ({_format_name(f)})",
            lambda f, _c: f"less original format ({_format_name(f)})",
        ),
        KeepRule(
            "file_size",
            "Largest file",
            _size_score,
            _size_won,
            lambda f, _c: f"smaller file ({human_bytes(f.size or 0)})",
        ),
        KeepRule(
            "date_taken",
            "Oldest date taken",
            _taken_score,
            lambda f, _c: f"oldest date taken ({_taken_text(f)})",
            _taken_lost,
        ),
        KeepRule("metadata", "Has EXIF date and GPS", _metadata_score, _metadata_won, _metadata_lost),
        KeepRule(
            "shortest_path",
            "Shortest path",
            lambda f, _c: -len(f.path),
            lambda f, _c: "shortest path",
            lambda f, _c: "longer path",
        ),
    )
}

#: The order a photographer expects, most telling first:
#: 1. preferred_folder: the person's own word ("keep what is in Archive") beats any
#:    guess; it decides nothing while no folder is set.
#: 2. colour, 3. resolution, 4. format: keep the copy that holds the most of the
#:    picture: a greyscale conversion, a downscale or a lossy re-save lost
#:    something that cannot come back, and RAW/lossless is what the camera wrote.
#: 5. metadata, 6. date_taken: among copies equally complete in pixels, the one
#:    still carrying the camera's EXIF date and GPS is the original (exports and
#:    messengers strip them), and of two dated copies the older is the first.
#: 7. file_size: a clearly larger file of the same size and format was compressed
#:    less; sizes within SIZE_TOLERANCE tie, because re-saving, mirroring or
#:    turning a photo changes its size by a few percent without adding anything.
#: 8. shortest_path: copies get longer names ("IMG_1 (1).jpg", "IMG_1-edited.jpg",
#:    "Copy of IMG_1.jpg") and deeper folders; the camera's name is the shortest.
#: Largest file used to come right after format, which kept a mirrored or
#: sideways copy that happened to be 1% larger over the original.
DEFAULT_RULES: list[str] = [
    "preferred_folder",
    "colour",
    "resolution",
    "format",
    "metadata",
    "date_taken",
    "file_size",
    "shortest_path",
]


def check_rules(names: Sequence[str]) -> list[str]:
    """The names unchanged, or ValueError naming the unknown ones and the known ones."""
    unknown = [name for name in names if name not in RULES]
    if unknown:
        raise ValueError(f"unknown keep rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    return list(names)


def normalise_rules(names: Iterable[str]) -> list[str]:
    """A person's rule list as the ranking uses it; ValueError names any unknown rule.

    Spelling is forgiven (case, spaces, "file-size"), a repeated rule counts once
    (where it first appears: later it could never decide), and an empty list means
    DEFAULT_RULES, as in `config.Settings.keep_rules`.
    """
    cleaned = (name.strip().lower().replace("-", "_").replace(" ", "_") for name in names)
    unique = list(dict.fromkeys(name for name in cleaned if name))
    return check_rules(unique) if unique else list(DEFAULT_RULES)


def normalise_folders(folders: Iterable[str]) -> list[str]:
    """Preferred folders as absolute real paths (as scans store photos), blanks and repeats dropped."""
    resolved = (str(Path(folder).expanduser().resolve()) for folder in folders if folder.strip())
    return list(dict.fromkeys(resolved))


def choose_keeper(
    files: Sequence[FileLike],
    rules: Sequence[str] | None = None,
    preferred_folders: Sequence[str] = (),
    relation: str = "duplicate of",
) -> tuple[int, dict[int, str]]:
    """The id of the copy to keep and, for every file id, a sentence saying why.

    `rules` defaults to DEFAULT_RULES; ties on every rule go to the first path in
    sort order, so repeated runs agree. Each rule scores knowing which copies are
    still in the running (file size compares with the largest of those only). `relation` words the link to the keeper
    ("duplicate of", "similar to") in the other files' reasons.
    """
    if not files:
        raise ValueError("choose_keeper needs at least one file")
    chosen = [RULES[name] for name in check_rules(DEFAULT_RULES if rules is None else rules)]
    scores: dict[int, list[Any]] = {f.id: [] for f in files}
    contexts = []  # the context each rule scored in
    for rule in chosen:
        best = max(scores.values())
        ctx = Context(tuple(preferred_folders), tuple(f for f in files if scores[f.id] == best))
        contexts.append(ctx)
        for f in files:
            scores[f.id].append(rule.score(f, ctx))
    ranked = sorted(files, key=lambda f: f.path)
    # Python sorts are stable: after the path sort, rank by scores (best first).
    ranked.sort(key=lambda f: scores[f.id], reverse=True)
    keeper = ranked[0]
    names = _display_names(files)

    reasons: dict[int, str] = {}
    deciding: list[int] = []  # rule positions that beat at least one other copy
    for other in ranked[1:]:
        position = next(
            (i for i, (a, b) in enumerate(zip(scores[keeper.id], scores[other.id])) if a != b), None
        )
        if position is None:
            why = "same on every rule (kept the first by path)"
        else:
            why = chosen[position].lost(other, contexts[position])
            if position not in deciding:
                deciding.append(position)
        reasons[other.id] = f"{relation} {names[keeper.id]}: {why}"
    if deciding:
        reasons[keeper.id] = "; ".join(chosen[i].won(keeper, contexts[i]) for i in sorted(deciding))
    else:
        reasons[keeper.id] = "first by path (copies equal on every rule)" if len(files) > 1 else "only copy"
    return keeper.id, reasons


def _display_names(files: Sequence[FileLike]) -> dict[int, str]:
    """File names, or full paths where two copies share a name."""
    counts: dict[str, int] = {}
    for f in files:
        counts[PurePath(f.path).name] = counts.get(PurePath(f.path).name, 0) + 1
    return {f.id: PurePath(f.path).name if counts[PurePath(f.path).name] == 1 else f.path for f in files}
