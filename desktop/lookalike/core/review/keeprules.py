"""Which copy of a group to keep, and a sentence saying why, from ordered rules.

Each rule scores a file (higher is better). Files are ranked by the scores of the
rules in the user's order, then by path, so the same group always gets the same
keeper. The reason shown for a removed copy is the first rule on which the keeper
beat it: a person can check that one fact instead of reading a score table.

Rules read `schema.File` attributes (path, size, width, height, format, taken_at,
camera, has_gps, grey) by duck typing, so the UI can pass its own row objects. The
"original" rule also looks at the pictures (`Evidence`): which copies are derived
from another one of the group (an upscale, a lossless re-save of a lossy file, a
turned or mirrored copy). A person's own choice ("keep this one", see
core/decisions.py) comes before every rule (`chosen`). The Settings
dialog and `lookalike dedupe` both pass a person's choices through
`normalise_rules` and `normalise_folders`, so a typo is refused the same way in both.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from types import SimpleNamespace
from typing import Any, Protocol, cast

import numpy as np
from PIL import Image

from lookalike.core.scan.images import ImageError, decode, open_upright
from lookalike.core.matching.structure import SIDE, signature


class FileLike(Protocol):
    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    taken_at: str | None
    camera: str | None
    has_gps: bool
    grey: bool


def facts(file: FileLike) -> FileLike:
    """What the rules read of a file, copied out of its row once: a catalog row's attributes
    cost ~0.2 us a read, and ranking a group reads each of them ~100 times."""
    return cast(FileLike, SimpleNamespace(**{name: getattr(file, name, None) for name in FACTS}))


#: The attributes the rules read (FileLike's, and the modification time pixel verdicts are kept by):
#: the file columns to read where only keepers are wanted (`Catalog.file_columns`).
FACTS = (*FileLike.__annotations__, "mtime_ns")


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may need beyond the file itself."""

    preferred_folders: tuple[str, ...] = ()
    #: The copies still in the running: tied with the best on every earlier rule.
    contenders: tuple[FileLike, ...] = ()
    #: How each derived copy of the group was made from another ("a 2x upscale"), by file id.
    derived: Mapping[int, str] = field(default_factory=dict)


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
    if not ctx.preferred_folders:
        return None
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


def _pixels(file: FileLike, _ctx: Context | None = None) -> int:
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
    """The format's rank; HEIC/HEIF ranks as the camera's own format only with the camera's
    make and model (a phone's original), else as the lossy re-encode it then is."""
    name = _format_name(file)
    if name in ("HEIC", "HEIF") and not _camera(file):
        return FORMAT_RANK["JPEG"]
    return FORMAT_RANK.get(name, 0)


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


# --- original: copies derived from another copy of the group ----------------------

