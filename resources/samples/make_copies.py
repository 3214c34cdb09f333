"""Regenerate copies/ from the originals here, so the demo finds real duplicate groups.

Run from anywhere: `python resources/samples/make_copies.py`. The copies are
committed; this script documents exactly how each one was made.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
OUT = HERE / "copies"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    shutil.copyfile(HERE / "astronaut.jpg", OUT / "astronaut (copy).jpg")  # identical bytes
    with Image.open(HERE / "chelsea.jpg") as im:
        im.resize((im.width // 2, im.height // 2)).save(OUT / "chelsea_small.jpg", quality=60)
    with Image.open(HERE / "coffee.jpg") as im:
        dx, dy = im.width // 12, im.height // 12
        im.crop((dx, dy, im.width - dx, im.height - dy)).save(OUT / "coffee_cropped.jpg", quality=85)
    with Image.open(HERE / "rocket.jpg") as im:
        # Stored sideways with an EXIF tag that turns it back: the same photo to a person.
        exif = Image.Exif()
        exif[0x0112] = 6
        im.transpose(Image.Transpose.ROTATE_90).save(OUT / "rocket_rotated.jpg", quality=88, exif=exif)
        ImageOps.grayscale(im).save(OUT / "rocket_gray.png")


if __name__ == "__main__":
    main()
