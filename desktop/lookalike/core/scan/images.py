"""Open any supported photo safely: pixels at a requested size plus review metadata.

Every failure (corrupt, truncated, too large, not an image, unreadable) becomes one
`ImageError` carrying a sentence a person can act on, so callers never need to know
Pillow's, libheif's or libraw's own exception zoo.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False
# Damaged EXIF blocks make Pillow warn on stderr without naming the file; a damaged
# photo that still decodes is a photo, and one that does not gets an ImageError.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")

#: Largest picture we agree to decode (pixels). 200 MP covers medium-format
#: cameras and stitched panoramas; larger headers are bombs or broken files.
MAX_PIXELS = 200_000_000
#: Files larger than this are not read at all (RAW files of 200 MP are ~400 MB).
MAX_FILE_BYTES = 1 << 30
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

RASTER_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .webp .avif .heic .heif .tif .tiff .bmp .gif".split()
)
RAW_EXTENSIONS = frozenset(".cr2 .cr3 .nef .arw .dng .raf .orf .rw2 .pef .srw".split())
SUPPORTED_EXTENSIONS = RASTER_EXTENSIONS | RAW_EXTENSIONS

Resize = Literal["squash", "center_crop", "fit"]

_TAG_ORIENTATION = 0x0112
_TAG_MAKE, _TAG_MODEL, _TAG_DATETIME = 0x010F, 0x0110, 0x0132
_IFD_EXIF, _IFD_GPS = 0x8769, 0x8825
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_SUBSEC_ORIGINAL = 0x9291


class ImageError(Exception):
    """A file that cannot be used as a photo; `reason` is shown to the user."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the review screen shows about a photo (dimensions after EXIF rotation)."""

    width: int
    height: int
    format: str
    taken: str | None = None
    #: When the shutter fired (EXIF DateTimeOriginal with its subseconds), never a later
    #: edit's date: two files with different ones are two exposures (core/proof.py).
    captured: str | None = None
    camera: str | None = None
    has_gps: bool = False
    orientation: int = 1
    grey: bool = False  # no colour: a derived copy when a colour one exists


@dataclass(frozen=True, slots=True)
class Decoded:
    """Pixels (H x W x 3, uint8, RGB, upright) and the metadata of one photo."""

    pixels: np.ndarray
    info: ImageInfo


def is_supported(path: Path | str) -> bool:
    """True when the extension names a format we can decode (os.path, not pathlib: the walk
    asks once per file, a million times in a rescan)."""
    return os.path.splitext(os.fspath(path))[1].lower() in SUPPORTED_EXTENSIONS


def decode(path: Path | str, size: tuple[int, int], resize: Resize = "squash") -> Decoded:
    """Decode `path` to `size` (height, width) pixels, upright, with its metadata.

    `squash` fills the whole size ignoring aspect (model input), `center_crop`
    scales the shorter side then crops, `fit` keeps the aspect within the box
    (thumbnails). Raises `ImageError` for anything that is not a usable photo.
    """
    path = Path(path)
    _check_file(path)
    with _as_image_error(path):
        if path.suffix.lower() in RAW_EXTENSIONS:
            image, fmt = _open_raw(path), "RAW"
        else:
            image = Image.open(path)
            fmt = image.format or path.suffix.lstrip(".").upper()
        with image:
            info = _read_info(image, fmt)
            _check_pixels(path, info.width * info.height)
            pixels = _to_array(image, size, resize, info.orientation)
            info = replace(info, grey=_is_grey(pixels))
    return Decoded(pixels, info)


