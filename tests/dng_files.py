"""Minimal camera RAW files (DNG) written for the tests: LibRaw reads them as it reads a camera's.

No RAW sample ships with the project (they are tens of MB), so the tests write a
linear DNG: 16-bit RGB sensor data in a TIFF container with the DNG tags LibRaw
needs, optionally behind a JPEG preview in IFD0 as cameras store one.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 1, 2, 3, 4, 5, 10
_Entry = tuple[int, int, int, bytes]  # tag, type, count, value bytes


def _shorts(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}H", *values)


def _longs(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def _ifd(entries: list[_Entry], at: int) -> bytes:
    """One IFD written at offset `at`, its values longer than 4 bytes right after it."""
    size = 2 + 12 * len(entries) + 4
    head, tail = _shorts(len(entries)), b""
    for tag, kind, count, value in sorted(entries):
        if len(value) <= 4:
            head += _shorts(tag, kind) + _longs(count) + value.ljust(4, b"\0")
        else:
            head += _shorts(tag, kind) + _longs(count, at + size + len(tail))
            tail += value + b"\0" * (len(value) % 2)
    return head + _longs(0) + tail


def _camera(orientation: int) -> list[_Entry]:
    identity = [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]  # ColorMatrix1 = I (rationals)
    return [
        (271, _ASCII, 5, b"Test\0"),
        (272, _ASCII, 5, b"Cam1\0"),
        (274, _SHORT, 1, _shorts(orientation)),
        (50706, _BYTE, 4, bytes([1, 4, 0, 0])),  # DNGVersion 1.4
        (50708, _ASCII, 10, b"Test Cam1\0"),
        (50721, _SRATIONAL, 9, struct.pack("<18i", *identity)),
        (50728, _RATIONAL, 3, _longs(1, 1, 1, 1, 1, 1)),  # AsShotNeutral: white is white
        (50778, _SHORT, 1, _shorts(21)),  # D65
    ]


def _sensor(width: int, height: int, data_at: int, length: int) -> list[_Entry]:
    return [
        (254, _LONG, 1, _longs(0)),
        (256, _LONG, 1, _longs(width)),
        (257, _LONG, 1, _longs(height)),
        (258, _SHORT, 3, _shorts(16, 16, 16)),
        (259, _SHORT, 1, _shorts(1)),
        (262, _SHORT, 1, _shorts(34892)),  # LinearRaw
        (273, _LONG, 1, _longs(data_at)),
        (277, _SHORT, 1, _shorts(3)),
        (278, _LONG, 1, _longs(height)),
        (279, _LONG, 1, _longs(length)),
        (284, _SHORT, 1, _shorts(1)),
        (50717, _LONG, 1, _longs(65535)),  # WhiteLevel
    ]


def write_dng(path: Path, sensor: Image.Image, preview: Image.Image | None = None, orientation: int = 1) -> Path:
    """`sensor` as a linear DNG's raw data; with `preview`, a JPEG preview in IFD0 as cameras store one."""
    rgb = sensor.convert("RGB")
    linear = (np.asarray(rgb, dtype=np.float64) / 255) ** 2.2  # sensors count light; LibRaw adds the gamma
    data = np.rint(linear * 65535).astype("<u2").tobytes()
    out = b"II*\0" + _longs(8)
    if preview is None:
        data_at = 8 + len(_ifd(_sensor(*rgb.size, 0, len(data)) + _camera(orientation), 8))
        out += _ifd(_sensor(*rgb.size, data_at, len(data)) + _camera(orientation), 8) + data
    else:
        small = preview.convert("RGB")
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=90)
        jpeg = buffer.getvalue() + b"\0" * (len(buffer.getvalue()) % 2)

        def ifd0(jpeg_at: int, sensor_at: int) -> list[_Entry]:
            return [
                (254, _LONG, 1, _longs(1)),  # a reduced-resolution image
                (256, _LONG, 1, _longs(small.width)),
                (257, _LONG, 1, _longs(small.height)),
                (258, _SHORT, 3, _shorts(8, 8, 8)),
                (259, _SHORT, 1, _shorts(7)),  # JPEG
                (262, _SHORT, 1, _shorts(6)),  # YCbCr
                (273, _LONG, 1, _longs(jpeg_at)),
                (277, _SHORT, 1, _shorts(3)),
                (278, _LONG, 1, _longs(small.height)),
                (279, _LONG, 1, _longs(len(jpeg))),
                (330, _LONG, 1, _longs(sensor_at)),  # SubIFDs: the sensor data
            ] + _camera(orientation)

        jpeg_at = 8 + len(_ifd(ifd0(0, 0), 8))
        sensor_at = jpeg_at + len(jpeg)
        data_at = sensor_at + len(_ifd(_sensor(*rgb.size, 0, len(data)), sensor_at))
        out += _ifd(ifd0(jpeg_at, sensor_at), 8) + jpeg
        out += _ifd(_sensor(*rgb.size, data_at, len(data)), sensor_at) + data
    path.write_bytes(out)
    return path
