"""GroupPages: a page of a review view equals that slice of the fully evaluated, sorted
list, while only the groups needed have their keepers chosen; `lookalike duplicates`
prints them page by page with the same count and total."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from generated_photos import copied_pictures
from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings
from lookalike.core.engines.embedder import Embedder
from lookalike.core.paths import resources_dir
from lookalike.core.review.keeprules import human_bytes
from lookalike.core.review import tiers
from lookalike.core.review.tiers import VIEWS, ReviewGroup, view_pages
from lookalike.core.scan.pipeline import Scanner

ORIGINALS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "hubble_deep_field.jpg", "rocket.jpg")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A scanned catalog of 20 pictures with resized, re-encoded and byte-identical copies."""
    root = tmp_path_factory.mktemp("pages")
    copied_pictures(root / "photos", [resources_dir() / "samples" / name for name in ORIGINALS])
    with Catalog(root / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder, workers=2).run([root / "photos"])
    return root / "catalog.sqlite"


def shown(groups: list[ReviewGroup]) -> list[tuple[object, ...]]:
    """What a view shows of each group, comparable across catalog sessions."""
    return [
        (g.kind, g.representative_id, g.reclaimable, [(m.file.id, m.similarity, m.keep, m.reason) for m in g.members])
        for g in groups
    ]


@pytest.mark.parametrize("view", VIEWS)
def test_pages_equal_the_full_evaluation(library: Path, embedder: Embedder, view: str) -> None:
    with Catalog(library) as catalog:
        full = view_pages(catalog, embedder.model_id, view, settings=Settings()).all()  # type: ignore[arg-type]
        if view == "duplicate":
            assert len(full) >= 15  # several groups, of copies made above
            assert any(len(g.members) > 2 for g in full)
        for limit in (1, 2, 5):
            pages = view_pages(catalog, embedder.model_id, view, settings=Settings())  # type: ignore[arg-type]
            assert len(pages) == len(full)
            paged = [pages.page(offset, limit) for offset in range(0, len(full) + limit, limit)]
            assert all(len(p) == limit for p in paged[: len(full) // limit])
            assert shown([g for p in paged for g in p]) == shown(full)
        pages = view_pages(catalog, embedder.model_id, view, settings=Settings())  # type: ignore[arg-type]
        assert shown(pages.page(3, 4)) == shown(full[3:7])  # a page deep in, asked first


def test_first_page_chooses_few_keepers(library: Path, embedder: Embedder) -> None:
    with Catalog(library) as catalog:
        pages = view_pages(catalog, embedder.model_id, "duplicate", settings=Settings())
        waiting = pages.pending
        first = pages.page(0, 2)
        assert len(first) == 2
        assert 0 < pages.pending < waiting  # some keepers chosen, not every one
        photos = pages.photos
        total = pages.reclaimable()
        assert 0 < pages.pending < waiting  # the total holds no group: the pages choose their own
        full = pages.all()
        assert total == sum(g.reclaimable for g in full) > 0
        assert photos == sum(len(g.members) for g in full)
        assert shown(pages.page(0, len(full))) == shown(full)


def test_duplicates_text_streams_what_json_lists(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalog", str(library), "duplicates", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert main(["--catalog", str(library), "duplicates"]) == 0
    text = capsys.readouterr().out
    headers = [line for line in text.splitlines() if line.startswith("Group ")]
    assert [h.split(" (")[0] for h in headers] == [f"Group {n}" for n in range(1, len(groups) + 1)]
    assert all(f"{len(g['files'])} files" in h for g, h in zip(groups, headers))
    total = human_bytes(sum(g["reclaimable"] for g in groups))
    assert text.rstrip().endswith(f"{len(groups)} groups; removing the copies not kept would free {total}.")


def test_views_filled_side_by_side_show_what_each_shows_alone(library: Path, embedder: Embedder) -> None:
    """As the app fills its tabs: every view's pages and the Duplicates total on threads at
    once, from one catalog (the looser views share the copies they leave out, the total
    waits on their keepers), give what each gives alone."""
    settings = Settings()
    with Catalog(library) as catalog:
        alone = {view: shown(view_pages(catalog, embedder.model_id, view, settings=settings).all()) for view in VIEWS}
        total = view_pages(catalog, embedder.model_id, "duplicate", settings=settings).reclaimable()
    assert alone["burst"] or alone["similar"]  # the looser views have groups to collapse copies from
    with Catalog(library) as catalog, ThreadPoolExecutor(len(VIEWS) + 1) as pool:
        pages = {view: pool.submit(lambda v: shown(view_pages(catalog, embedder.model_id, v, settings=settings).all()), view) for view in VIEWS}
        summed = pool.submit(lambda: view_pages(catalog, embedder.model_id, "duplicate", settings=settings).reclaimable())
        assert {view: future.result(60) for view, future in pages.items()} == alone
        assert summed.result(60) == total


def test_the_total_waits_while_copies_are_chosen_and_a_regroup_does_not(library: Path, embedder: Embedder) -> None:
    """While the looser tiers' hidden copies are being chosen, the Duplicates total waits
    rather than choosing the same keepers beside them; regrouping a view never waits."""
    with Catalog(library) as catalog:
        expected = view_pages(catalog, embedder.model_id, "duplicate", settings=Settings()).reclaimable()
    with Catalog(library) as catalog, ThreadPoolExecutor(2) as pool:
        pages = view_pages(catalog, embedder.model_id, "duplicate", settings=Settings())
        with tiers._choosing(catalog):  # as `_hidden_copies` marks it
            assert view_pages(catalog, embedder.model_id, "duplicate", settings=Settings()).page(0, 2)
            total = pool.submit(pages.reclaimable)
            time.sleep(0.5)
            assert not total.done()
            stop = threading.Event()  # a total no longer shown stops waiting when cancelled
            dropped = pool.submit(view_pages(catalog, embedder.model_id, "duplicate", settings=Settings()).reclaimable, stop.is_set)
            stop.set()
            assert dropped.result(5) is None
        assert total.result(60) == expected