@contextmanager
def _as_image_error(path: Path) -> Iterator[None]:
    """Every way Pillow, libheif and libraw fail on a bad file, as one ImageError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(path, _bomb_reason(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(path, _unidentified_reason(path)) from exc
    except MemoryError as exc:
        raise ImageError(path, "not enough memory to decode this image") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error) as exc:
        # Pillow's plugins raise any of these on malformed headers and streams.
        raise ImageError(path, _describe(exc)) from exc


def read_info(path: Path | str) -> ImageInfo:
    """Metadata only (header read, no pixel decode) for the review screen."""
    path = Path(path)
    _check_file(path)
    with _as_image_error(path):
        if path.suffix.lower() in RAW_EXTENSIONS:
            with _open_raw(path) as image:
                return _read_info(image, "RAW")
        with Image.open(path) as image:
            return _read_info(image, image.format or "")


def open_upright(path: Path | str, max_side: int | None = None) -> Image.Image:
    """A full (or bounded) RGB Pillow image, upright: for compare views and thumbnails."""
    side = max_side or 0
    if side:
        decoded = decode(path, (side, side), "fit")
        return Image.fromarray(decoded.pixels)
    path = Path(path)
    _check_file(path)
    with _as_image_error(path):
        image = _open_raw(path) if path.suffix.lower() in RAW_EXTENSIONS else Image.open(path)
        with image:
            info = _read_info(image, image.format or "")
            _check_pixels(path, info.width * info.height)
            return _upright_rgb(image, info.orientation)


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ImageError(path, "file not found") from exc
    except PermissionError as exc:
        raise ImageError(path, "permission denied") from exc
    except OSError as exc:
        raise ImageError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageError(path, "empty file (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise ImageError(path, f"file too large ({size >> 20} MB)")


def _check_pixels(path: Path, pixels: int) -> None:
    if pixels <= 0:
        raise ImageError(path, "image has no pixels")
    if pixels > MAX_PIXELS:
        raise ImageError(
            path, f"image too large to decode safely ({pixels / 1e6:.0f} megapixels; the limit is {MAX_PIXELS / 1e6:.0f})"
        )


_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF8": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"BM": "BMP",
}


def _bomb_reason(exc: Exception) -> str:
    """Pillow's decompression-bomb message, said in megapixels like `_check_pixels`."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    declared = f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "too many pixels"
    return f"image too large to decode safely ({declared}; the limit is {MAX_PIXELS / 1e6:.0f})"


def _unidentified_reason(path: Path) -> str:
    """Tell a damaged photo (known signature) from a file that is no photo at all."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        head = b""
    kind = next((name for magic, name in _SIGNATURES.items() if head.startswith(magic)), None)
    if kind is None and head[4:8] == b"ftyp":
        kind = "HEIF/AVIF"
    if kind is None and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = "WebP"
    if kind:
        return f"file is corrupt (damaged {kind} structure)"
    return "not an image, or a format Lookalike cannot read"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "truncated" in lowered or isinstance(exc, EOFError):
        return "file is truncated or incomplete"
    if "crc" in lowered:
        return "file is corrupt (checksum error)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot decode image ({text})"


#: LibRaw's `sizes.flip` as the EXIF orientation that turns the sensor image upright.
_RAW_FLIP_ORIENTATION = {3: 3, 5: 8, 6: 6}
_RAW_SENSOR = "lookalike.raw_sensor"  # Image.info key: (width, height, orientation)


def _open_raw(path: Path) -> Image.Image:
    """A camera RAW file as a Pillow image: the embedded preview, else a half-size decode.

    The preview is smaller than the photo and often lacks the camera's rotation, so
    the sensor's size and rotation ride along in `info` for `_read_info`: the review
    screen and the keep-rules must see a RAW file's real resolution.
    """
    import rawpy

    try:
        with rawpy.imread(str(path)) as raw:
            flip = int(raw.sizes.flip)
            width, height = int(raw.sizes.width), int(raw.sizes.height)
            if flip in (5, 6):
                width, height = height, width
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
                image = Image.open(io.BytesIO(thumb.data))
                image.load()
                orientation = _RAW_FLIP_ORIENTATION.get(flip, 1)
            elif thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
                image, orientation = Image.fromarray(thumb.data), _RAW_FLIP_ORIENTATION.get(flip, 1)
            else:  # postprocess applies the flip itself
                image, orientation = Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True)), 1
            image.info[_RAW_SENSOR] = (width, height, orientation)
            return image
    except rawpy.LibRawError as exc:
        raise ImageError(path, _RAW_REASONS.get(type(exc).__name__, "cannot decode this RAW file")) from exc


#: LibRaw's exceptions, said for a person.
_RAW_REASONS = {
    "LibRawFileUnsupportedError": "not a camera RAW file Lookalike can read (unknown format or damaged)",
    "LibRawIOError": "RAW file is truncated or damaged",
    "LibRawDataError": "RAW file is corrupt (damaged image data)",
    "LibRawTooBigError": "image too large to decode safely",
    "LibRawMemoryError": "not enough memory to decode this RAW file",
}


def _is_grey(pixels: np.ndarray) -> bool:
    """True when the channels agree everywhere (JPEG noise allowed): a greyscale picture."""
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]  # 20x faster than reducing axis 2
    spread = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    return float(spread.mean()) < 2.0 and int(np.percentile(spread, 99)) <= 8


def _read_info(image: Image.Image, fmt: str) -> ImageInfo:
    exif = image.getexif()
    orientation = int(exif.get(_TAG_ORIENTATION, 1) or 1)
    if orientation not in range(1, 9):
        orientation = 1
    width, height = image.size
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if _RAW_SENSOR in image.info:
        width, height, camera_orientation = image.info[_RAW_SENSOR]
        orientation = orientation if orientation != 1 else camera_orientation
    exif_ifd = _safe_ifd(exif, _IFD_EXIF)
    taken = exif_ifd.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
    make = str(exif.get(_TAG_MAKE, "") or "").strip("\x00 ")
    model = str(exif.get(_TAG_MODEL, "") or "").strip("\x00 ")
    camera = model if make and model.startswith(make.split()[0]) else f"{make} {model}".strip()
    return ImageInfo(
        width=width,
        height=height,
        format=fmt.upper(),
        taken=_exif_date(taken),
        captured=_exif_date(exif_ifd.get(_TAG_DATETIME_ORIGINAL), exif_ifd.get(_TAG_SUBSEC_ORIGINAL)),
        camera=camera or None,
        has_gps=bool(_safe_ifd(exif, _IFD_GPS)),
        orientation=orientation,
    )


def _safe_ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # malformed sub-IFDs are common in old cameras' files
        return {}


def _exif_date(value: object, subsec: object = None) -> str | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' (and subseconds '123') to ISO 'YYYY-MM-DDTHH:MM:SS[.123]',
    or None when malformed."""
    text = str(value or "").strip("\x00 ")
    if len(text) < 19 or not text[:4].isdigit():
        return None
    iso = f"{text[0:4]}-{text[5:7]}-{text[8:10]}T{text[11:19]}"
    fraction = str(subsec or "").strip("\x00 ")[:6]
    if fraction.isdigit():
        iso += f".{fraction}"
    return None if iso.startswith("0000") else iso


