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

A person's "keep this one" is remembered in the same table as kind "keep", one
row per other copy of the group with the kept file as `file_a` (the one pair
kind whose order means something): the review then keeps, in any group, the
copy chosen over another member and over which none was chosen
(`KeeperChoices.kept_in`), whatever the keep rules say.

Rows stored by one action share their time: `remembered` lists each action as
one `Remembered` with a short id (a hash of kind and time, stable while it
exists), which `revoke` takes back whole.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.orm import aliased

from lookalike.core.catalog.store import Catalog
from lookalike.core.catalog.schema import Decision, File

DecisionKind = Literal["not_duplicate", "not_similar"]
DECISION_KINDS: tuple[str, ...] = get_args(DecisionKind)
#: The stored kind of a "keep this one" (not a verdict on a pair: `excluded_pairs` ignores it).
KEEP = "keep"
#: Shortest id prefix `revoke` accepts (a typo of a few characters must not match).
MIN_ID_PREFIX = 4

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
    rows = [{"file_a": a, "file_b": b, "kind": kind, "created_at": now} for a, b in pairs]
    with catalog.session() as session:
        # One INSERT ... ON CONFLICT DO NOTHING: two people marking the same pair at once
        # store it once, and only one of them counts it as new.
        return sum(catalog.insert_new(session, Decision.__table__, rows[i : i + 400]) for i in range(0, len(rows), 400))


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


# --- "keep this one" -----------------------------------------------------------


def remember_keeper(catalog: Catalog, keeper: int, others: Sequence[int]) -> int:
    """Remember that `keeper` is kept over `others` (the rest of its group); returns the rows stored.

    Earlier keep choices between any two of these files are replaced: the latest
    word of a person counts.
    """
    others = sorted({int(o) for o in others} - {int(keeper)})
    if not others:
        return 0
    members = [int(keeper), *others]
    now = time.time()
    with catalog.session() as session:
        for start in range(0, len(members), 400):
            chunk = members[start : start + 400]
            session.execute(
                delete(Decision).where(Decision.kind == KEEP, Decision.file_a.in_(chunk), Decision.file_b.in_(members))
            )
        # An upsert: another person's same choice committed meanwhile is taken over, not a conflict.
        rows = [{"file_a": int(keeper), "file_b": o, "kind": KEEP, "created_at": now} for o in others]
        catalog.upsert(session, Decision.__table__, rows, ["file_a", "file_b", "kind"])
    return len(others)


@dataclass(frozen=True, slots=True)
class KeeperChoices:
    """Every remembered "keep this one", as (kept, other) pairs, read once per regrouping."""

    pairs: frozenset[tuple[int, int]]

    def kept_in(self, ids: Iterable[int]) -> set[int]:
        """The files of a group a person chose to keep: chosen over another member, and no
        member chosen over them. Empty when no choice touches two of its members."""
        members = set(ids)
        here = [(a, b) for a, b in self.pairs if a in members and b in members]
        return {a for a, _ in here} - {b for _, b in here}


def keeper_choices(catalog: Catalog) -> KeeperChoices:
    with catalog.session() as session:
        rows = session.execute(select(Decision.file_a, Decision.file_b).where(Decision.kind == KEEP)).all()
    return KeeperChoices(frozenset((int(a), int(b)) for a, b in rows))


# --- what is remembered, listed and taken back -------------------------------------


@dataclass(frozen=True, slots=True)
class Remembered:
    """One remembered action: its pairs, stored at one time, under a short id."""

    id: str
    kind: str  # not_duplicate | not_similar | keep
    created_at: float
    pairs: tuple[tuple[int, int], ...]

    @property
    def files(self) -> list[int]:
        """The files it is about; for a keep choice the kept file first."""
        return list(dict.fromkeys(i for pair in self.pairs for i in pair))


def _action_id(kind: str, created_at: float) -> str:
    return hashlib.sha1(f"{kind}:{created_at!r}".encode()).hexdigest()[:8]


def remembered(catalog: Catalog, kinds: Sequence[str] | None = None) -> list[Remembered]:
    """Remembered actions (of `kinds`, else all), newest first."""
    stmt = select(Decision.kind, Decision.created_at, Decision.file_a, Decision.file_b).order_by(
        Decision.created_at.desc(), Decision.file_a, Decision.file_b
    )
    if kinds is not None:
        stmt = stmt.where(Decision.kind.in_(list(kinds)))
    actions: dict[tuple[str, float], list[tuple[int, int]]] = {}
    with catalog.session() as session:
        for kind, created_at, a, b in session.execute(stmt):
            actions.setdefault((kind, created_at), []).append((a, b))
    return [Remembered(_action_id(k, t), k, t, tuple(pairs)) for (k, t), pairs in actions.items()]


def revoke(catalog: Catalog, action_id: str) -> Remembered:
    """Take back the remembered action whose id starts with `action_id`; returns it.

    ValueError when no action or more than one matches (say which).
    """
    wanted = action_id.strip().lower()
    if len(wanted) < MIN_ID_PREFIX:
        raise ValueError(f"give at least {MIN_ID_PREFIX} characters of a decision id (got {action_id!r})")
    matches = [r for r in remembered(catalog) if r.id.startswith(wanted)]
    if not matches:
        raise ValueError(f"no remembered decision {action_id!r}")
    if len(matches) > 1:
        raise ValueError(f"decision id {action_id!r} is ambiguous: {', '.join(r.id for r in matches)}")
    action = matches[0]
    with catalog.session() as session:
        session.execute(
            delete(Decision).where(Decision.kind == action.kind, Decision.created_at == action.created_at)
        )
    return action


def file_ids(catalog: Catalog, paths: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Catalogued file ids by the given path (resolved as a scan stores it), and the paths not catalogued."""
    wanted = {os.path.realpath(os.path.expanduser(p)): p for p in paths}
    reals, found = list(wanted), {}
    with catalog.session() as session:
        for start in range(0, len(reals), 400):
            chunk = reals[start : start + 400]
            found.update(session.execute(select(File.path, File.id).where(File.path.in_(chunk))).all())
    return {wanted[real]: file_id for real, file_id in found.items()}, [g for r, g in wanted.items() if r not in found]
