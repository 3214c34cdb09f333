"""The deletion verbs end to end: dedupe (plan, apply), undo, history, not-duplicate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.deletion import execute, plan_removal
from lookalike.core.hashing import full_hash
from lookalike.core.catalog.schema import File
from lookalike.core.removal.sidecar import merge_metadata, read_gps, sidecar_path, write_xmp_sidecar
from exif_photos import gps_photo
from test_deletion import add_photos

Library = tuple[Path | str, dict[str, int]]
Capture = pytest.CaptureFixture[str]


@pytest.fixture
def library(tmp_path: Path, catalog_location: Path | str) -> Library:
    """A catalog with one group of identical copies under Photos/ (and one lone photo)."""
    catalog_path = catalog_location
    with Catalog(catalog_path) as catalog:
        ids = add_photos(
            catalog,
            tmp_path / "Photos",
            {"a.jpg": b"A" * 4000, "sub/a copy.jpg": b"A" * 4000, "b.jpg": b"B" * 100},
        )
    return catalog_path, ids


def cli(catalog_path: Path | str, *argv: str) -> int:
    return main(["--catalog", str(catalog_path), *argv])


def cli_json(capsys: Capture, catalog_path: Path | str, *argv: str) -> dict:
    capsys.readouterr()
    assert cli(catalog_path, *argv, "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_not_duplicate_remember_list_forget(library: Library, tmp_path: Path, capsys: Capture) -> None:
    catalog_path, ids = library
    a, b = str(tmp_path / "Photos" / "a.jpg"), str(tmp_path / "Photos" / "b.jpg")
    assert cli(catalog_path, "not-duplicate", a, b) == 0
    assert "remembered 1 new pair(s) as not duplicate" in capsys.readouterr().out
    listed = cli_json(capsys, catalog_path, "not-duplicate", "--list")
    assert [(p["a"], p["b"]) for p in listed["pairs"]] == [(a, b)]
    assert cli_json(capsys, catalog_path, "not-similar", "--list")["pairs"] == []
    assert cli_json(capsys, catalog_path, "not-duplicate", a, b, "--forget")["pairs"] == 1
    assert cli(catalog_path, "not-duplicate", a, str(tmp_path / "nowhere.jpg")) == 2
    assert "not in the catalog" in capsys.readouterr().err


def test_undo_and_history_verbs(library: Library, tmp_path: Path, capsys: Capture) -> None:
    catalog_path, ids = library
    copy = tmp_path / "Photos" / "sub" / "a copy.jpg"
    with Catalog(catalog_path) as catalog:
        plan = plan_removal(catalog, [([ids["a.jpg"]], [ids["sub/a copy.jpg"]])])
        batch = execute(catalog, plan, "quarantine", tmp_path / "Q").batch_id
    assert not copy.exists()

    batches = cli_json(capsys, catalog_path, "history")["batches"]
    assert [(b["id"], b["mode"], b["status"], b["counts"], b["bytes_removed"]) for b in batches] == [
        (batch, "quarantine", "done", {"done": 1}, 4000)
    ]
    files = cli_json(capsys, catalog_path, "history", "--batch", str(batch))["files"]
    assert [(f["source"], f["state"]) for f in files] == [(str(copy), "done")]

    undone = cli_json(capsys, catalog_path, "undo")
    assert undone["batch"] == batch and [f["state"] for f in undone["files"]] == ["restored"]
    assert copy.read_bytes() == b"A" * 4000
    assert cli(catalog_path, "undo") == 0
    assert "nothing to undo" in capsys.readouterr().out
    assert cli(catalog_path, "history") == 0
    assert "undone" in capsys.readouterr().out


def test_xmp_sidecar_carries_date_and_gps(tmp_path: Path) -> None:
    donor, keeper = tmp_path / "camera.jpg", tmp_path / "export.jpg"
    gps_photo(donor, "2015:06:01 10:00:00", gps=True)
    gps_photo(keeper, None, gps=False)
    position = read_gps(donor)
    assert (position.latitude, position.longitude, position.altitude) == pytest.approx((48.858278, -2.2945, 35.5))
    assert read_gps(keeper) is None

    written = write_xmp_sidecar(keeper, "2015-06-01T10:00:00", position)
    assert written == sidecar_path(keeper) == tmp_path / "export.jpg.xmp"
    text = written.read_text()
    assert 'exif:DateTimeOriginal="2015-06-01T10:00:00"' in text
    assert 'exif:GPSLatitude="48,51.496667N"' in text and 'exif:GPSLongitude="2,17.670000W"' in text
    with pytest.raises(FileExistsError):
        write_xmp_sidecar(keeper, "2020-01-01T00:00:00", None)
    assert write_xmp_sidecar(tmp_path / "other.jpg", None, None) is None


def test_merge_metadata_gives_the_keeper_what_it_lacks(tmp_path: Path) -> None:
    photos = tmp_path / "Photos"
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        ids = add_photos(catalog, photos, {"export.jpg": b"", "camera.jpg": b""})
        gps_photo(photos / "export.jpg", None, gps=False)
        gps_photo(photos / "camera.jpg", "2015:06:01 10:00:00", gps=True)
        with catalog.session() as session:
            session.get(File, ids["camera.jpg"]).taken_at = "2015-06-01T10:00:00"
            session.get(File, ids["camera.jpg"]).has_gps = True
        plan = plan_removal(catalog, [([ids["export.jpg"]], [ids["camera.jpg"]])])
        assert merge_metadata(catalog, plan) == [photos / "export.jpg.xmp"]
        text = (photos / "export.jpg.xmp").read_text()
        assert "2015-06-01T10:00:00" in text and "exif:GPSLongitude" in text
        assert merge_metadata(catalog, plan) == []  # an existing sidecar is left alone


def test_dedupe_shows_the_plan_and_touches_nothing(library: Library, tmp_path: Path, capsys: Capture) -> None:
    catalog_path, ids = library
    before = sorted(p for p in (tmp_path / "Photos").rglob("*"))
    assert cli(catalog_path, "dedupe", "--kind", "identical") == 0
    out = capsys.readouterr().out
    assert f"keep    {tmp_path / 'Photos' / 'a.jpg'}  (shortest path)" in out
    assert f"remove  {tmp_path / 'Photos' / 'sub' / 'a copy.jpg'}  (duplicate of a.jpg: longer path)" in out
    assert "Would remove 1 file(s) and keep 1, freeing 4.0 KB (trash)" in out

    plan = cli_json(capsys, catalog_path, "dedupe", "--kind", "identical", "--prefer", str(tmp_path / "Photos" / "sub"))
    assert plan["apply"] is False and plan["bytes_freed"] == 4000
    assert [m["path"] for m in plan["groups"][0]["keep"]] == [str(tmp_path / "Photos" / "sub" / "a copy.jpg")]
    assert plan["groups"][0]["remove"][0]["reason"] == "duplicate of a copy.jpg: not in a preferred folder"
    assert sorted(p for p in (tmp_path / "Photos").rglob("*")) == before


def test_dedupe_apply_to_quarantine_then_undo(library: Library, tmp_path: Path, capsys: Capture) -> None:
    catalog_path, ids = library
    copy = tmp_path / "Photos" / "sub" / "a copy.jpg"
    done = cli_json(
        capsys, catalog_path, "dedupe", "--kind", "identical", "--apply", "--mode", f"quarantine:{tmp_path / 'Q'}"
    )
    assert [(f["source"], f["state"]) for f in done["files"]] == [(str(copy), "done")]
    assert done["bytes_freed"] == 4000 and not copy.exists()
    # Removed copies are out of the catalog's groups: a second run has nothing to do.
    assert cli_json(capsys, catalog_path, "dedupe", "--kind", "identical")["groups"] == []
    assert cli(catalog_path, "undo") == 0
    assert copy.read_bytes() == b"A" * 4000


def test_dedupe_respects_not_duplicate(library: Library, tmp_path: Path, capsys: Capture) -> None:
    catalog_path, _ = library
    photos = tmp_path / "Photos"
    assert cli(catalog_path, "not-duplicate", str(photos / "a.jpg"), str(photos / "sub" / "a copy.jpg")) == 0
    assert cli_json(capsys, catalog_path, "dedupe", "--kind", "identical")["groups"] == []


def test_dedupe_refuses_bad_input(library: Library, tmp_path: Path, capsys: Capture) -> None:
    catalog_path, _ = library
    copy = tmp_path / "Photos" / "sub" / "a copy.jpg"
    assert cli(catalog_path, "dedupe", "--kind", "identical", "--apply", "--mode", "permanent") == 2
    assert "--yes-permanently" in capsys.readouterr().err
    assert copy.exists()
    assert cli(catalog_path, "dedupe", "--rules", "resolution,prettiest") == 2
    assert "unknown keep rule(s) prettiest" in capsys.readouterr().err
    assert cli(catalog_path, "dedupe", "--mode", "quarantine") == 2
    permanently = ("--kind", "identical", "--apply", "--mode", "permanent", "--yes-permanently")
    assert cli(catalog_path, "dedupe", *permanently) == 0
    assert not copy.exists()


def test_dedupe_duplicates_of_scanned_samples_to_trash_and_back(samples: Path, tmp_path: Path, capsys: Capture) -> None:
    shutil.copy2(samples / "chelsea.jpg", samples / "copies" / "chelsea (copy).jpg")  # identical and duplicate
    catalog_path = tmp_path / "catalog.sqlite"
    assert cli(catalog_path, "scan", str(samples)) == 0
    hashes = {p: full_hash(p) for p in samples.rglob("*.*")}
    plan = cli_json(capsys, catalog_path, "dedupe", "--rules", "resolution,file_size")
    groups = {
        frozenset(Path(m["path"]).name for m in (*g["keep"], *g["remove"])): [Path(m["path"]).name for m in g["keep"]]
        for g in plan["groups"]
    }
    # One group per picture: the identical copy joins chelsea's duplicate group, the lone one stays a group.
    assert groups[frozenset({"chelsea.jpg", "chelsea (copy).jpg", "chelsea_small.jpg"})] == ["chelsea.jpg"]
    assert groups[frozenset({"astronaut.jpg", "astronaut (copy).jpg"})] == ["astronaut.jpg"]
    assert sum(len(files) for files in groups) == len(set().union(*groups))  # no file in two groups
    removed = {Path(m["path"]).name for g in plan["groups"] for m in g["remove"]}
    assert {"chelsea_small.jpg", "coffee_cropped.jpg", "chelsea (copy).jpg", "astronaut (copy).jpg"} <= removed
    assert not removed & {"chelsea.jpg", "coffee.jpg", "astronaut.jpg"}
    identical = cli_json(capsys, catalog_path, "dedupe", "--kind", "identical")
    assert {Path(m["path"]).name for g in identical["groups"] for m in g["remove"]} == {
        "chelsea (copy).jpg", "astronaut (copy).jpg"
    }  # fmt: skip

    done = cli_json(capsys, catalog_path, "dedupe", "--rules", "resolution,file_size", "--apply", "--mode", "trash")
    assert {Path(f["source"]).name for f in done["files"] if f["state"] == "done"} == removed
    assert all(not Path(f["source"]).exists() for f in done["files"])
    assert (samples / "chelsea.jpg").exists() and (samples / "astronaut.jpg").exists()
    assert cli(catalog_path, "undo") == 0
    assert {p: full_hash(p) for p in samples.rglob("*.*")} == hashes


def test_dedupe_plan_offers_the_metadata_a_removed_copy_has(samples: Path, tmp_path: Path, capsys: Capture) -> None:
    photos, exports = tmp_path / "Photos", tmp_path / "Photos" / "Exports"
    exports.mkdir(parents=True)
    gps_photo(photos / "IMG_0001.jpg", "2015:06:01 10:00:00", gps=True, picture=samples / "coffee.jpg")
    gps_photo(exports / "coffee.jpg", None, gps=False, picture=samples / "coffee.jpg")
    catalog_path = tmp_path / "catalog.sqlite"
    assert cli(catalog_path, "scan", str(photos)) == 0
    prefer = ("--prefer", str(exports))

    (group,) = cli_json(capsys, catalog_path, "dedupe", *prefer)["groups"]
    assert [m["path"] for m in group["keep"]] == [str(exports / "coffee.jpg")]
    offer = group["metadata"]
    assert offer["sidecar"] == str(exports / "coffee.jpg.xmp")
    assert (offer["taken_at"], offer["taken_from"]) == ("2015-06-01T10:00:00", str(photos / "IMG_0001.jpg"))
    assert offer["gps_from"] == str(photos / "IMG_0001.jpg")
    assert offer["gps"]["latitude"] == pytest.approx(48.858278)

    capsys.readouterr()
    assert cli(catalog_path, "dedupe", *prefer) == 0
    assert (
        "  note    the kept copy lacks the date taken and GPS of IMG_0001.jpg (removed): "
        "add --merge-metadata to save them in coffee.jpg.xmp"
    ) in capsys.readouterr().out
    assert not (exports / "coffee.jpg.xmp").exists()

    done = cli_json(capsys, catalog_path, "dedupe", *prefer, "--merge-metadata", "--apply", "--mode", "trash")
    assert done["sidecars"] == [str(exports / "coffee.jpg.xmp")]
    assert "exif:GPSLatitude" in (exports / "coffee.jpg.xmp").read_text()
    assert not (photos / "IMG_0001.jpg").exists()


def test_no_offer_when_no_removed_copy_has_metadata(library: Library, capsys: Capture) -> None:
    catalog_path, _ = library
    assert cli_json(capsys, catalog_path, "dedupe", "--kind", "identical")["groups"][0]["metadata"] is None