def _to_array(image: Image.Image, size: tuple[int, int], resize: Resize, orientation: int) -> np.ndarray:
    height, width = size
    want = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if image.format == "JPEG":
        # libjpeg scales by 1/2..1/8 while decoding: 4x faster for camera files.
        image.draft("RGB", want)
    upright = _upright_rgb(_shrunk(image, want), orientation)
    if resize == "squash":
        upright = upright.resize((width, height), Image.Resampling.BILINEAR)
    elif resize == "center_crop":
        upright = ImageOps.fit(upright, (width, height), Image.Resampling.BILINEAR)
    else:
        upright.thumbnail((width, height), Image.Resampling.BILINEAR)
    return np.asarray(upright, dtype=np.uint8)


#: Modes that `Image.reduce` averages correctly (palette indices must not be averaged).
_BOX_MODES = frozenset("L LA La RGB RGBA RGBa CMYK YCbCr I F".split())


def _shrunk(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """`image` made smaller by an integer factor, keeping at least twice `box` (w, h).

    Done before any mode conversion or alpha compositing: those copy the image at
    full size, so a 100 MP RGBA PNG (a few hundred KB of zeros on disk) needed
    2 GB; shrunk first, it needs its one decode buffer. Images under 4x the box
    are untouched, so ordinary photos are resized exactly as before.
    """
    factor = min(image.width // (2 * box[0]), image.height // (2 * box[1]))
    if factor < 2:
        return image
    if image.mode in _BOX_MODES:
        return image.reduce(factor)
    size = (-(-image.width // factor), -(-image.height // factor))
    return image.resize(size, Image.Resampling.NEAREST)  # palette, 1-bit, 16-bit greys


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright_rgb(image: Image.Image, orientation: int) -> Image.Image:
    """First frame (Pillow opens there), EXIF orientation applied, 8-bit RGB.

    Transparency is composited over white, 16-bit greys are scaled to 8 bits.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = image.convert("RGB")
    method = _TRANSPOSE.get(orientation)
    return rgb.transpose(method) if method is not None else rgb
