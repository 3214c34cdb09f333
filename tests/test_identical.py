"""Byte-identical groups: exact against the truth, and no file read that need not be."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.hashing import PARTIAL_BLOCK, full_hash, partial_hash
from lookalike.core.matching.identical import find_identical
from lookalike.core.scan.pipeline import Scanner
from lookalike.core.catalog.schema import File


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "catalog.sqlite") as opened:
        yield opened


def _ids(catalog: Catalog) -> dict[str, int]:
    with catalog.session() as session:
        return dict(session.execute(select(File.path, File.id)).all())


def _named(groups: list[list[int]], catalog: Catalog, root: Path) -> list[list[str]]:
    rows = catalog.files([i for g in groups for i in g])
    return sorted(sorted(os.path.relpath(rows[i].path, root) for i in g) for g in groups)


def test_partial_hash_sees_size_head_and_tail_only(tmp_path: Path) -> None:
    body = os.urandom(3 * PARTIAL_BLOCK)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(body)
    b.write_bytes(body[:PARTIAL_BLOCK] + bytes(PARTIAL_BLOCK) + body[-PARTIAL_BLOCK:])  # middle differs
    c.write_bytes(body + b"!")
    assert partial_hash(a) == partial_hash(b) != partial_hash(c)
    assert full_hash(a) != full_hash(b)


def test_sample_copy_is_the_only_identical_group(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    # Same size, same head and tail, different middle: only the full hash can tell.
    body = bytearray((samples / "hubble_deep_field.jpg").read_bytes())
    assert len(body) > 2 * PARTIAL_BLOCK
    body[len(body) // 2] ^= 0xFF
    near = samples / "copies" / "hubble_altered.jpg"
    near.write_bytes(bytes(body))
    Scanner(catalog, embedder).run([samples])
    ids = _ids(catalog)

    groups = find_identical(catalog)

    assert groups == [sorted([ids[str(samples / "astronaut.jpg")], ids[str(samples / "copies" / "astronaut (copy).jpg")]])]
    rows = {r.path: r for r in catalog.files(list(ids.values())).values()}
    # The scan hashed every file it read (deletion proves content by it): grouping reads nothing again.
    assert all(r.full_hash == full_hash(p) for p, r in rows.items() if r.status == "ok")
    assert find_identical(catalog) == groups  # stored hashes reused


def test_a_file_changed_since_the_scan_is_left_out(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    Scanner(catalog, embedder).run([samples])
    (samples / "copies" / "astronaut (copy).jpg").write_bytes(b"changed")
    assert find_identical(catalog) == []


@pytest.mark.devset
def test_devset_identical_groups_equal_the_truth(devset_copy: Path, truth: dict, catalog: Catalog, embedder: Embedder) -> None:
    Scanner(catalog, embedder).run([devset_copy])

    groups = find_identical(catalog)

    assert _named(groups, catalog, devset_copy) == sorted(sorted(pair) for pair in truth["identical"])
    assert all(g == sorted(g) for g in groups)
