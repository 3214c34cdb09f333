"""Remembered verdicts survive re-opening the catalog and rescans, and nest as documented."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.review.decisions import decisions_for, excluded_pairs, forget, remember
from lookalike.core.engines.manifest import ModelManifest
from lookalike.core.review.tiers import find_groups
from lookalike.core.catalog.schema import File


@pytest.fixture
def catalog(catalog_location: Path | str) -> Catalog:
    catalog = Catalog(catalog_location)
    with catalog.session() as session:
        session.add_all(File(id=i, path=f"/p/{i}.jpg", size=1, mtime_ns=0) for i in range(1, 6))
    yield catalog
    catalog.close()


def test_group_verdict_stores_every_pair_and_survives_reopen(catalog: Catalog, catalog_location: Path | str) -> None:
    assert remember(catalog, [3, 1, 2], "not_duplicate") == 3
    assert remember(catalog, [1, 2], "not_duplicate") == 0  # already known
    catalog.close()
    with Catalog(catalog_location) as reopened:
        assert excluded_pairs(reopened, "not_duplicate") == {(1, 2), (1, 3), (2, 3)}
        assert excluded_pairs(reopened, "not_similar") == set()


def test_not_similar_implies_not_duplicate(catalog: Catalog) -> None:
    remember(catalog, [5, 4], "not_similar")
    remember(catalog, [1, 2], "not_duplicate")
    assert excluded_pairs(catalog, "not_similar") == {(4, 5)}
    assert excluded_pairs(catalog, "not_duplicate") == {(1, 2), (4, 5)}


def test_forget_by_kind_or_all(catalog: Catalog) -> None:
    remember(catalog, [1, 2, 3], "not_duplicate")
    remember(catalog, [1, 2], "not_similar")
    assert forget(catalog, [1, 2], "not_similar") == 1
    assert excluded_pairs(catalog, "not_similar") == set()
    assert forget(catalog, [2, 1, 3]) == 3
    assert decisions_for(catalog) == []


def test_decisions_for_files_and_cascade_on_file_delete(catalog: Catalog) -> None:
    remember(catalog, [1, 2], "not_duplicate")
    remember(catalog, [3, 4], "not_similar")
    assert [(d.file_a, d.file_b, d.kind) for d in decisions_for(catalog, [4])] == [(3, 4, "not_similar")]
    with catalog.session() as session:
        session.delete(session.get(File, 4))
    assert excluded_pairs(catalog, "not_duplicate") == {(1, 2)}


def test_a_verdict_covers_the_byte_identical_copies_of_its_files(catalog: Catalog) -> None:
    with catalog.session() as session:
        for file_id, content in ((2, "x"), (3, "x"), (4, "y")):
            session.get(File, file_id).full_hash = content
    remember(catalog, [1, 2], "not_duplicate")
    assert excluded_pairs(catalog, "not_duplicate") == {(1, 2), (1, 3)}  # 3 holds the bytes of 2
    remember(catalog, [2, 3], "not_similar")  # two copies of one content: nothing to spread to
    remember(catalog, [3, 4], "not_similar")
    assert excluded_pairs(catalog, "not_similar") == {(2, 3), (2, 4), (3, 4)}


def test_unknown_kind_and_single_file(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="unknown decision"):
        remember(catalog, [1, 2], "same")  # type: ignore[arg-type]
    assert remember(catalog, [1, 1], "not_duplicate") == 0


def pair_shown(groups: list, a: Path, b: Path) -> bool:
    return any({str(a), str(b)} <= {m.file.path for m in g.members} for g in groups)


def test_remembered_pairs_stay_hidden_after_rescans_at_every_threshold(
    samples: Path, tmp_path: Path, manifest: ModelManifest
) -> None:
    catalog_path = tmp_path / "catalog.sqlite"
    assert main(["--catalog", str(catalog_path), "scan", str(samples)]) == 0
    cat, cat_small = samples / "chelsea.jpg", samples / "copies" / "chelsea_small.jpg"
    cup, cup_cropped = samples / "coffee.jpg", samples / "copies" / "coffee_cropped.jpg"
    man, man_copy = samples / "astronaut.jpg", samples / "copies" / "astronaut (copy).jpg"
    with Catalog(catalog_path) as catalog:
        ids = {Path(f.path): f.id for f in catalog.files(range(1, 100)).values()}
        groups = find_groups(catalog, manifest.model_id, "duplicate")
        assert pair_shown(groups, cat, cat_small) and pair_shown(groups, cup, cup_cropped)
        remember(catalog, [ids[cat], ids[cat_small]], "not_duplicate")
        remember(catalog, [ids[cup], ids[cup_cropped]], "not_similar")
        remember(catalog, [ids[man], ids[man_copy]], "not_duplicate")

    # Another photo edited, one of a pair touched, one moved: the rescan keeps every id.
    with Image.open(samples / "rocket.jpg") as image:
        image.rotate(180).save(samples / "rocket.jpg")
    os.utime(cat_small, ns=(time.time_ns(), time.time_ns()))
    (samples / "moved").mkdir()
    cup_cropped = cup_cropped.rename(samples / "moved" / "coffee_cropped.jpg")
    # A new copy of one of a pair, short-named so that it becomes the keeper of those bytes.
    cat_copy = samples / "c.jpg"
    shutil.copy2(cat_small, cat_copy)
    assert main(["--catalog", str(catalog_path), "scan", str(samples)]) == 0

    with Catalog(catalog_path) as catalog:
        moved = ids[samples / "copies" / "coffee_cropped.jpg"]
        assert catalog.files([moved])[moved].path == str(cup_cropped)
        for threshold in (0.3, 0.6, 0.9, None):
            duplicates = [g for kind in ("identical", "duplicate") for g in find_groups(
                catalog, manifest.model_id, kind, threshold
            )]  # fmt: skip
            assert not pair_shown(duplicates, cat, cat_small), threshold
            assert not pair_shown(duplicates, cat, cat_copy), threshold
            assert not pair_shown(duplicates, cup, cup_cropped), threshold
            assert not pair_shown(duplicates, man, man_copy), threshold
        for threshold in (0.3, 0.5, None, 0.8):
            similar = find_groups(catalog, manifest.model_id, "similar", threshold)
            assert not pair_shown(similar, cup, cup_cropped), threshold
        # "Not a duplicate" still lets the two show up as similar (the small one through its keeper, c.jpg).
        assert pair_shown(find_groups(catalog, manifest.model_id, "similar", 0.5), cat, cat_copy)
