"""find_groups: the three tiers on real scans, decisions, regrouping without search, the CLI verbs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings
from lookalike.core.review.decisions import remember, remember_keeper, remembered, revoke
from lookalike.core.engines.embedder import Embedder
from lookalike.core.matching.graph import graph_path
from lookalike.core.engines.index import sidecar_path
from lookalike.core.removal.deletion import plan_from_review
from lookalike.core.review.tiers import ReviewGroup, find_groups, picture_groups, view_groups, view_pages
from lookalike.core.scan.pipeline import Scanner

#: The similar threshold calibrated on the devset (docs/calibration.md).
SIMILAR = 0.62


def names(groups: list[ReviewGroup], root: Path) -> list[set[str]]:
    return [{Path(m.file.path).relative_to(root).as_posix() for m in g.members} for g in groups]


def scan(root: Path, catalog_path: Path, embedder: Embedder) -> Catalog:
    catalog = Catalog(catalog_path)
    Scanner(catalog, embedder, workers=2).run([root])
    return catalog


@pytest.fixture
def sampled(samples: Path, tmp_path: Path, embedder: Embedder) -> Catalog:
    with scan(samples, tmp_path / "cat" / "catalog.sqlite", embedder) as catalog:
        yield catalog


def test_sample_tiers(sampled: Catalog, samples: Path, embedder: Embedder) -> None:
    model = embedder.model_id
    identical = find_groups(sampled, model, "identical", settings=Settings())
    assert names(identical, samples) == [{"astronaut.jpg", "copies/astronaut (copy).jpg"}]
    assert [m.keep for m in identical[0].members] == [True, False]  # the keeper represents the group
    assert identical[0].representative_id == identical[0].members[0].file.id

    duplicates = find_groups(sampled, model, "duplicate", settings=Settings())
    assert sorted(map(sorted, names(duplicates, samples))) == [
        ["chelsea.jpg", "copies/chelsea_small.jpg"],
        ["coffee.jpg", "copies/coffee_cropped.jpg"],
        ["copies/rocket_gray.png", "copies/rocket_rotated.jpg", "rocket.jpg"],
    ]
    reclaimable = [g.reclaimable for g in duplicates]
    assert reclaimable == sorted(reclaimable, reverse=True)
    for group in duplicates:
        assert sum(m.keep for m in group.members) == 1 and all(m.reason for m in group.members)
        assert group.members[0].file.id == group.representative_id and group.members[0].similarity == 1.0
        assert all(m.similarity >= Settings().duplicate_threshold for m in group.members)


@pytest.fixture
def with_detail(detailed_samples: Path, tmp_path: Path, embedder: Embedder) -> Catalog:
    with scan(detailed_samples, tmp_path / "cat" / "catalog.sqlite", embedder) as catalog:
        yield catalog


def test_similar_tier_shows_distinct_pictures(with_detail: Catalog, samples: Path, embedder: Embedder) -> None:
    settings = Settings()
    duplicate_sets = [
        {m.file.id for m in g.members}
        for kind in ("identical", "duplicate")
        for g in find_groups(with_detail, embedder.model_id, kind, settings=settings)
    ]
    similar = find_groups(with_detail, embedder.model_id, "similar", settings=settings)
    assert [len(g.members) for g in similar] == [2]
    (group,) = names(similar, samples)
    assert "coffee_detail.jpg" in group and group & {"coffee.jpg", "copies/coffee_cropped.jpg"}  # one copy: the keeper
    for group in similar:
        ids = {m.file.id for m in group.members}
        assert all(len(ids & copies) <= 1 for copies in duplicate_sets)


def test_the_similar_tier_follows_the_keeper_of_copies_as_it_changes(
    with_detail: Catalog, detailed_samples: Path, embedder: Embedder
) -> None:
    """Which copy stands for coffee's duplicates in the similar tier is worked out once and
    kept until what chooses it changes: a remembered keeper, the settings, or the catalog's
    rows (a copy moved into a preferred folder, which a rescan finds: same file, same vector)."""
    model, root = embedder.model_id, detailed_samples
    (coffee,) = [g for g in find_groups(with_detail, model, "duplicate", settings=Settings())
                 if "coffee.jpg" in {Path(m.file.path).name for m in g.members}]  # fmt: skip
    copies = {m.file.id for m in coffee.members}

    def shown(settings: Settings) -> set[int]:
        (group,) = find_groups(with_detail, model, "similar", settings=settings)
        return {m.file.id for m in group.members} & copies

    picked = root / "picked"
    settings = Settings(preferred_folders=[str(picked)])
    first = shown(settings)
    assert len(first) == 1 and shown(settings) == first
    (kept,), (other,) = first, copies - first
    remember_keeper(with_detail, other, [kept])
    assert shown(settings) == {other}
    (choice,) = remembered(with_detail, ["keep"])
    revoke(with_detail, choice.id)
    assert shown(settings) == {kept}
    assert shown(Settings(preferred_folders=[str(Path(with_detail.files([other])[other].path).parent)])) == {other}

    assert shown(settings) == {kept}
    picked.mkdir()
    moved = Path(with_detail.files([other])[other].path)
    moved.rename(picked / moved.name)
    Scanner(with_detail, embedder, workers=1).run([root])
    assert with_detail.files([other])[other].path == str(picked / moved.name)  # the same file, moved
    assert shown(settings) == {other}


def test_decisions_keep_pairs_apart(sampled: Catalog, samples: Path, embedder: Embedder) -> None:
    model, settings = embedder.model_id, Settings(similar_threshold=SIMILAR)
    chelsea = [m.file.id for g in find_groups(sampled, model, "duplicate", settings=settings)
               for m in g.members if "chelsea" in m.file.path]  # fmt: skip
    assert len(chelsea) == 2

    def grouped(kind: str) -> list[set[str]]:
        return names(find_groups(sampled, model, kind, settings=settings), samples)  # type: ignore[arg-type]

    pair = {"chelsea.jpg", "copies/chelsea_small.jpg"}
    remember(sampled, chelsea, "not_duplicate")
    assert not any(pair & g for g in grouped("duplicate"))
    assert pair in grouped("similar")  # "not a duplicate" still allows "similar"
    remember(sampled, chelsea, "not_similar")
    assert not any(pair & g for g in grouped("similar"))

    astronauts = [m.file.id for g in find_groups(sampled, model, "identical", settings=settings) for m in g.members]
    remember(sampled, astronauts, "not_duplicate")
    assert find_groups(sampled, model, "identical", settings=settings) == []


def test_regrouping_reuses_the_graph(sampled: Catalog, embedder: Embedder) -> None:
    model = embedder.model_id
    strict = find_groups(sampled, model, "duplicate", 0.999, Settings())
    index = sampled.index_path(model)
    assert index.is_file() and graph_path(sampled, model).is_file()
    index.unlink()
    sidecar_path(index).unlink()
    # Without the index a new search would have to rebuild it: regrouping must not.
    loose = find_groups(sampled, model, "duplicate", 0.9, Settings())
    assert len(strict) < len(loose)
    find_groups(sampled, model, "similar", 0.5, Settings())
    assert not index.exists()


def test_a_rescan_shows_in_the_groups(sampled: Catalog, samples: Path, embedder: Embedder) -> None:
    model = embedder.model_id
    before = find_groups(sampled, model, "duplicate", settings=Settings())
    with Image.open(samples / "hubble_deep_field.jpg") as im:
        im.save(samples / "hubble_again.webp", quality=80)
    Scanner(sampled, embedder, workers=1).run([samples])
    after = names(find_groups(sampled, model, "duplicate", settings=Settings()), samples)
    assert len(after) == len(before) + 1 and {"hubble_deep_field.jpg", "hubble_again.webp"} in after

    (samples / "hubble_again.webp").unlink()
    Scanner(sampled, embedder, workers=1).run([samples])
    assert len(find_groups(sampled, model, "duplicate", settings=Settings())) == len(before)


def test_another_writers_scan_shows_in_the_groups(sampled: Catalog, samples: Path, embedder: Embedder) -> None:
    """The app regroups from what it has kept until the catalog changes; a scan in another
    process (here another catalog object: its own connections) is such a change."""
    model = embedder.model_id
    before = names(find_groups(sampled, model, "duplicate", settings=Settings()), samples)
    identical = len(find_groups(sampled, model, "identical", settings=Settings()))
    with Image.open(samples / "hubble_deep_field.jpg") as im:
        im.save(samples / "hubble_again.webp", quality=80)
    shutil.copyfile(samples / "coffee.jpg", samples / "coffee_twin.jpg")
    with Catalog(sampled.path) as elsewhere:
        Scanner(elsewhere, embedder, workers=1).run([samples])
    after = names(find_groups(sampled, model, "duplicate", settings=Settings()), samples)
    assert sorted(map(sorted, after)) == sorted(map(sorted, [*before, {"hubble_deep_field.jpg", "hubble_again.webp"}]))
    assert len(find_groups(sampled, model, "identical", settings=Settings())) == identical + 1


def test_bad_threshold_or_kind(sampled: Catalog, embedder: Embedder) -> None:
    for threshold in (0.0, -0.2, 1.5):
        with pytest.raises(ValueError, match="threshold"):
            find_groups(sampled, embedder.model_id, "similar", threshold, Settings())
    with pytest.raises(ValueError, match="kind"):
        find_groups(sampled, embedder.model_id, "alike", None, Settings())  # type: ignore[arg-type]


def test_empty_catalog_has_no_groups(tmp_path: Path) -> None:
    with Catalog(tmp_path / "empty.sqlite") as catalog:
        for kind in ("identical", "duplicate", "similar"):
            assert find_groups(catalog, "model:0", kind, settings=Settings()) == []  # type: ignore[arg-type]


# --- the CLI verbs ----------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], catalog: Catalog, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--catalog", str(catalog.path), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_duplicates_and_similar_json(
    sampled: Catalog, samples: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, sampled, "duplicates", "--json")
    assert code == 0
    groups = json.loads(out)["groups"]
    assert sorted(g["kind"] for g in groups) == ["duplicate", "duplicate", "duplicate", "identical"]
    # The app's Duplicates tab lists the same groups (one per picture), in the same order.
    listed = view_groups(sampled, embedder.model_id, "duplicate", settings=Settings())
    assert [[f["path"] for f in g["files"]] for g in groups] == [[m.file.path for m in g.members] for g in listed]
    assert [g["reclaimable"] for g in groups] == [g.reclaimable for g in listed]
    for group in groups:
        for file in group["files"]:
            assert set(file) == {"id", "path", "similarity", "keep", "reason", "width", "height", "size"}
            assert Path(file["path"]).is_absolute() and Path(file["path"]).is_file()
            assert isinstance(file["keep"], bool) and file["width"] > 0 and file["size"] > 0
        assert sum(f["keep"] for f in group["files"]) == 1

    code, out, _ = run_cli(capsys, sampled, "duplicates")
    assert code == 0 and "keep" in out and str(samples / "chelsea.jpg") in out


def test_similar_json(with_detail: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, with_detail, "similar", "--json")
    similar = json.loads(out)["groups"]
    assert code == 0 and {g["kind"] for g in similar} == {"similar"} and len(similar) == 1
    assert {g["reclaimable"] for g in similar} == {0}  # different shots: nothing "could free"


@pytest.mark.parametrize("verb", ["duplicates", "similar"])
@pytest.mark.parametrize("threshold", ["0", "1.01", "-1"])
def test_threshold_out_of_range_exits_2(
    sampled: Catalog, capsys: pytest.CaptureFixture[str], verb: str, threshold: str
) -> None:
    code, out, err = run_cli(capsys, sampled, verb, "--threshold", threshold)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "threshold" in err


def test_picture_groups_hold_identical_copies_with_one_keeper(samples: Path, tmp_path: Path, embedder: Embedder) -> None:
    """A picture with a byte-identical copy and a resized copy is one group to remove extras from.

    Planned tier by tier, the identical group keeps a file the duplicate group
    removes (its keeper loses to the larger original there), and the plan is refused.
    """
    small = tmp_path / "library"
    small.mkdir()
    with Image.open(samples / "coffee.jpg") as image:
        image.resize((image.width // 3, image.height // 3)).save(small / "coffee_small.jpg", quality=90)
    (small / "coffee_small (copy).jpg").write_bytes((small / "coffee_small.jpg").read_bytes())
    (small / "coffee.jpg").write_bytes((samples / "coffee.jpg").read_bytes())
    with scan(small, tmp_path / "catalog.sqlite", embedder) as catalog:
        tiers = find_groups(catalog, embedder.model_id, "identical") + find_groups(catalog, embedder.model_id, "duplicate")
        with pytest.raises(ValueError):
            plan_from_review(catalog, tiers)
        (group,) = picture_groups(catalog, embedder.model_id)
        assert names([group], small) == [{"coffee.jpg", "coffee_small.jpg", "coffee_small (copy).jpg"}]
        assert [Path(m.file.path).name for m in group.members if m.keep] == ["coffee.jpg"]
        assert len(plan_from_review(catalog, [group]).removals) == 2


# --- the devset -------------------------------------------------------------------


@pytest.fixture(scope="module")
def devset_catalog(devset: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    with scan(devset, tmp_path_factory.mktemp("devset-catalog") / "catalog.sqlite", embedder) as catalog:
        yield catalog


@pytest.mark.devset
def test_devset_tiers(devset_catalog: Catalog, devset: Path, truth: dict, embedder: Embedder) -> None:
    model, settings = embedder.model_id, Settings(similar_threshold=SIMILAR)
    identical = names(find_groups(devset_catalog, model, "identical", settings=settings), devset)
    assert sorted(map(sorted, identical)) == sorted(map(sorted, truth["identical"]))

    duplicates = names(find_groups(devset_catalog, model, "duplicate", settings=settings), devset)
    for original, *copies in truth["groups"]:
        (home,) = [g for g in duplicates if original in g]
        assert set(copies) <= home  # every kind, copies saved sideways without a tag too
        assert home <= {original, *copies}  # nothing else: no distractor, no other photo
    distractors = set(truth["distractors"])
    assert not any(g & distractors for g in duplicates)
    assert not any({a, b} <= g for g in duplicates for a, b in truth["similar"])

    similar = names(find_groups(devset_catalog, model, "similar", settings=settings), devset)
    assert sorted(map(sorted, similar)) == sorted(map(sorted, truth["similar"]))


@pytest.mark.devset
def test_devset_pages_equal_the_full_lists(devset_catalog: Catalog, embedder: Embedder) -> None:
    """Each view's groups a page at a time are the full list's, keepers and all."""
    settings = Settings(similar_threshold=SIMILAR)

    def shown(groups: list[ReviewGroup]) -> list[tuple[object, ...]]:
        return [(g.representative_id, [(m.file.id, m.keep, m.reason) for m in g.members]) for g in groups]

    for view in ("duplicate", "burst", "similar"):
        full = view_groups(devset_catalog, embedder.model_id, view, settings=settings)  # type: ignore[arg-type]
        pages = view_pages(devset_catalog, embedder.model_id, view, settings=settings)  # type: ignore[arg-type]
        paged = [g for offset in range(0, len(full), 7) for g in pages.page(offset, 7)]
        assert len(pages) == len(full) and shown(paged) == shown(full), view
    assert len(full) > 0
