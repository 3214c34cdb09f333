"""Decoding real files: formats, orientation, metadata, and every kind of broken file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lookalike.core.scan import images
from lookalike.core.scan.images import ImageError, decode, read_info

from dng_files import write_dng

SIZE = (224, 224)


def _similar(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two pixel arrays: ~1 for the same picture."""
    return float(np.corrcoef(a.astype(np.float32).ravel(), b.astype(np.float32).ravel())[0, 1])


@pytest.fixture
def photo(samples: Path) -> Path:
    return samples / "coffee.jpg"


def test_decode_gives_rgb_uint8_at_requested_size(photo: Path) -> None:
    decoded = decode(photo, SIZE)
    assert decoded.pixels.shape == (224, 224, 3)
    assert decoded.pixels.dtype == np.uint8
    assert (decoded.info.width, decoded.info.height, decoded.info.format) == (600, 400, "JPEG")


def test_fit_keeps_aspect_ratio(photo: Path) -> None:
    assert decode(photo, (100, 100), "fit").pixels.shape == (67, 100, 3)


@pytest.mark.parametrize("orientation,transpose", [
    (6, Image.Transpose.ROTATE_90),
    (8, Image.Transpose.ROTATE_270),
    (3, Image.Transpose.ROTATE_180),
    (2, Image.Transpose.FLIP_LEFT_RIGHT),
])
def test_exif_orientation_is_applied(photo: Path, tmp_path: Path, orientation: int, transpose) -> None:
    original = decode(photo, SIZE)
    exif = Image.Exif()
    exif[0x0112] = orientation
    sideways = tmp_path / "sideways.jpg"
    with Image.open(photo) as im:
        im.transpose(transpose).save(sideways, quality=95, exif=exif)
    upright = decode(sideways, SIZE)
    assert _similar(upright.pixels, original.pixels) > 0.97
    assert (upright.info.width, upright.info.height) == (original.info.width, original.info.height)


@pytest.mark.parametrize("suffix,options", [
    (".png", {}), (".webp", {"quality": 80}), (".avif", {"quality": 70}), (".heic", {"quality": 70}),
    (".tif", {}), (".bmp", {}), (".gif", {}),
])
def test_formats_decode_to_the_same_picture(photo: Path, tmp_path: Path, suffix: str, options: dict) -> None:
    target = tmp_path / f"copy{suffix}"
    with Image.open(photo) as im:
        im.save(target, **options)
    assert _similar(decode(target, SIZE).pixels, decode(photo, SIZE).pixels) > 0.9


def test_animated_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 64), color) for color in ("red", "blue", "green")]
    target = tmp_path / "anim.gif"
    frames[0].save(target, save_all=True, append_images=frames[1:])
    pixels = decode(target, (32, 32)).pixels
    assert pixels[..., 0].mean() > 200 and pixels[..., 2].mean() < 50


def test_transparency_and_16_bit_are_flattened(tmp_path: Path) -> None:
    rgba = tmp_path / "alpha.png"
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(rgba)
    assert decode(rgba, (8, 8)).pixels.min() == 255  # transparent over white
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((40, 40), 65535, dtype=np.uint16)).save(deep)
    assert decode(deep, (8, 8)).pixels.min() == 255


def test_wrong_extension_still_decodes(photo: Path, tmp_path: Path) -> None:
    misnamed = tmp_path / "really_a_png.jpg"
    with Image.open(photo) as im:
        im.save(misnamed, format="PNG")
    assert decode(misnamed, SIZE).info.format == "PNG"