#: Formats that store pixels exactly, and formats that lose detail when saving.
LOSSLESS = frozenset({"PNG", "TIFF", "BMP"})
LOSSY = frozenset({"JPEG", "MPO", "WEBP", "HEIC", "HEIF", "AVIF"})
#: Mean |difference| (grey levels, over RGB) up to which a lossless file holds a lossy
#: copy's decoded pixels: a lossless re-save, whatever metadata came along. The same
#: decoder gives 0, another one's rounding stays under it; even a quality-100 JPEG of a
#: lossless original differs by more (colour conversion, chroma subsampling).
RESAVE_TOLERANCE = 0.25
#: Formats a photo is converted to: it is not what a camera wrote unless it carries the
#: camera's make and model (a phone's HEIC, a scanner's or camera's TIFF).
CONVERSION_FORMATS = frozenset({"PNG", "TIFF", "BMP", "HEIC", "HEIF", "AVIF", "WEBP"})
#: Mean |difference| (grey levels, over RGB) up to which two copies of one size hold the
#: same picture: renderings of one image at JPEG 75-95 or HEIC/AVIF 80 differ by 0.3-5
#: on the devset, an edit (brightness, watermark...) by more. A conversion-format copy
#: without camera metadata that holds the same picture as a JPEG is a conversion of
#: it. (A screenshot saved as PNG and also as JPEG loses here: the pixels cannot tell
#: it from a photo converted to PNG.)
SAME_PICTURE = 6.0
#: A copy at least this much wider (linear factor) than another is checked for being
#: an upscale of it; below it the round trip below cannot tell (measured on the samples
#: and the devset at 1.25: originals from 0.42, upscales up to 0.31).
UPSCALE_MIN_FACTOR = 1.4
#: `_detail_ratio` under this means the larger copy holds no detail beyond the smaller
#: one's resolution: an upscale. Measured on 5 samples and 40 devset originals with
#: Lanczos, bicubic and bilinear upscales saved as JPEG 80 and 95: upscales 0.07 (2x)
#: to 0.15 (1.5x) at most, originals over their own downscale 0.22 at least.
UPSCALE_RATIO = 0.18
#: Side of the centre region (pixels of the larger copy) the detail is measured on:
#: a statistic of the picture, so a region is enough and a 50 MP photo costs no more.
DETAIL_REGION = 1024
#: Side of the decode a signature is made from when the catalog has none (a scan
#: makes it from the model's input, about this size; JPEGs decode this small fast).
SIGNATURE_DECODE = 224
#: A turn or mirror counts when it matches the signatures at least this well (correlation)
#: and this much better than the photo as it is (symmetric pictures match both ways).
TURN_MATCH, TURN_MARGIN = 0.6, 0.15
#: The 8 ways to lay a picture: np.rot90 quarter turns (counter-clockwise), then mirrored.
_TURN_WORDS = (
    "", "a copy turned 90°", "a copy turned upside down", "a copy turned 90°",
    "a mirrored copy", "a mirrored and turned copy", "a copy flipped upside down", "a mirrored and turned copy",
)  # fmt: skip


class Evidence:
    """What the "original" rule looks at beyond a file's row: its structure signature
    (core/structure.py, stored by the scan) and, only for the pairs that need them
    (different resolutions; a lossless and a lossy copy of one size), its pixels.

    Pixel verdicts are cached (for the process) by both files' path, size and
    modification time, so regrouping (the app's threshold slider) decodes nothing
    again; decoded pixels are held for the last few files only.
    """

    _verdicts: OrderedDict[tuple[Any, ...], str | None] = OrderedDict()
    _verdicts_lock = threading.Lock()
    VERDICTS_KEPT = 20_000
    PIXELS_KEPT = 4

    def __init__(self, signatures: Mapping[int, bytes] | None = None) -> None:
        self._signatures = dict(signatures or {})
        self._decoded: OrderedDict[int, np.ndarray | None] = OrderedDict()

    def signature(self, file: FileLike) -> np.ndarray | None:
        """The upright 32x32 greyscale signature, from the catalog, else from a small decode."""
        blob = self._signatures.get(file.id)
        if blob is None:
            try:
                blob = signature(decode(file.path, (SIGNATURE_DECODE, SIGNATURE_DECODE)).pixels)
            except (ImageError, OSError):
                return None
        return np.frombuffer(blob, dtype=np.uint8).reshape(SIDE, SIDE).astype(np.float32)

    def pixels(self, file: FileLike) -> np.ndarray | None:
        """Upright RGB pixels, or None when the file cannot be read (it then proves nothing)."""
        if file.id in self._decoded:
            self._decoded.move_to_end(file.id)
            return self._decoded[file.id]
        try:
            pixels: np.ndarray | None = np.asarray(open_upright(file.path), dtype=np.uint8)
        except (ImageError, OSError):
            pixels = None
        self._decoded[file.id] = pixels
        if len(self._decoded) > self.PIXELS_KEPT:
            self._decoded.popitem(last=False)
        return pixels

    def verdict(
        self, copy: FileLike, source: FileLike, test: Callable[[np.ndarray, np.ndarray], str | None]
    ) -> str | None:
        """`test(copy's pixels, source's pixels)`: how `copy` was made from `source`, or None."""
        key = (test.__name__, *_identity(copy), *_identity(source))
        with self._verdicts_lock:
            if key in self._verdicts:
                self._verdicts.move_to_end(key)
                return self._verdicts[key]
        a, b = self.pixels(copy), self.pixels(source)
        found = None if a is None or b is None else test(a, b)
        with self._verdicts_lock:
            self._verdicts[key] = found
            if len(self._verdicts) > self.VERDICTS_KEPT:
                self._verdicts.popitem(last=False)
        return found


