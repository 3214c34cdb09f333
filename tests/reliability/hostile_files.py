"""Hostile files for the reliability suite, made from the bundled sample photos.

Every generator returns bytes (or writes files) and is deterministic, so a failing
case can be rebuilt exactly. Kept free of pytest so the memory check can import
it in a child process.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"

#: Pillow format name -> file extension, for the formats mutated byte by byte.
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "HEIF": ".heic", "TIFF": ".tif"}


def sample_image(size: tuple[int, int] = (96, 64), name: str = "chelsea.jpg") -> Image.Image:
    """A small real photo: decodes fast, so hundreds of mutations stay cheap."""
    with Image.open(SAMPLES / name) as image:
        return image.convert("RGB").resize(size)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def base_files() -> dict[str, bytes]:
    """One small valid file per mutated format (TIFF compressed, so its codec is exercised)."""
    image = sample_image()
    options = {"TIFF": {"compression": "tiff_lzw"}, "JPEG": {"quality": 85}}
    return {fmt: encode(image, fmt, **options.get(fmt, {})) for fmt in FORMATS}


# --- truncations -------------------------------------------------------------------


def jpeg_marker_offsets(data: bytes) -> list[int]:
    """Offsets of every JPEG marker, headers and entropy-coded data (RSTn, SOS, EOI) alike."""
    return [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] not in (0x00, 0xFF)]


def png_chunk_offsets(data: bytes) -> list[int]:
    """Offsets where each PNG chunk starts, plus the end of the file."""
    offsets, position = [], 8
    while position + 8 <= len(data):
        offsets.append(position)
        (length,) = struct.unpack(">I", data[position : position + 4])
        position += 12 + length
    return offsets + [len(data)]


def rich_jpegs() -> dict[str, bytes]:
    """JPEGs with many markers: restart intervals, and a progressive one (many scans)."""
    image = sample_image((160, 112))
    return {
        "restart": encode(image, "JPEG", quality=90, restart_marker_blocks=4),
        "progressive": encode(image, "JPEG", quality=90, progressive=True),
    }


def chunked_png(chunk: int = 512) -> bytes:
    """A PNG whose image data is split over many IDAT chunks (many boundaries)."""
    data = encode(sample_image((160, 112)), "PNG")
    offsets = png_chunk_offsets(data)
    chunks = [data[a:b] for a, b in zip(offsets, offsets[1:])]
    idat = b"".join(c[8:-4] for c in chunks if c[4:8] == b"IDAT")
    head = [c for c in chunks if c[4:8] not in (b"IDAT", b"IEND")]
    parts = [png_chunk(b"IDAT", idat[i : i + chunk]) for i in range(0, len(idat), chunk)]
    return data[:8] + b"".join(head) + b"".join(parts) + png_chunk(b"IEND", b"")


def truncations(data: bytes, offsets: list[int]) -> Iterator[tuple[int, bytes]]:
    """The file cut at each offset and just after it (a boundary and a torn header)."""
    for cut in sorted({o for offset in offsets for o in (offset, offset + 1, offset + 2) if 0 < o < len(data)}):
        yield cut, data[:cut]


# --- crafted headers -------------------------------------------------------------------


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def declared_size(width: int, height: int) -> dict[str, bytes]:
    """Small files whose headers declare `width` x `height` pixels, one per format."""
    image = sample_image()
    out: dict[str, bytes] = {}
    png = bytearray(encode(image, "PNG"))
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))  # a valid CRC: only the size lies
    out["png"] = bytes(png)
    jpeg = bytearray(encode(image, "JPEG"))
    sof = jpeg.find(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", min(height, 65535), min(width, 65535))
    out["jpg"] = bytes(jpeg)
    gif = bytearray(encode(image, "GIF"))
    gif[6:10] = struct.pack("<HH", min(width, 65535), min(height, 65535))
    out["gif"] = bytes(gif)
    bmp = bytearray(encode(image, "BMP"))
    bmp[18:26] = struct.pack("<ii", width, height)
    out["bmp"] = bytes(bmp)
    out["tif"] = _tiff_declaring(width, height)
    for fmt, ext in (("HEIF", "heic"), ("AVIF", "avif")):
        heif = bytearray(encode(image, fmt))
        ispe = heif.find(b"ispe")
        heif[ispe + 8 : ispe + 16] = struct.pack(">II", width, height)
        out[ext] = bytes(heif)
    webp = bytearray(encode(image, "WEBP", lossless=True))
    # VP8L header: 14-bit width-1 and height-1 after the 0x2f signature (16383 is the format's limit).
    w, h = min(width, 16384) - 1, min(height, 16384) - 1
    webp[21:25] = struct.pack("<I", (w & 0x3FFF) | ((h & 0x3FFF) << 14) | (webp[24] & 0xF0) << 24)
    out["webp"] = bytes(webp)
    return out


def _tiff_declaring(width: int, height: int) -> bytes:
    """An uncompressed 8-bit greyscale TIFF header declaring the size, with one strip of data."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
        (273, 4, 1, 8 + 2 + 12 * 8 + 4), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 64),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(64)


def recursive_exif() -> bytes:
    """A TIFF-structured EXIF block whose IFD0, Exif IFD, GPS IFD and next-IFD all point to IFD0."""

    def entry(tag: int, kind: int, count: int, value: int) -> bytes:
        return struct.pack("<HHII", tag, kind, count, value)

    make = struct.unpack("<I", b"abc\0")[0]
    ifd = struct.pack("<H", 4) + entry(0x010F, 2, 4, make) + entry(0x8769, 4, 1, 8) + entry(0x8825, 4, 1, 8)
    ifd += entry(0xA005, 4, 1, 8)  # the interoperability IFD too
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 8)


