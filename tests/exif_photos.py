"""Photos with the EXIF a camera writes (date taken, GPS), for the metadata-merge tests."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PIL.TiffImagePlugin import IFDRational


def gps_photo(path: Path, taken: str | None, gps: bool, picture: Path | None = None) -> None:
    """A JPEG (of `picture`, else a red square) with the EXIF date `taken` and/or a GPS position."""
    exif = Image.Exif()
    if taken:
        exif[0x0132] = taken
    if gps:
        exif[0x8825] = {
            1: "N", 2: (IFDRational(48), IFDRational(51), IFDRational(2980, 100)),
            3: "W", 4: (IFDRational(2), IFDRational(17), IFDRational(4020, 100)),
            5: b"\x00", 6: IFDRational(355, 10),
        }  # fmt: skip
    image = Image.open(picture).convert("RGB") if picture else Image.new("RGB", (32, 24), "red")
    image.save(path, exif=exif, quality=90)
