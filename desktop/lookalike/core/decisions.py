"""Remembered verdicts: "these are not duplicates" / "these are not even similar".

A verdict is stored per pair (smaller id first), so marking a whole group stores
every pair of it, and a later scan that re-forms the group leaves those pairs
apart. Rows cascade away with their files.

The two kinds nest: photos that are not similar cannot be duplicates, so
`excluded_pairs(catalog, "not_duplicate")` also returns the "not_similar" pairs,
while two shots of one scene marked "not a duplicate" still show up as similar.
Duplicate and identical grouping ask for "not_duplicate", similar grouping for
"not_similar".

A verdict is about pictures, not paths: it also keeps apart the byte-identical
copies of the two files (by the catalog's content hashes), so a later copy of
one of them, which may become its group's keeper, does not bring the pair back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Literal, get_args

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.orm import aliased

from lookalike.core.catalog import Catalog
from lookalike.core.schema import Decision, File

DecisionKind = Literal["not_duplicate", "not_similar"]
DECISION_KINDS: tuple[str, ...] = get_args(DecisionKind)

#: Which stored kinds keep a pair apart when grouping at a given level.
_IMPLIED: dict[str, tuple[str, ...]] = {
    "not_duplicate": ("not_duplicate", "not_similar"),
    "not_similar": ("not_similar",),
}


def _check_kind(kind: str) -> None:
    if kind not in DECISION_KINDS:
        raise ValueError(f"unknown decision {kind!r}; expected one of {', '.join(DECISION_KINDS)}")


def pairs_of(file_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Every unordered pair of distinct ids, each as (smaller, larger)."""
    unique = sorted({int(i) for i in file_ids})
    return list(itertools.combinations(unique, 2))


def remember(catalog: Catalog, file_ids: Sequence[int], kind: DecisionKind) -> int:
    """Store `kind` for every pair among `file_ids`; returns how many pairs were new."""
    _check_kind(kind)
    pairs = pairs_of(file_ids)
    if not pairs:
        return 0
    now = time.time()
    added = 0
    with catalog.session() as session:
        for a, b in pairs:
            if session.get(Decision, (a, b, kind)) is None:
                session.add(Decision(file_a=a, file_b=b, kind=kind, created_at=now))
                added += 1
    return added


def forget(catalog: Catalog, file_ids: Sequence[int], kind: DecisionKind | None = None) -> int:
    """Drop verdicts between any two of `file_ids` (of `kind`, or of every kind); returns the count."""
    if kind is not None:
        _check_kind(kind)
    pairs = pairs_of(file_ids)
    removed = 0
    with catalog.session() as session:
        for start in range(0, len(pairs), 400):
            chunk = pairs[start : start + 400]
            stmt = delete(Decision).where(tuple_(Decision.file_a, Decision.file_b).in_(chunk))
            if kind is not None:
                stmt = stmt.where(Decision.kind == kind)
            removed += session.execute(stmt).rowcount or 0
    return removed


def excluded_pairs(catalog: Catalog, kind: DecisionKind) -> set[tuple[int, int]]:
    """Pairs (a < b) that grouping at level `kind` must keep apart, copies included (see module doc)."""
    _check_kind(kind)
    decided = select(Decision.file_a, Decision.file_b).where(Decision.kind.in_(_IMPLIED[kind])).subquery()
    a, b = aliased(File), aliased(File)
    with_hashes = (
        select(decided.c.file_a, decided.c.file_b, a.full_hash, b.full_hash)
        .join(a, a.id == decided.c.file_a)
        .join(b, b.id == decided.c.file_b)
    )
    hashes = select(File.full_hash).join(decided, or_(File.id == decided.c.file_a, File.id == decided.c.file_b))
    same_bytes = select(File.full_hash, File.id).where(File.full_hash.in_(hashes.scalar_subquery()))
    with catalog.session() as session:
        pairs = session.execute(with_hashes).all()
        copies: dict[str, list[int]] = {}
        for content, file_id in session.execute(same_bytes):
            copies.setdefault(content, []).append(file_id)
    excluded: set[tuple[int, int]] = set()
    for first, second, first_hash, second_hash in pairs:
        if first_hash is not None and first_hash == second_hash:
            excluded.add((first, second))  # a verdict on two copies of the same bytes spreads no further
            continue
        for x in copies.get(first_hash, [first]):
            excluded.update((min(x, y), max(x, y)) for y in copies.get(second_hash, [second]))
    return excluded


def decisions_for(catalog: Catalog, file_ids: Sequence[int] | None = None) -> list[Decision]:
    """Stored verdicts touching `file_ids` (all of them when None), oldest first."""
    stmt = select(Decision).order_by(Decision.created_at, Decision.file_a, Decision.file_b)
    if file_ids is not None:
        ids = [int(i) for i in file_ids]
        stmt = stmt.where(or_(Decision.file_a.in_(ids), Decision.file_b.in_(ids)))
    with catalog.session() as session:
        return list(session.scalars(stmt))