def deep_exif(depth: int = 2000) -> bytes:
    """EXIF with a chain of `depth` sub-IFDs, each pointing to the next (deep, not cyclic)."""
    size = 2 + 12 + 4
    body = b""
    for level in range(depth):
        nxt = 8 + (level + 1) * size
        body += struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, nxt if level + 1 < depth else 0) + b"\0" * 4
    return b"II*\x00" + struct.pack("<I", 8) + body


def with_exif(fmt: str, exif: bytes) -> bytes:
    """A small photo of `fmt` carrying the raw EXIF block `exif` (JPEG and WebP want the prefix)."""
    prefix = b"Exif\x00\x00" if fmt in ("JPEG", "WEBP") else b""
    return encode(sample_image(), fmt, exif=prefix + exif)


def exif_strings(text: str) -> bytes:
    """A JPEG whose EXIF Make, Model, DateTime and ImageDescription are all `text`."""
    exif = Image.Exif()
    for tag in (0x010F, 0x0110, 0x0132, 0x010E, 0x0131):
        exif[tag] = text
    return encode(sample_image(), "JPEG", exif=exif.tobytes())


def many_frames_gif(frames: int = 3000) -> bytes:
    """An animated GIF of `frames` distinct tiny frames."""
    images = [Image.new("P", (16, 16), i % 256) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=10, loop=0)
    return out.getvalue()


def png_bomb(side: int, rgba: bool = True) -> bytes:
    """A real decompression bomb: a `side` x `side` PNG of zeros, under a megabyte on disk."""
    bands = 4 if rgba else 3
    compressor = zlib.compressobj(9)
    row = bytes(1 + side * bands)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 6 if rgba else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


# --- not images, wrong names -------------------------------------------------------------


def not_images() -> dict[str, bytes]:
    """Content that is no photo at all; each is written under several image extensions."""
    rng = random.Random(7)
    return {
        "text": b"Dear diary,\nthis is not a photo.\n" * 20,
        "html": b"<!doctype html><html><body><img src='x.jpg'></body></html>",
        "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "zip": _zip_bytes(),
        "elf": Path(os.path.realpath("/bin/true")).read_bytes()[:8192] if Path("/bin/true").exists() else b"\x7fELF",
        "random": rng.randbytes(5000),
        "lone_ff_byte": b"\xff",
        "magic_only_jpeg": b"\xff\xd8\xff",
        "magic_only_png": b"\x89PNG\r\n\x1a\n",
    }


def _zip_bytes() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8\xff" + bytes(100))
    return out.getvalue()


def wrong_extensions() -> dict[str, bytes]:
    """Valid photos under another format's extension: they must decode (content decides)."""
    image = sample_image()
    return {
        "png_named.jpg": encode(image, "PNG"),
        "jpeg_named.png": encode(image, "JPEG"),
        "heic_named.jpg": encode(image, "HEIF"),
        "webp_named.tif": encode(image, "WEBP"),
        "tiff_named.gif": encode(image, "TIFF"),
        "jpeg_named.heic": encode(image, "JPEG"),
    }


def raw_impostors() -> dict[str, bytes]:
    """Files under camera-RAW extensions that are not what the extension says (libraw's input)."""
    rng = random.Random(11)
    tiff = encode(sample_image(), "TIFF")
    return {
        "random.nef": rng.randbytes(6000),
        "truncated_tiff.dng": tiff[: len(tiff) // 3],
        "jpeg.cr2": encode(sample_image(), "JPEG"),
        "empty_tiff_header.arw": b"II*\x00\x08\x00\x00\x00\x00\x00",
        "text.raf": b"FUJIFILMCCD-RAW " + b"\0" * 200,
    }


def write_hostile_set(folder: Path, bomb_side: int = 10_000) -> dict[str, str]:
    """Write one of every crafted kind into `folder`; returns file name -> what it is."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}

    def put(name: str, data: bytes, what: str) -> None:
        (folder / name).write_bytes(data)
        made[name] = what

    for ext, data in declared_size(60_000, 60_000).items():
        put(f"declared_60000x60000.{ext}", data, "header declares 60000x60000")
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif")):
        put(f"recursive_exif.{ext}", with_exif(fmt, recursive_exif()), "EXIF IFDs pointing to themselves")
    put("deep_exif.jpg", with_exif("JPEG", deep_exif()), "EXIF with 2000 nested IFDs")
    put("frames_3000.gif", many_frames_gif(), "GIF with 3000 frames")
    put(f"bomb_{bomb_side}.png", png_bomb(bomb_side), f"{bomb_side}x{bomb_side} RGBA PNG of zeros")
    for ext in (".jpg", ".png", ".heic", ".tif", ".webp", ".gif", ".nef"):
        put(f"zero_bytes{ext}", b"", "0 bytes")
        put(f"one_byte{ext}", b"\x00", "1 byte")
    for kind, data in not_images().items():
        for ext in (".jpg", ".png", ".heic", ".webp"):
            put(f"{kind}{ext}", data, f"not an image ({kind})")
    for name, data in raw_impostors().items():
        put(name, data, "not a RAW file")
    for name, data in wrong_extensions().items():
        put(name, data, "valid photo, wrong extension")
    return made
