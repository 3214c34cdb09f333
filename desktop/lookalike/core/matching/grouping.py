"""Groups of files at a threshold, without chaining: a representative and its close matches.

Linking every pair above a threshold (connected components) chains A~B~C into one
group although A and C may look nothing alike. Here a group is a star instead:
one representative plus files whose similarity *to the representative* is at or
above the threshold, so every similarity shown in a group is one the threshold
vouches for, and each file is in at most one group.

Representatives are chosen greedily in a fixed priority order (most neighbours
above the threshold first, then the largest sum of those similarities, then the
smallest file id): a file becomes a representative unless a higher-priority
representative already claimed it. That greedy choice is computed in parallel
rounds over numpy arrays (each round, files that outrank all their remaining
neighbours become representatives and take their neighbours out; a file left with
none, yet claimed by no representative, becomes one too), which gives the same
representatives as the one-by-one loop in a handful of vectorised passes
(tests/test_grouping.py holds that loop).
Each other file then joins the adjacent representative it is most similar to.

Pairs a person marked as "not a duplicate"/"not similar" never share a group: the
pair's edge is dropped, and where two members of one star form such a pair the
less similar one leaves and is grouped again among the files that left.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from lookalike.core.matching.graph import KnnGraph, Measure, descending_keys
from lookalike.core.matching.proof import Verdict


@dataclass(frozen=True, slots=True)
class Group:
    """File ids with their similarity to the representative; the representative comes first."""

    members: tuple[int, ...]
    similarities: tuple[float, ...]

    @property
    def representative(self) -> int:
        return self.members[0]


def star_groups(
    graph: KnnGraph,
    threshold: float,
    excluded: Collection[tuple[int, int]] = (),
    hidden: Collection[int] = (),
    by: Measure = "cosine",
    proven: Verdict | None = None,
) -> list[Group]:
    """Groups of two or more files at `threshold`, by representative file id.

    `by` is the score compared with the threshold and reported (the cosine, or the
    structural score for duplicates); `proven` keeps only pairs whose proof verdict
    reaches it; `excluded` holds file-id pairs never to be put together; `hidden`
    file ids take no part (copies already collapsed into the keeper of a stricter tier).
    """
    n = len(graph)
    u, v, w = graph.adjacency(threshold, by, proven)
    keep = np.ones(len(u), dtype=bool)
    if hidden:
        gone = np.zeros(n, dtype=bool)
        pos = graph.positions(np.fromiter(hidden, dtype=np.int64))
        gone[pos[pos >= 0]] = True
        keep &= ~gone[u] & ~gone[v]
    banned = _pair_codes(graph, excluded)
    if len(banned):
        lo, hi = np.minimum(u, v).astype(np.int64), np.maximum(u, v).astype(np.int64)
        keep &= ~np.isin(lo * n + hi, banned)
    u, v, w = u[keep], v[keep], w[keep]

    groups: list[Group] = []
    todo = np.ones(n, dtype=bool)
    while True:
        rep, to_rep = _stars(n, u, v, w, todo)
        evicted = _conflicts(n, rep, to_rep, banned)
        groups.extend(_collect(graph.ids, rep, to_rep, evicted))
        if not evicted.any():
            return groups
        todo = evicted  # regroup the files that left, among themselves


def _stars(
    n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, todo: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Representative of each node (itself for representatives, -1 when alone) and similarity to it.

    (u, v, w) are directed entries grouped by u (`KnnGraph.adjacency`).
    """
    live = todo[u] & todo[v]
    u, v, w = u[live], v[live], w[live]
    priority = _priority(n, u, w)

    is_rep = np.zeros(n, dtype=bool)
    out = np.zeros(n, dtype=bool)  # a representative, or claimed by one
    cu, cv = u, v
    while len(cu):
        starts = np.flatnonzero(np.r_[True, cu[1:] != cu[:-1]])
        heads = cu[starts]
        best = np.maximum.reduceat(priority[cv], starts)
        new = heads[priority[heads] > best]
        is_rep[new] = True
        out[new] = True
        out[cv[is_rep[cu]]] = True
        alive = ~out[cu] & ~out[cv]
        cu, cv = cu[alive], cv[alive]
    # A file whose neighbours were all claimed (none of them a representative) is claimed by
    # no one: taken one by one it becomes a representative too, and neighbours closer to it
    # than to theirs join it.
    listed = np.zeros(n, dtype=bool)
    listed[u] = True
    is_rep |= listed & ~out

    rep = np.full(n, -1, dtype=np.int64)
    to_rep = np.zeros(n, dtype=np.float32)
    rep[is_rep] = np.flatnonzero(is_rep)
    to_rep[is_rep] = 1.0
    # Members: each other node joins its most similar adjacent representative
    # (on a tie, the first in its list).
    link = is_rep[v] & ~is_rep[u]
    mu, mv, mw = u[link], v[link], w[link]
    if len(mu):
        starts = np.flatnonzero(np.r_[True, mu[1:] != mu[:-1]])
        best = np.maximum.reduceat(mw, starts)
        top = np.flatnonzero(mw == np.repeat(best, np.diff(np.r_[starts, len(mu)])))
        top = top[np.r_[True, mu[top[1:]] != mu[top[:-1]]]]
        rep[mu[top]] = mv[top]
        to_rep[mu[top]] = mw[top]
    return rep, to_rep


