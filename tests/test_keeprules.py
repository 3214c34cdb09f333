"""Keep rules: each rule picks the copy a person would keep and says why in words."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lookalike.cli import main
from lookalike.core.review import keeprules
from lookalike.core.review.keeprules import (
    DEFAULT_RULES,
    RULES,
    choose_keeper,
    human_bytes,
    normalise_folders,
    normalise_rules,
)
from lookalike.core.catalog.schema import File


def photo(id: int, path: str, **fields) -> File:
    values = dict(size=1_000_000, width=1000, height=800, format="JPEG", taken_at=None, has_gps=False, grey=False)
    values.update(fields)
    return File(id=id, path=path, mtime_ns=0, **values)


def test_registry_has_labels_and_default_order() -> None:
    assert DEFAULT_RULES == [
        "preferred_folder", "original", "colour", "resolution", "format", "metadata", "date_taken", "file_size",
        "shortest_path",
    ]  # fmt: skip
    assert set(DEFAULT_RULES) == set(RULES)
    assert all(rule.label for rule in RULES.values())


def test_default_order_keeps_the_camera_copy_over_a_slightly_larger_resave() -> None:
    original = photo(1, "/p/IMG_1.jpg", size=108_401)
    mirrored = photo(2, "/p/IMG_1 (mirrored).jpg", size=109_866)  # 1% larger: noise of re-saving
    recompressed = photo(3, "/p/x.jpg", size=41_958)  # shortest path, but clearly compressed harder
    keeper, reasons = choose_keeper([mirrored, recompressed, original])
    assert keeper == 1
    assert reasons[1] == "about the largest file (108.4 KB); shortest path"
    assert reasons[2] == "duplicate of IMG_1.jpg: longer path"
    assert reasons[3] == "duplicate of IMG_1.jpg: smaller file (42.0 KB)"


def test_default_order_puts_exif_before_file_size() -> None:
    camera = photo(1, "/p/deep/folder/IMG_1.jpg", size=900_000, taken_at="2015-06-01T10:00:00", has_gps=True)
    export = photo(2, "/p/IMG_1.jpg", size=3_000_000)  # a re-save at higher quality, EXIF stripped
    keeper, reasons = choose_keeper([export, camera])
    assert keeper == 1
    assert reasons[2] == "duplicate of /p/deep/folder/IMG_1.jpg: missing EXIF date and GPS"


def test_default_order_still_prefers_pixels_and_format_over_metadata() -> None:
    thumb = photo(1, "/p/a.jpg", width=160, height=120, taken_at="2015-06-01T10:00:00", has_gps=True)
    raw = photo(2, "/p/a.nef", format="RAW", width=160, height=120)
    full = photo(3, "/p/b.jpg", width=4000, height=3000)
    keeper, reasons = choose_keeper([thumb, raw, full])
    assert keeper == 3
    assert reasons[1] == "duplicate of b.jpg: lower resolution (160×120)"
    keeper, reasons = choose_keeper([thumb, raw])
    assert keeper == 2
    assert reasons[1] == "duplicate of a.nef: less original format (JPEG)"


def test_size_tolerance_counts_only_the_copies_still_in_the_running() -> None:
    grey = photo(1, "/p/rocket_gray.png", format="PNG", size=111_721, grey=True)  # out on the colour rule
    colour = photo(2, "/p/rocket.jpg", size=52_000)
    turned = photo(3, "/p/rocket_rotated.jpg", size=47_340)  # 9% smaller than rocket.jpg, not 58%
    keeper, reasons = choose_keeper([grey, colour, turned], ["colour", "file_size", "shortest_path"])
    assert keeper == 2
    assert reasons == {
        2: "in colour; shortest path",
        1: "duplicate of rocket.jpg: greyscale",
        3: "duplicate of rocket.jpg: longer path",
    }


def test_normalise_rules_forgives_spelling_and_refuses_unknown_names() -> None:
    assert normalise_rules([" Resolution", "file-size", "resolution", "", "Shortest Path"]) == [
        "resolution", "file_size", "shortest_path"
    ]  # fmt: skip
    assert normalise_rules([]) == DEFAULT_RULES
    assert normalise_rules([]) is not DEFAULT_RULES  # a caller may edit its copy
    with pytest.raises(ValueError) as refused:
        normalise_rules(["resolution", "prettiest"])
    assert str(refused.value).startswith("unknown keep rule(s) prettiest; known: preferred_folder, original, colour")


def test_normalise_folders_gives_real_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Archive").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "Archive")
    monkeypatch.chdir(tmp_path)
    archive = str((tmp_path / "Archive").resolve())
    assert normalise_folders(["Archive", "  ", str(tmp_path / "link"), "x/../Archive", "~/Inbox"]) == [
        archive, str(Path.home().resolve() / "Inbox")
    ]  # fmt: skip


def test_highest_resolution_wins() -> None:
    big = photo(1, "/p/b.jpg", width=4000, height=3000)
    small = photo(2, "/p/a.jpg", width=2000, height=1500)
    keeper, reasons = choose_keeper([small, big], ["resolution"])
    assert keeper == 1
    assert reasons[1] == "highest resolution (4000×3000)"
    assert reasons[2] == "duplicate of b.jpg: lower resolution (2000×1500)"


def test_largest_file_wins() -> None:
    keeper, reasons = choose_keeper(
        [photo(1, "/p/a.jpg", size=1_500_000), photo(2, "/p/b.jpg", size=4_200_000)], ["file_size"]
    )
    assert keeper == 2
    assert reasons[2] == "largest file (4.2 MB)"
    assert reasons[1] == "duplicate of b.jpg: smaller file (1.5 MB)"


def test_sizes_within_ten_percent_of_the_largest_tie() -> None:
    files = [photo(1, "/p/a.jpg", size=1_000_000), photo(2, "/p/bb.jpg", size=1_090_000)]
    keeper, reasons = choose_keeper(files, ["file_size", "shortest_path"])
    assert keeper == 1
    assert reasons == {1: "shortest path", 2: "duplicate of a.jpg: longer path"}
    files.append(photo(3, "/p/ccc.jpg", size=880_000))  # 19% below the largest
    keeper, reasons = choose_keeper(files, ["file_size", "shortest_path"])
    assert keeper == 1
    assert reasons[1] == "about the largest file (1.0 MB); shortest path"
    assert reasons[3] == "duplicate of a.jpg: smaller file (880.0 KB)"


@pytest.mark.parametrize(
    ("better", "worse"),
    [("RAW", "TIFF"), ("TIFF", "JPEG"), ("PNG", "WEBP"), ("HEIF", "AVIF"), ("JPEG", "GIF")],
)
def test_original_format_ranks(better: str, worse: str) -> None:
    files = [photo(1, "/p/a", format=worse, camera="Apple iPhone 12"), photo(2, "/p/b", format=better, camera="Apple iPhone 12")]
    keeper, reasons = choose_keeper(files, ["format"])
    assert keeper == 2
    assert reasons[2] == f"original format ({better})"
    assert reasons[1] == f"duplicate of b: less original format ({worse})"


def test_heif_without_the_camera_metadata_ranks_as_a_lossy_conversion() -> None:
    phone = photo(1, "/p/IMG_1.heic", format="HEIF", camera="Apple iPhone 12")
    converted = photo(2, "/p/b-converted.heic", format="HEIF")
    jpeg = photo(3, "/p/b.jpg", format="JPEG")
    assert choose_keeper([jpeg, phone], ["format"])[0] == 1
    keeper, reasons = choose_keeper([converted, jpeg], ["format", "shortest_path"])
    assert keeper == 3 and reasons[2] == "duplicate of b.jpg: longer path"  # a tie on format


def test_format_falls_back_to_extension() -> None:
    keeper, _ = choose_keeper([photo(1, "/p/a.jpg", format=None), photo(2, "/p/a.nef", format=None)], ["format"])
    assert keeper == 2


def test_oldest_date_taken_wins_and_any_date_beats_none() -> None:
    old = photo(1, "/p/old.jpg", taken_at="2015-06-01T10:00:00")
    new = photo(2, "/p/new.jpg", taken_at="2020-01-01T09:30:00")
    undated = photo(3, "/p/undated.jpg")
    keeper, reasons = choose_keeper([new, undated, old], ["date_taken"])
    assert keeper == 1
    assert reasons[1] == "oldest date taken (2015-06-01 10:00)"
    assert reasons[2] == "duplicate of old.jpg: later date taken (2020-01-01 09:30)"
    assert reasons[3] == "duplicate of old.jpg: no date taken"


def test_metadata_counts_date_and_gps() -> None:
    rich = photo(1, "/p/z.jpg", taken_at="2015-06-01T10:00:00", has_gps=True)
    poor = photo(2, "/p/a.jpg")
    keeper, reasons = choose_keeper([poor, rich], ["metadata"])
    assert keeper == 1
    assert reasons[1] == "has EXIF date and GPS"
    assert reasons[2] == "duplicate of z.jpg: missing EXIF date and GPS"


def test_preferred_folders_in_order() -> None:
    files = [
        photo(1, "/Photos/Inbox/x.jpg"),
        photo(2, "/Photos/Archive/2019/x.jpg"),
        photo(3, "/Photos/Backup/x.jpg"),
    ]
    keeper, reasons = choose_keeper(files, ["preferred_folder"], ["/Photos/Archive", "/Photos/Backup"])
    assert keeper == 2
    assert reasons[2] == "in preferred folder /Photos/Archive"
    # Same file names: the keeper is named by its full path.
    assert reasons[3] == "duplicate of /Photos/Archive/2019/x.jpg: in a less preferred folder (/Photos/Backup)"
    assert reasons[1] == "duplicate of /Photos/Archive/2019/x.jpg: not in a preferred folder"


def test_preferred_folder_is_not_a_name_prefix_match() -> None:
    files = [photo(1, "/Photos/Archive2/x.jpg"), photo(2, "/Photos/b.jpg")]
    keeper, _ = choose_keeper(files, ["preferred_folder", "shortest_path"], ["/Photos/Archive"])
    assert keeper == 2


def test_shortest_path_wins() -> None:
    keeper, reasons = choose_keeper([photo(1, "/p/deep/er/a.jpg"), photo(2, "/p/a.jpg")], ["shortest_path"])
    assert keeper == 2
    assert reasons == {2: "shortest path", 1: "duplicate of /p/a.jpg: longer path"}


def test_rules_apply_in_order_and_keeper_lists_each_deciding_rule() -> None:
    raw = photo(1, "/p/a.nef", format="RAW", width=4000, height=3000)
    jpeg = photo(2, "/p/b.jpg", format="JPEG", width=4000, height=3000)
    small = photo(3, "/p/c.jpg", format="RAW", width=400, height=300)
    keeper, reasons = choose_keeper([small, jpeg, raw])
    assert keeper == 1
    assert reasons[1] == "highest resolution (4000×3000); original format (RAW)"
    assert reasons[2] == "duplicate of a.nef: less original format (JPEG)"
    assert reasons[3] == "duplicate of a.nef: lower resolution (400×300)"


def test_ties_break_on_path_deterministically() -> None:
    files = [photo(3, "/p/c.jpg"), photo(1, "/p/b.jpg"), photo(2, "/p/a.jpg")]
    for order in (files, files[::-1]):
        keeper, reasons = choose_keeper(order)
        assert keeper == 2
        assert reasons[1] == "duplicate of a.jpg: same on every rule (kept the first by path)"


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown keep rule"):
        choose_keeper([photo(1, "/p/a.jpg")], ["prettiest"])


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (999, 1536, 4_200_000, 3 * 10**12)] == ["999 B", "1.5 KB", "4.2 MB", "3.0 TB"]



def test_colour_copy_is_kept_over_a_larger_greyscale_one() -> None:
    colour = photo(1, "/p/photo.jpg", width=800, height=600, grey=False)
    grey = photo(2, "/p/photo_bw.png", width=1600, height=1200, format="PNG", size=9_000_000, grey=True)
    keeper, reasons = choose_keeper([grey, colour])
    assert keeper == 1
    assert reasons[2] == "duplicate of photo.jpg: greyscale"
    assert reasons[1] == "in colour"


def test_similar_groups_word_the_reason_as_similar() -> None:
    big = photo(1, "/p/a.jpg", width=20, height=20)
    small = photo(2, "/p/b.jpg", width=10, height=10)
    _, reasons = choose_keeper([big, small], ["resolution"], relation="similar to")
    assert reasons[2] == "similar to a.jpg: lower resolution (10×10)"


def test_devset_original_is_kept_over_its_mirrored_and_turned_copies(devset: Path, tmp_path: Path, capsys) -> None:
    """On real files: s009's copies are as large or larger, only their names say they are copies."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for source in devset.glob("s009_*"):
        shutil.copy2(source, photos / source.name)
    catalog = str(tmp_path / "catalog.sqlite")
    assert main(["--catalog", catalog, "scan", str(photos)]) == 0
    capsys.readouterr()
    assert main(["--catalog", catalog, "dedupe", "--json"]) == 0
    (group,) = json.loads(capsys.readouterr().out)["groups"]
    assert [Path(m["path"]).name for m in group["keep"]] == ["s009_orig.jpg"]
    reasons = {Path(m["path"]).name: m["reason"] for m in group["remove"]}
    assert reasons["s009_hflip.jpg"] == "duplicate of s009_orig.jpg: a mirrored copy"
    assert reasons["s009_jpeg_q35.jpg"] == "duplicate of s009_orig.jpg: smaller file (42.0 KB)"


def test_turns_name_the_way_each_copy_lies() -> None:
    """Each of the 8 ways (quarter turns, then mirrored and turned) is told apart from its
    inverse: the way named is the one that lays the copy back onto the reference. A flat
    copy or an unrelated picture lies no clear way (0)."""
    reference = np.random.default_rng(3).integers(0, 255, (32, 32)).astype(np.float32)
    laid = [reference.ravel()[np.argsort(keeprules._WAYS[way])].reshape(32, 32) for way in range(8)]
    assert all((copy.ravel()[keeprules._WAYS[way]] == reference.ravel()).all() for way, copy in enumerate(laid))
    assert keeprules._turns(reference, laid) == list(range(8))
    unrelated = np.random.default_rng(4).integers(0, 255, (32, 32)).astype(np.float32)
    assert keeprules._turns(reference, [np.full((32, 32), 9.0, np.float32), unrelated]) == [0, 0]

