"""The keeper is the original: hand-made copies of a real photo, the devset, and a person's own choice.

The copies are made here from a bundled sample photo carrying a camera's EXIF,
which every copy keeps (the worst case: metadata cannot tell them apart), and
each copy is larger, or as large, as the original on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings
from lookalike.core.review.decisions import KEEP, keeper_choices, remember, remember_keeper, remembered, revoke
from lookalike.core.engines.embedder import Embedder
from lookalike.core.paths import resources_dir
from lookalike.core.review.tiers import ReviewGroup, picture_groups
from lookalike.core.scan.pipeline import Scanner

ORIGINAL = "IMG_0001.jpg"
#: Each hand-made copy and the words its reason must end with.
COPIES = {
    "IMG_0001 rot90.jpg": "a copy turned 90°",
    "IMG_0001 rot270.jpg": "a copy turned 90°",
    "IMG_0001 mirror.jpg": "a mirrored copy",
    "IMG_0001 2x.jpg": "a 2x upscale",
    "IMG_0001.png": "a lossless re-save (PNG)",
    "IMG_0001 crop.jpg": "lower resolution (540×360)",
}


def camera_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Canon", "Canon EOS 80D", "2019:07:14 10:21:00"
    exif.get_ifd(0x8769)[0x9003] = "2019:07:14 10:21:00"
    return exif.tobytes()


def make_copies(folder: Path, names: list[str]) -> None:
    """The original (coffee.jpg with a camera's EXIF) and the copies named, all with its EXIF."""
    folder.mkdir(parents=True, exist_ok=True)
    exif = camera_exif()
    Image.open(resources_dir() / "samples" / "coffee.jpg").convert("RGB").save(folder / ORIGINAL, quality=92, exif=exif)
    with Image.open(folder / ORIGINAL) as opened:
        original = opened.convert("RGB")
    w, h = original.size
    made = {
        "IMG_0001 rot90.jpg": lambda: original.transpose(Image.Transpose.ROTATE_90),
        "IMG_0001 rot270.jpg": lambda: original.transpose(Image.Transpose.ROTATE_270),
        "IMG_0001 mirror.jpg": lambda: original.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "IMG_0001 2x.jpg": lambda: original.resize((w * 2, h * 2), Image.Resampling.LANCZOS),
        "IMG_0001.png": lambda: original,
        "IMG_0001 crop.jpg": lambda: original.crop((w // 20, h // 20, w - w // 20, h - h // 20)),
    }
    for name in names:
        made[name]().save(folder / name, quality=95, exif=exif)


def scanned(folder: Path, catalog_path: Path, embedder: Embedder) -> Catalog:
    catalog = Catalog(catalog_path)
    Scanner(catalog, embedder, workers=2).run([folder])
    return catalog


def verdicts(group: ReviewGroup) -> dict[str, tuple[bool, str]]:
    return {Path(m.file.path).name: (m.keep, m.reason) for m in group.members}


def test_the_original_is_kept_over_turned_mirrored_upscaled_resaved_and_cropped_copies(
    tmp_path: Path, embedder: Embedder
) -> None:
    photos = tmp_path / "photos"
    make_copies(photos, list(COPIES))
    sizes = {p.name: p.stat().st_size for p in photos.iterdir()}
    assert all(sizes[name] >= sizes[ORIGINAL] for name in COPIES if "crop" not in name)  # size cannot decide
    with scanned(photos, tmp_path / "catalog.sqlite", embedder) as catalog:
        (group,) = picture_groups(catalog, embedder.model_id, settings=Settings())
    found = verdicts(group)
    assert set(found) == {ORIGINAL, *COPIES}
    keep, reason = found[ORIGINAL]
    assert keep and reason.startswith("original: the others are ")
    assert {"a 2x upscale", "a lossless re-save (PNG)", "a mirrored copy", "a copy turned 90°"} == set(
        reason.split("; ")[0].removeprefix("original: the others are ").split(", ")
    )
    for name, why in COPIES.items():
        assert found[name] == (False, f"duplicate of {ORIGINAL}: {why}"), name


@pytest.mark.parametrize("copy", ["IMG_0001 2x.jpg", "IMG_0001.png"])
def test_an_upscale_or_a_resave_alone_with_its_original_is_recognised(
    tmp_path: Path, embedder: Embedder, copy: str
) -> None:
    """Pixels tell a pair apart: no majority of other copies is needed."""
    photos = tmp_path / "photos"
    make_copies(photos, [copy])
    with scanned(photos, tmp_path / "catalog.sqlite", embedder) as catalog:
        (group,) = picture_groups(catalog, embedder.model_id, settings=Settings())
    assert verdicts(group) == {
        ORIGINAL: (True, f"original: the others are {COPIES[copy]}"),
        copy: (False, f"duplicate of {ORIGINAL}: {COPIES[copy]}"),
    }


@pytest.mark.devset
def test_devset_keeper_of_every_duplicate_group_is_the_original(
    devset: Path, truth: dict, tmp_path: Path, embedder: Embedder
) -> None:
    original_of = {str(devset / name): str(devset / group[0]) for group in truth["groups"] for name in group}
    with scanned(devset, tmp_path / "catalog.sqlite", embedder) as catalog:
        groups = [g for g in picture_groups(catalog, embedder.model_id, settings=Settings()) if g.kind == "duplicate"]
    kept = {m.file.path for g in groups for m in g.members if m.keep}
    originals = {original_of[m.file.path] for g in groups for m in g.members if m.file.path in original_of}
    right = kept & originals
    print(f"devset: the keeper is the original in {len(right)} of {len(groups)} duplicate groups")
    assert len(groups) == len(truth["groups"]) and right == originals == {str(devset / g[0]) for g in truth["groups"]}


# --- a person's "keep this one" ------------------------------------------------------


def test_keep_this_one_overrides_the_rules_is_remembered_and_revocable(tmp_path: Path, embedder: Embedder) -> None:
    photos = tmp_path / "photos"
    make_copies(photos, ["IMG_0001 mirror.jpg", "IMG_0001 2x.jpg"])
    with scanned(photos, tmp_path / "catalog.sqlite", embedder) as catalog:
        (group,) = picture_groups(catalog, embedder.model_id, settings=Settings())
        chosen = next(m.file for m in group.members if m.file.path.endswith("2x.jpg"))
        assert remember_keeper(catalog, chosen.id, [m.file.id for m in group.members]) == 2
    with Catalog(tmp_path / "catalog.sqlite") as catalog:  # remembered across opens
        (group,) = picture_groups(catalog, embedder.model_id, settings=Settings())
        assert verdicts(group) == {
            "IMG_0001 2x.jpg": (True, "you chose to keep this one"),
            ORIGINAL: (False, "duplicate of IMG_0001 2x.jpg: you chose to keep another copy"),
            "IMG_0001 mirror.jpg": (False, "duplicate of IMG_0001 2x.jpg: you chose to keep another copy"),
        }
        (choice,) = remembered(catalog)
        assert choice.kind == KEEP and choice.files[0] == chosen.id and len(choice.files) == 3
        assert revoke(catalog, choice.id[:5]) == choice
        (group,) = picture_groups(catalog, embedder.model_id, settings=Settings())
        assert verdicts(group)[ORIGINAL][0] and remembered(catalog) == []


def test_the_latest_keep_choice_wins_and_a_merged_group_keeps_both_choices_apart(tmp_path: Path) -> None:
    from test_deletion import add_photos

    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        ids = add_photos(catalog, tmp_path / "p", {f"{n}.jpg": n.encode() * 10 for n in "abcde"})
        a, b, c, d, e = (ids[f"{n}.jpg"] for n in "abcde")
        remember_keeper(catalog, a, [a, b, c])
        remember_keeper(catalog, b, [a, b])  # a later word on two of them
        choices = keeper_choices(catalog)
        assert choices.kept_in([a, b, c]) == {b}
        assert choices.kept_in([a, b]) == {b} and choices.kept_in([a, c]) == {a}
        remember_keeper(catalog, d, [d, e])
        assert choices.kept_in([d, e]) == set()  # read before: a snapshot
        assert keeper_choices(catalog).kept_in([a, c, d, e]) == {a, d}  # two groups merged: both kept
        assert keeper_choices(catalog).kept_in([c, e]) == set()


def test_decisions_verb_lists_and_revokes_every_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_deletion import add_photos

    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        ids = add_photos(catalog, tmp_path / "p", {"a.jpg": b"a" * 10, "b.jpg": b"b" * 10, "c.jpg": b"c" * 10})
        remember(catalog, [ids["a.jpg"], ids["b.jpg"]], "not_duplicate")
        remember_keeper(catalog, ids["c.jpg"], [ids["a.jpg"]])

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--catalog", str(catalog_path), *argv])
        return code, *capsys.readouterr()

    code, out, _ = cli("decisions", "--json")
    listed = json.loads(out)["decisions"]
    assert code == 0 and [d["kind"] for d in listed] == ["keep", "not_duplicate"]  # newest first
    assert [Path(p).name for p in listed[0]["files"]] == ["c.jpg", "a.jpg"]
    assert [Path(p).name for p in listed[1]["files"]] == ["a.jpg", "b.jpg"]
    code, out, _ = cli("decisions")
    assert code == 0 and listed[0]["id"] in out and "not duplicates" in out and " over " in out

    code, out, _ = cli("decisions", "revoke", listed[1]["id"], "--json")
    assert code == 0 and json.loads(out)["revoked"]["id"] == listed[1]["id"]
    code, out, _ = cli("decisions", "list", "--json")
    assert [d["id"] for d in json.loads(out)["decisions"]] == [listed[0]["id"]]
    for bad, words in (("zz", "at least 4 characters"), ("ffffffff", "no remembered decision")):
        code, out, err = cli("decisions", "revoke", bad)
        assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1


def test_dedupe_keep_path_is_remembered_and_refuses_bad_paths(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    make_copies(photos, ["IMG_0001 mirror.jpg", "IMG_0001 2x.jpg"])
    catalog_path = tmp_path / "catalog.sqlite"
    scanned(photos, catalog_path, embedder).close()

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--catalog", str(catalog_path), *argv])
        return code, *capsys.readouterr()

    mirror = str(photos / "IMG_0001 mirror.jpg")
    code, out, _ = cli("dedupe", "--keep", mirror, "--json")
    (group,) = json.loads(out)["groups"]
    assert code == 0 and [m["path"] for m in group["keep"]] == [mirror]
    assert {m["reason"] for m in group["remove"]} == {"duplicate of IMG_0001 mirror.jpg: you chose to keep another copy"}
    code, out, _ = cli("duplicates", "--json")  # remembered: every view agrees
    assert [f["path"] for f in json.loads(out)["groups"][0]["files"] if f["keep"]] == [mirror]

    code, out, err = cli("dedupe", "--keep", mirror, "--keep", str(photos / ORIGINAL))
    assert code == 2 and "keep one per group" in err and out == ""
    code, out, err = cli("dedupe", "--keep", str(tmp_path / "nowhere.jpg"))
    assert code == 2 and "not in the catalog" in err and out == ""


def test_derived_copies_are_found_from_the_files_alone(tmp_path: Path) -> None:
    """Without a catalog's signatures (an older catalog, the UI's own rows) the pixels are read."""
    from lookalike.core.scan.images import read_info
    from lookalike.core.review.keeprules import Evidence, derived_copies
    from lookalike.core.catalog.schema import File

    make_copies(tmp_path, list(COPIES))
    files = []
    for number, path in enumerate(sorted(tmp_path.iterdir()), start=1):
        info = read_info(path)
        files.append(File(id=number, path=str(path), size=path.stat().st_size, mtime_ns=path.stat().st_mtime_ns,
                          width=info.width, height=info.height, format=info.format, camera=info.camera, grey=info.grey))  # fmt: skip
    found = {Path(f.path).name: derived_copies(files, Evidence()).get(f.id) for f in files}
    assert found == {ORIGINAL: None, "IMG_0001 crop.jpg": None} | {
        name: why for name, why in COPIES.items() if "crop" not in name
    }
    assert all(f.camera == "Canon EOS 80D" for f in files)
