"""Byte-identical groups: exact against the truth, and no file read that need not be."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import sqlite

from lookalike.core.catalog.store import Catalog, same_size_statement
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


def test_only_sizes_that_may_hold_twins_among_ok_files_are_read(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    Scanner(catalog, embedder).run([samples])
    ids = sorted(_ids(catalog).values())[:8]
    a, b, c, d, e, f, g, h = ids
    rows = {  # (size, status, partial hash) given to eight scanned files
        a: (1, "ok", "x"), b: (1, "ok", "x"),  # shared partial hash: read
        c: (2, "ok", "x"), d: (2, "ok", "y"),  # distinct partial hashes: no twins
        e: (3, "ok", None), f: (3, "ok", "z"),  # a hash not known yet: read
        g: (4, "ok", "w"), h: (4, "missing", "w"),  # one ok file of its size only
    }
    with catalog.session() as session:
        session.execute(update(File), [{"id": i, "size": s, "status": st, "partial_hash": p} for i, (s, st, p) in rows.items()])

    assert [(r.id, r.size) for r in catalog.same_size_files()] == [(a, 1), (b, 1), (e, 3), (f, 3)]


def test_the_search_for_twins_reads_the_size_index_alone(samples: Path, catalog: Catalog, embedder: Embedder) -> None:
    """At a million photos a pass through the table took 0.63 s of the 3 s the first groups may take."""
    Scanner(catalog, embedder).run([samples])
    query = str(same_size_statement().compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    plan = [row[-1] for row in sqlite3.connect(catalog.path).execute(f"EXPLAIN QUERY PLAN {query}")]

    assert "SCAN files USING COVERING INDEX ix_files_size_status" in plan, plan
    assert not any(step.startswith("SCAN files") and "COVERING" not in step for step in plan), plan


@pytest.mark.devset
def test_devset_identical_groups_equal_the_truth(devset_copy: Path, truth: dict, catalog: Catalog, embedder: Embedder) -> None:
    Scanner(catalog, embedder).run([devset_copy])

    groups = find_identical(catalog)

    assert _named(groups, catalog, devset_copy) == sorted(sorted(pair) for pair in truth["identical"])
    assert all(g == sorted(g) for g in groups)
