"""Remembered verdicts survive re-opening the catalog and nest as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookalike.core.catalog import Catalog
from lookalike.core.decisions import decisions_for, excluded_pairs, forget, remember
from lookalike.core.schema import File


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    with catalog.session() as session:
        session.add_all(File(id=i, path=f"/p/{i}.jpg", size=1, mtime_ns=0) for i in range(1, 6))
    yield catalog
    catalog.close()


def test_group_verdict_stores_every_pair_and_survives_reopen(catalog: Catalog) -> None:
    assert remember(catalog, [3, 1, 2], "not_duplicate") == 3
    assert remember(catalog, [1, 2], "not_duplicate") == 0  # already known
    catalog.close()
    with Catalog(catalog.path) as reopened:
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


def test_unknown_kind_and_single_file(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="unknown decision"):
        remember(catalog, [1, 2], "same")  # type: ignore[arg-type]
    assert remember(catalog, [1, 1], "not_duplicate") == 0