def _identity(file: FileLike) -> tuple[str, int, int]:
    return (file.path, file.size or 0, getattr(file, "mtime_ns", 0) or 0)


def _grey(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.float32)


def _round_trip_loss(grey: np.ndarray, factor: float) -> float:
    """Mean squared detail lost by shrinking `grey` `factor` times and enlarging it back."""
    height, width = grey.shape
    image = Image.fromarray(grey, mode="F")
    small = image.resize((max(1, round(width / factor)), max(1, round(height / factor))), Image.Resampling.LANCZOS)
    back = np.asarray(small.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    border = 4  # the filters' edge effects
    lost = (grey - back)[border:-border, border:-border]
    return float(np.mean(lost * lost)) if lost.size else 0.0


def _centre(grey: np.ndarray, fraction: float) -> np.ndarray:
    """The centre `fraction` of each side of `grey`."""
    height, width = grey.shape
    h, w = max(1, round(height * fraction)), max(1, round(width * fraction))
    top, left = (height - h) // 2, (width - w) // 2
    return grey[top : top + h, left : left + w]


def _detail_ratio(large: np.ndarray, small: np.ndarray) -> float:
    """Detail the larger copy holds beyond the smaller one's resolution, relative to the
    detail the smaller one holds in the octave below its own: about 1 for an original
    (a photo has detail at every scale), near 0 for an upscale (nothing above the source).

    Both are measured on the same centre part of the picture, at most DETAIL_REGION
    pixels of the larger copy across, so a crop or a 50 MP photo changes little.
    """
    factor = float(np.sqrt(large.shape[0] * large.shape[1] / (small.shape[0] * small.shape[1])))
    fraction = min(1.0, DETAIL_REGION / max(large.shape))
    above = _round_trip_loss(_centre(large, fraction), factor)
    below = _round_trip_loss(_centre(small, fraction), factor)
    return above / max(below, 1e-3)


def upscale(copy: np.ndarray, source: np.ndarray) -> str | None:
    """'a 2x upscale' when `copy` (the larger) carries no detail beyond `source`'s resolution."""
    factor = float(np.sqrt(copy.shape[0] * copy.shape[1] / (source.shape[0] * source.shape[1])))
    if factor < UPSCALE_MIN_FACTOR or min(source.shape[:2]) < 64:
        return None
    if _detail_ratio(_grey(copy), _grey(source)) >= UPSCALE_RATIO:
        return None
    return f"a {factor:.2g}x upscale"


def same_pixels(copy: np.ndarray, source: np.ndarray) -> str | None:
    """How closely `copy` holds `source`'s pixels (same size): "exact" within RESAVE_TOLERANCE,
    "alike" within SAME_PICTURE, else None."""
    if copy.shape != source.shape:
        return None
    difference = 0.0
    for start in range(0, copy.shape[0], 256):  # int16 rows in slices: no full-size temporaries
        rows = slice(start, start + 256)
        difference += float(np.abs(copy[rows].astype(np.int16) - source[rows].astype(np.int16)).sum())
    mean = difference / copy.size
    return "exact" if mean <= RESAVE_TOLERANCE else "alike" if mean <= SAME_PICTURE else None


#: Pixel orders of a SIDE x SIDE signature turned 0-3 quarter turns, then mirrored and turned.
_GRID = np.arange(SIDE * SIDE).reshape(SIDE, SIDE)
_WAYS = np.stack([np.rot90(m, k).ravel() for m in (_GRID, _GRID[:, ::-1]) for k in range(4)])
#: The pixel orders undoing each of _WAYS.
_UNDO_WAYS = np.argsort(_WAYS, axis=1)


def _turns(reference: np.ndarray, others: Sequence[np.ndarray]) -> list[int]:
    """The way (index into _TURN_WORDS) each of `others` is laid relative to `reference`; 0 when
    unclear. One product of every other against the reference laid back by every way (an
    other turned one way against the reference is the other against the reference turned
    back; per pair and way, np.corrcoef was most of the keep rules' time: a million photos
    have ~80k copy groups)."""
    centred = reference.ravel().astype(np.float64)
    centred -= centred.mean()
    flat = np.stack([other.ravel() for other in others]).astype(np.float64)  # (others, pixels)
    flat -= flat.mean(axis=1, keepdims=True)
    spread = np.sqrt((flat * flat).sum(axis=1, keepdims=True) * float(centred @ centred))
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = (flat @ centred[_UNDO_WAYS].T) / spread  # (others, 8)
    scores[~np.isfinite(scores)] = -1.0  # a flat image correlates with nothing
    best = scores.argmax(axis=1)
    clear = (scores.max(axis=1) >= TURN_MATCH) & (scores.max(axis=1) - scores[:, 0] >= TURN_MARGIN)
    return np.where(clear, best, 0).tolist()


def _turned_copies(files: Sequence[FileLike], evidence: Evidence) -> dict[int, str]:
    """Copies laid differently (turned, mirrored) from the way most copies of the group lie.

    Which way is upright cannot be told from one pair (a mirror of a mirror is the
    original); the way most copies share is the way it was shot. With no majority
    (two copies, or a tie) nothing is said.
    """
    sigs = {f.id: s for f in files if (s := evidence.signature(f)) is not None}
    if len(sigs) < 3:
        return {}
    ways = dict(zip(sigs, _turns(next(iter(sigs.values())), list(sigs.values()))))
    counts = sorted(((list(ways.values()).count(w), w) for w in set(ways.values())), reverse=True)
    if len(counts) < 2 or counts[0][0] == counts[1][0]:
        return {}
    upright = next(fid for fid, way in ways.items() if way == counts[0][1])
    turned = [fid for fid, way in ways.items() if way != counts[0][1]]
    from_upright = _turns(sigs[upright], [sigs[fid] for fid in turned])
    return {fid: _TURN_WORDS[again] or _TURN_WORDS[ways[fid]] for fid, again in zip(turned, from_upright)}


def _pixel_copies(files: Sequence[FileLike], evidence: Evidence) -> dict[int, str]:
    """Copies whose pixels show they were made from another copy: upscales, lossless
    re-saves of a lossy file, and conversions of a JPEG to another format (SAME_PICTURE)."""
    found: dict[int, str] = {}
    largest_first = sorted(files, key=lambda f: (-_pixels(f), f.path))  # an upscale is told of its nearest source
    for copy, source in itertools.product(files, largest_first):
        if copy.id in found or copy is source or (getattr(source, "grey", False) and not getattr(copy, "grey", False)):
            continue  # already known; a colour copy is not made from a greyscale one
        how = None
        if _pixels(copy) > _pixels(source) > 0:
            how = evidence.verdict(copy, source, upscale)
        elif _dimensions(copy) == _dimensions(source) and (
            _resaved(copy, source) or _converted(copy) and _format_name(source) in ("JPEG", "MPO")
        ):
            how = _pixel_words(copy, source, evidence.verdict(copy, source, same_pixels))
        if how:
            found[copy.id] = how
    return found


def _resaved(copy: FileLike, source: FileLike) -> bool:
    """Whether `copy` may be a lossless re-save of `source` (their formats allow it)."""
    return _format_name(copy) in LOSSLESS and _format_name(source) in LOSSY


def _pixel_words(copy: FileLike, source: FileLike, likeness: str | None) -> str | None:
    """'a lossless re-save (PNG)' of exact pixels, 'a PNG conversion' of a JPEG's picture, else None."""
    name = _format_name(copy)
    if likeness == "exact" and _resaved(copy, source):
        return f"a lossless re-save ({name})"
    if likeness is not None and _converted(copy) and _format_name(source) in ("JPEG", "MPO"):
        return f"{'an' if name[0] in 'AEIOU' else 'a'} {name} conversion"
    return None


def _converted(file: FileLike) -> bool:
    """In a format photos are converted to, without the camera's metadata (see CONVERSION_FORMATS)."""
    return _format_name(file) in CONVERSION_FORMATS and not _camera(file)


def derived_copies(files: Sequence[FileLike], evidence: Evidence) -> dict[int, str]:
    """How each derived copy of a group was made ("a 2x upscale", "a mirrored copy"), by id."""
    return _pixel_copies(files, evidence) | _turned_copies(files, evidence)


def _camera(file: FileLike) -> str | None:
    return getattr(file, "camera", None)


def _original_score(file: FileLike, ctx: Context) -> tuple[int, int]:
    """Not derived from another copy first, then the camera's make and model still present."""
    return (int(file.id not in ctx.derived), int(bool(_camera(file))))


def _original_won(file: FileLike, ctx: Context) -> str:
    if file.id in ctx.derived:  # every copy still in the running is derived: it won on metadata
        return f"has the camera's metadata ({_camera(file)})"
    others = list(dict.fromkeys(how for fid, how in ctx.derived.items() if fid != file.id))
    if others:
        return "original: the others are " + ", ".join(others)
    return f"original: has the camera's metadata ({_camera(file)})"


def _original_lost(file: FileLike, ctx: Context) -> str:
    return ctx.derived.get(file.id) or "no camera metadata (make and model)"


RULES: dict[str, KeepRule] = {
    rule.name: rule
    for rule in (
        KeepRule("preferred_folder", "In a preferred folder", _preferred_score, _preferred_won, _preferred_lost),
        KeepRule(
            "original",
            "The original (not an upscale, re-save, turned or mirrored copy; camera metadata)",
            _original_score,
            _original_won,
            _original_lost,
        ),
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
            "Original format (RAW > TIFF/PNG/camera HEIC > JPEG/WebP/AVIF)",
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
#: 1b. original: a copy made from another copy of the group is never the original,
#:    however many pixels or bytes it has (an upscale, a PNG of a JPEG, a turned or
#:    mirrored copy: these used to win on resolution, format or size); then the one
#:    still carrying the camera's make and model.
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
    "original",
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
    kept_by_person: Collection[int] = (),
    evidence: Evidence | None = None,
) -> tuple[int, dict[int, str]]:
    """The id of the copy to keep and, for every file id, a sentence saying why.

    `rules` defaults to DEFAULT_RULES; ties on every rule go to the first path in
    sort order, so repeated runs agree. Each rule scores knowing which copies are
    still in the running (file size compares with the largest of those only).
    `relation` words the link to the keeper ("duplicate of", "similar to") in the
    other files' reasons. Ids in `kept_by_person` (a remembered "keep this one")
    come before every rule. `evidence` lets the "original" rule look at the
    pictures; without it no copy counts as derived.
    """
    if not files:
        raise ValueError("choose_keeper needs at least one file")
    chosen = [RULES[name] for name in check_rules(DEFAULT_RULES if rules is None else rules)]
    if any(f.id in kept_by_person for f in files):
        chosen.insert(0, _person_rule(kept_by_person))
    derived = derived_copies(files, evidence) if evidence is not None and RULES["original"] in chosen else {}
    scores: dict[int, list[Any]] = {f.id: [] for f in files}
    contexts = []  # the context each rule scored in
    for rule in chosen:
        best = max(scores.values())
        ctx = Context(tuple(preferred_folders), tuple(f for f in files if scores[f.id] == best), derived)
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


def _person_rule(kept: Collection[int]) -> KeepRule:
    """A person's "keep this one": ahead of every rule, so it overrides them for its group."""
    return KeepRule(
        "kept_by_person",
        "Chosen by you",
        lambda f, _c: int(f.id in kept),
        lambda f, _c: "you chose to keep this one",
        lambda f, _c: "you chose to keep another copy",
    )


def _display_names(files: Sequence[FileLike]) -> dict[int, str]:
    """File names, or full paths where two copies share a name (os.path: asked for every
    group shown, pathlib's parsing was a tenth of listing 100k files' groups)."""
    names = {f.id: os.path.basename(f.path) for f in files}
    counts = Counter(names.values())
    return {f.id: names[f.id] if counts[names[f.id]] == 1 else f.path for f in files}