def test_metadata_is_read(photo: Path, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 10:31:02"
    exif.get_ifd(0x8825)[1] = "N"
    target = tmp_path / "meta.jpg"
    with Image.open(photo) as im:
        im.save(target, exif=exif)
    info = read_info(target)
    assert info.taken == "2019-07-14T10:31:02"
    assert info.camera == "Canon EOS 5D"
    assert info.has_gps


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG start that declares a huge image: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def _broken_files(photo: Path, folder: Path) -> dict[str, bytes]:
    jpeg = photo.read_bytes()
    return {
        "zero.jpg": b"",
        "one_byte.jpg": b"\xff",
        "text.jpg": b"this is not a photo\n" * 20,
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "header_only.jpg": jpeg[:600],
        "bomb.png": _png_header(60000, 60000),
        "random.heic": np.random.default_rng(1).bytes(5000),
        "random.cr2": np.random.default_rng(2).bytes(5000),
    }


def test_broken_files_raise_one_clear_error(photo: Path, tmp_path: Path) -> None:
    for name, data in _broken_files(photo, tmp_path).items():
        target = tmp_path / name
        target.write_bytes(data)
        with pytest.raises(ImageError) as caught:
            decode(target, SIZE)
        assert caught.value.reason and str(target) in str(caught.value), name


def test_bomb_reason_says_too_large(tmp_path: Path) -> None:
    target = tmp_path / "bomb.png"
    target.write_bytes(_png_header(60000, 60000))
    with pytest.raises(ImageError, match="too large"):
        decode(target, SIZE)


def test_missing_file_and_unreadable_file(tmp_path: Path, photo: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        decode(tmp_path / "nope.jpg", SIZE)


@pytest.mark.devset
def test_devset_broken_files_all_raise(devset: Path, truth: dict) -> None:
    for name in truth["broken"]:
        with pytest.raises(ImageError) as caught:
            decode(devset / name, SIZE)
        print(f"{name}: {caught.value.reason}")


def test_supported_extensions_cover_raw_and_heif() -> None:
    for ext in (".heic", ".avif", ".cr3", ".nef", ".dng", ".arw", ".JPG"):
        assert images.is_supported(f"x{ext}")
    assert not images.is_supported("notes.txt")


def test_greyscale_is_detected(photo: Path, tmp_path: Path) -> None:
    grey = tmp_path / "grey.jpg"
    with Image.open(photo) as im:
        im.convert("L").convert("RGB").save(grey, quality=80)
    assert decode(grey, SIZE).info.grey
    assert not decode(photo, SIZE).info.grey


@pytest.mark.parametrize("orientation", [1, 6])
def test_camera_raw_without_a_preview_is_decoded_at_half_size(photo: Path, tmp_path: Path, orientation: int) -> None:
    with Image.open(photo) as image:
        sensor = image.convert("RGB").resize((240, 160))
    raw = write_dng(tmp_path / "photo.dng", sensor, orientation=orientation)
    decoded = decode(raw, SIZE)
    upright = sensor.transpose(Image.Transpose.ROTATE_270) if orientation == 6 else sensor
    assert decoded.info.format == "RAW" and (decoded.info.width, decoded.info.height) == upright.size
    assert read_info(raw).width == upright.width

    def grey(image: Image.Image) -> np.ndarray:  # LibRaw renders colours its own way: compare shapes
        return np.asarray(image.convert("L").resize(SIZE))

    shown = Image.fromarray(decoded.pixels)
    assert _similar(grey(shown), grey(upright)) > 0.85
    assert _similar(grey(shown), grey(upright.transpose(Image.Transpose.ROTATE_180))) < 0.5


@pytest.mark.parametrize("orientation", [1, 6])
def test_camera_raw_preview_is_used_with_the_sensors_size(photo: Path, samples: Path, tmp_path: Path, orientation: int) -> None:
    """The embedded JPEG is read, not the sensor data (here another photo), and the
    review screen still sees the sensor's resolution and the camera's rotation."""
    with Image.open(photo) as image, Image.open(samples / "chelsea.jpg") as other:
        preview, sensor = image.convert("RGB").resize((180, 120)), other.convert("RGB").resize((300, 200))
    raw = write_dng(tmp_path / "photo.dng", sensor, preview, orientation)
    decoded = decode(raw, SIZE)
    turn = Image.Transpose.ROTATE_270 if orientation == 6 else None
    upright = preview.transpose(turn) if turn else preview
    assert (decoded.info.width, decoded.info.height) == ((200, 300) if turn else (300, 200))
    assert _similar(decoded.pixels, np.asarray(upright.resize(SIZE))) > 0.9


def test_damaged_camera_raw_raises_one_clear_error(photo: Path, tmp_path: Path) -> None:
    with Image.open(photo) as image:
        raw = write_dng(tmp_path / "photo.dng", image.resize((120, 80)))
    raw.write_bytes(raw.read_bytes()[:200])
    with pytest.raises(ImageError) as caught:
        decode(raw, SIZE)
    assert caught.value.reason
