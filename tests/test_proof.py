"""Proof of the same picture (core/proof.py): copies pass, hard negatives and other exposures do not.

Every photo goes through a real JPEG file and the scan's decoder, as in a scan.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from lookalike.cli import main
from lookalike.core.matching import evidence, proof
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import decode
from lookalike.core.paths import resources_dir
from lookalike.core.review.tiers import find_groups
from lookalike.core.scan.pipeline import Scanner

SAMPLES = resources_dir() / "samples"
Verdict = proof.Verdict
Detail = proof.Detail


def _detail(image: Image.Image, folder: Path, name: str, **save) -> Detail:
    path = folder / name
    image.save(path, **save)
    return Detail(proof.detail(decode(path, evidence.DECODE_SIZE, "squash").pixels))


def _verdict(a: Image.Image, b: Image.Image, folder: Path) -> Verdict:
    return proof.verdict(_detail(a, folder, "a.jpg", quality=92), _detail(b, folder, "b.jpg", quality=90))


def _horizon(seed: int, sun: float, size: tuple[int, int] = (640, 427)) -> Image.Image:
    """A sunset over the sea: a sky gradient, a sun low on the horizon, waves of its own."""
    rng = np.random.default_rng(seed)
    width, height = size
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    picture = np.concatenate([255 * (0.9 - 0.4 * y), 140 * (1 - y) + 60, 90 + 120 * y], axis=2) * np.ones((1, width, 1))
    horizon = int(height * 0.55)
    waves = rng.normal(0, 12, (height - horizon, width // 8)).repeat(8, axis=1)[:, :width, None]
    picture[horizon:] = np.array([40, 60, 90]) + waves
    yy, xx = np.mgrid[0:height, 0:width]
    picture += 120 * np.exp(-((xx - sun * width) ** 2 + (yy - horizon + 20) ** 2) / (2 * 25**2))[..., None]
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def _flat(seed: int, level: float) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(np.clip(rng.normal(level, 2.0, (400, 600, 3)), 0, 255).astype(np.uint8))


def _page(seed: int) -> Image.Image:
    """A page of text in one layout: 20 lines of words drawn from the same few."""
    words = "total amount paid cash card change thank you receipt item price tax date store".split()
    pick = random.Random(seed)
    page = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=22)
    for line in range(20):
        draw.text((40, 40 + 34 * line), " ".join(pick.choice(words) for _ in range(6)), fill="black", font=font)
    return page


def _copies(photo: Image.Image) -> dict[str, Image.Image]:
    width, height = photo.size
    band = photo.copy()
    ImageDraw.Draw(band, "RGBA").rectangle((0, int(height * 0.82), width, height), fill=(0, 0, 0, 110))
    return {
        "re-encoded": photo,
        "half size": photo.resize((width // 2, height // 2), Image.Resampling.LANCZOS),
        "cropped 8%": photo.crop((width * 8 // 100, height * 8 // 100, width * 92 // 100, height * 92 // 100)),
        "turned": photo.transpose(Image.Transpose.ROTATE_270),
        "mirrored": ImageOps.mirror(photo),
        "greyscale": ImageOps.grayscale(photo).convert("RGB"),
        "brighter": ImageEnhance.Contrast(ImageEnhance.Brightness(photo).enhance(1.25)).enhance(1.15),
        "caption band": band,
    }


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_every_kind_of_copy_is_proven_the_same_picture(name: str, tmp_path: Path) -> None:
    photo = Image.open(SAMPLES / f"{name}.jpg").convert("RGB")
    verdicts = {kind: _verdict(photo, copy, tmp_path) for kind, copy in _copies(photo).items()}
    assert verdicts == dict.fromkeys(verdicts, Verdict.SAME_PICTURE)


def test_hard_negatives_are_never_the_same_picture(tmp_path: Path) -> None:
    assert _verdict(_horizon(1, 0.30), _horizon(2, 0.62), tmp_path) != Verdict.SAME_PICTURE
    assert _verdict(_flat(1, 128), _flat(2, 131), tmp_path) == Verdict.DIFFERENT  # nothing to prove with
    assert _verdict(_page(1), _page(2), tmp_path) != Verdict.SAME_PICTURE


def test_a_moved_subject_and_a_detail_cut_out_are_not_copies(tmp_path: Path) -> None:
    photo = Image.open(SAMPLES / "astronaut.jpg").convert("RGB")
    width, height = photo.size
    moved = photo.copy()
    moved.paste(photo.crop((0, 0, width // 2, height)), (width // 2 - 40, 0))
    assert _verdict(photo, moved, tmp_path) != Verdict.SAME_PICTURE
    detail = photo.crop((width // 6, height // 6, width * 5 // 6, height * 5 // 6))  # a third of each side gone
    assert _verdict(photo, detail, tmp_path) != Verdict.SAME_PICTURE


def test_a_much_darker_exposure_is_the_same_moment_not_a_copy(tmp_path: Path) -> None:
    photo = Image.open(SAMPLES / "coffee.jpg").convert("RGB")
    darker = ImageEnhance.Contrast(ImageEnhance.Brightness(photo).enhance(0.45)).enhance(0.8)  # about -1.5 EV
    assert _verdict(photo, darker, tmp_path) == Verdict.SAME_MOMENT


def test_two_capture_times_make_two_exposures_whatever_the_pixels(tmp_path: Path) -> None:
    photo = Image.open(SAMPLES / "chelsea.jpg").convert("RGB")
    one = _detail(photo, tmp_path, "one.jpg", quality=92)
    other = _detail(photo, tmp_path, "other.jpg", quality=92)
    at = lambda d, when: Detail(d.thumbnail, when)  # noqa: E731
    assert proof.verdict(one, other) == Verdict.SAME_PICTURE
    assert proof.verdict(at(one, "2024-05-01T10:00:00.10"), at(other, "2024-05-01T10:00:00.10")) == Verdict.SAME_PICTURE
    assert proof.verdict(at(one, "2024-05-01T10:00:00.10"), at(other, None)) == Verdict.SAME_PICTURE
    assert proof.verdict(at(one, "2024-05-01T10:00:00.10"), at(other, "2024-05-01T10:00:00.35")) == Verdict.SAME_MOMENT


def _exif_capture(when: str, subsec: str) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: when, 0x9291: subsec})
    return exif


def test_the_scan_records_the_capture_time_with_subseconds(tmp_path: Path) -> None:
    path = tmp_path / "frame.jpg"
    Image.open(SAMPLES / "rocket.jpg").save(path, exif=_exif_capture("2024:05:01 10:00:00", "35"))
    assert decode(path, (224, 224)).info.captured == "2024-05-01T10:00:00.35"


@pytest.fixture(scope="module")
def hard_folder(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(folder, catalog): hard negatives, one real copy and two burst frames, scanned."""
    root = tmp_path_factory.mktemp("hard") / "photos"
    root.mkdir()
    _horizon(1, 0.30).save(root / "sunset1.jpg", quality=90)
    _horizon(2, 0.62).save(root / "sunset2.jpg", quality=90)
    _flat(1, 128).save(root / "grey1.jpg", quality=90)
    _flat(2, 131).save(root / "grey2.jpg", quality=90)
    _page(1).save(root / "page1.jpg", quality=90)
    _page(2).save(root / "page2.jpg", quality=90)
    coffee = Image.open(SAMPLES / "coffee.jpg").convert("RGB")
    coffee.save(root / "coffee.jpg", quality=95)
    coffee.resize((coffee.width // 2, coffee.height // 2)).save(root / "coffee_small.jpg", quality=80)
    chelsea = Image.open(SAMPLES / "chelsea.jpg").convert("RGB")
    chelsea.save(root / "frame1.jpg", quality=92, exif=_exif_capture("2024:05:01 10:00:00", "10"))
    chelsea.save(root / "frame2.jpg", quality=92, exif=_exif_capture("2024:05:01 10:00:00", "45"))
    catalog = root.parent / "catalog.sqlite"
    with Catalog(catalog) as opened:
        Scanner(opened, embedder, workers=2).run([root])
    return root, catalog


def test_the_tiers_on_a_folder_of_hard_negatives(hard_folder: tuple[Path, Path], embedder: Embedder) -> None:
    """Through the whole pipeline: only the real copy is a duplicate; burst frames are a burst."""
    with Catalog(hard_folder[1]) as catalog:
        groups = {
            kind: [sorted(Path(m.file.path).name for m in g.members) for g in find_groups(catalog, embedder.model_id, kind)]
            for kind in ("duplicate", "burst")
        }
        best = find_groups(catalog, embedder.model_id, "burst")[0]
    assert groups == {"duplicate": [["coffee.jpg", "coffee_small.jpg"]], "burst": [["frame1.jpg", "frame2.jpg"]]}
    assert [m.keep for m in best.members].count(True) == 1
    assert next(m.reason for m in best.members if m.keep).startswith("best shot")


def _planned(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The names `dedupe --json` would remove."""
    plan = json.loads(capsys.readouterr().out)
    return {Path(r["path"]).name for g in plan["groups"] for r in g["remove"]}


def test_dedupe_removes_burst_frames_only_when_named_and_confirmed(
    hard_folder: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, catalog = hard_folder
    base = ["--catalog", str(catalog), "dedupe", "--json"]
    assert main(base) == 0
    assert _planned(capsys) == {"coffee_small.jpg"}  # the copy; burst frames are never in the default plan
    assert main([*base, "--kind", "burst"]) != 0
    assert "different shots" in capsys.readouterr().err
    assert main([*base, "--kind", "burst", "--different-shots"]) == 0
    planned = _planned(capsys)
    assert len(planned) == 1 and planned < {"frame1.jpg", "frame2.jpg"}
    assert sorted(p.name for p in root.iterdir()) == sorted(  # plans touch nothing
        ["coffee.jpg", "coffee_small.jpg", "frame1.jpg", "frame2.jpg", "grey1.jpg", "grey2.jpg", "page1.jpg",
         "page2.jpg", "sunset1.jpg", "sunset2.jpg"]
    )


def test_the_best_shot_is_sharp_and_well_exposed() -> None:
    """Measured on the pixels a scan decodes: blur and blown highlights lose to a good frame."""
    from PIL import ImageFilter

    from lookalike.core.catalog.schema import File
    from lookalike.core.review.shot import best_shot
    from lookalike.core.scan.exposure import measure

    photo = Image.open(SAMPLES / "chelsea.jpg").convert("RGB").resize((224, 224))
    variants = {
        "good.jpg": photo,
        "shaken.jpg": photo.filter(ImageFilter.GaussianBlur(3)),
        "blown.jpg": ImageEnhance.Brightness(photo).enhance(2.2),
        "dark.jpg": ImageEnhance.Brightness(photo).enhance(0.12),
    }
    frames = []
    for number, (name, image) in enumerate(variants.items()):
        frames.append(File(id=number, path=f"/burst/{name}", **asdict(measure(np.asarray(image)))))
    by_name = {Path(f.path).name: f for f in frames}
    assert by_name["shaken.jpg"].sharpness < by_name["good.jpg"].sharpness
    keeper, reasons = best_shot(frames)
    assert keeper == by_name["good.jpg"].id and reasons[keeper].startswith("best shot")
    assert "blown out" in reasons[by_name["blown.jpg"].id] and "darker" in reasons[by_name["dark.jpg"].id]
    flawed = [by_name["blown.jpg"], by_name["dark.jpg"]]  # a bracket: keep what lost the least
    least = min(flawed, key=lambda f: f.highlights + f.shadows)
    assert best_shot(flawed)[0] == least.id
    chosen, reasons = best_shot(frames, chosen={by_name["shaken.jpg"].id})  # a person's choice wins
    assert chosen == by_name["shaken.jpg"].id and reasons[chosen].startswith("kept: your choice")