def _priority(n: int, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A distinct rank per node: more neighbours, then larger similarity sum, then lower id wins."""
    degree = np.bincount(u, minlength=n)
    strength = np.bincount(u, weights=w, minlength=n)
    order = np.lexsort((-np.arange(n), strength, degree))
    priority = np.empty(n, dtype=np.int64)
    priority[order] = np.arange(n)
    return priority


def _pair_codes(graph: KnnGraph, pairs: Collection[tuple[int, int]]) -> np.ndarray:
    """Excluded file-id pairs as sorted codes lo * n + hi over node positions."""
    if not pairs:
        return np.zeros(0, dtype=np.int64)
    flat = graph.positions(np.asarray(list(pairs), dtype=np.int64).reshape(-1)).reshape(-1, 2)
    flat = flat[(flat >= 0).all(axis=1)]
    return np.unique(flat.min(axis=1) * len(graph) + flat.max(axis=1))


def _conflicts(n: int, rep: np.ndarray, to_rep: np.ndarray, banned: np.ndarray) -> np.ndarray:
    """Members to take out so no excluded pair shares a group (the less similar one leaves)."""
    evicted = np.zeros(n, dtype=bool)
    if not len(banned):
        return evicted
    a, b = np.divmod(banned, n)
    same = (rep[a] >= 0) & (rep[a] == rep[b])
    for x, y in zip(a[same], b[same]):  # user decisions: a handful, not millions
        if evicted[x] or evicted[y]:
            continue
        evicted[x if (to_rep[x], -x) < (to_rep[y], -y) else y] = True
    return evicted


def _collect(ids: np.ndarray, rep: np.ndarray, to_rep: np.ndarray, evicted: np.ndarray) -> list[Group]:
    """Groups of two or more nodes, by representative position."""
    nodes = np.flatnonzero((rep >= 0) & ~evicted)
    reps = rep[nodes]
    # Representative first, then members by similarity (descending), then by id: one key
    # sorted stably (nodes ascend already), half the time of a lexsort of the three.
    key = (reps.astype(np.uint64) << np.uint64(33)) | ((nodes != reps).astype(np.uint64) << np.uint64(32))
    order = np.argsort(key | descending_keys(to_rep[nodes]), kind="stable")
    nodes, reps = nodes[order], reps[order]
    bounds = np.flatnonzero(np.r_[True, reps[1:] != reps[:-1], True])
    starts, ends = bounds[:-1], bounds[1:]
    several = ends - starts > 1  # a representative all of whose neighbours joined others is alone
    files, sims = tuple(ids[nodes].tolist()), tuple(to_rep[nodes].tolist())
    with _collector_paused():  # at 1M photos, 122k groups: the collector's passes took half the time
        return [
            Group(files[start:end], sims[start:end])
            for start, end in zip(starts[several].tolist(), ends[several].tolist())
        ]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while many small acyclic objects are made
    (it runs every few hundred allocations and visits the whole heap now and then)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
