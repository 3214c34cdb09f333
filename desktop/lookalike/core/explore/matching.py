"""Set-to-set similarity: one-to-one matching of two sets of photos, greedy and optimal.

A pair can be matched when its cosine is at least the pair threshold `s`; each
photo is matched at most once. Two matchings:

- greedy: the most similar pair first, both removed, repeat (fast, intuitive);
- optimal: the one-to-one assignment with the largest total similarity
  (scipy's `linear_sum_assignment`, the Hungarian method). Greedy can lose
  here: taking a 0.9 pair may leave two photos whose other partners (0.8, 0.8)
  were worth more together.

The set similarity of a matching is the mean of its best `m` pair similarities,
with every photo the larger set could still have matched counting as 0:

    similarity = sum(best min(m, matches) similarities) / min(m, max(|A|, |B|))

so identical sets score 1, a copy missing half the photos about 0.5, and sets
with no pair above `s` 0. `m` (None: no cap) bounds how many matches are
averaged: two large albums that share m near-identical photos score near 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Default pair threshold: the duplicate tier's cosine (re-encoded, resized and
#: lightly edited copies stay above it; other shots of one scene mostly fall below).
PAIR_THRESHOLD = 0.90
_CHUNK = 2048


@dataclass(frozen=True, slots=True)
class Matching:
    """Pairs of positions (a into the first set, b into the second), best first."""

    a: np.ndarray  # int64
    b: np.ndarray  # int64
    similarity: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.a)


@dataclass(frozen=True, slots=True)
class Candidates:
    """Every cross pair at or above `s`, as a sparse edge list."""

    a: np.ndarray
    b: np.ndarray
    similarity: np.ndarray
    size_a: int
    size_b: int


def candidates(vectors_a: np.ndarray, vectors_b: np.ndarray, s: float) -> Candidates:
    """Cross pairs with cosine >= s, computed in chunks so large sets never make a dense matrix."""
    parts_a, parts_b, parts_s = [], [], []
    for start in range(0, len(vectors_a), _CHUNK):
        block = vectors_a[start : start + _CHUNK] @ vectors_b.T
        rows, cols = np.nonzero(block >= np.float32(s))
        parts_a.append(rows + start)
        parts_b.append(cols)
        parts_s.append(block[rows, cols])
    return _edges(parts_a, parts_b, parts_s, len(vectors_a), len(vectors_b))


def from_matrix(similarity: np.ndarray, s: float) -> Candidates:
    """Candidates from a full similarity matrix (small sets, constructed cases)."""
    similarity = np.asarray(similarity, dtype=np.float32)
    rows, cols = np.nonzero(similarity >= np.float32(s))
    return _edges([rows], [cols], [similarity[rows, cols]], similarity.shape[0], similarity.shape[1])


def _edges(a: list, b: list, s: list, size_a: int, size_b: int) -> Candidates:
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))  # noqa: E731
    return Candidates(cat(a, np.int64), cat(b, np.int64), cat(s, np.float32), size_a, size_b)


def greedy(pairs: Candidates) -> Matching:
    """Best pair first, both removed, repeat."""
    order = np.lexsort((pairs.b, pairs.a, -pairs.similarity))
    used_a = np.zeros(pairs.size_a, bool)
    used_b = np.zeros(pairs.size_b, bool)
    keep = []
    for k in order:
        i, j = pairs.a[k], pairs.b[k]
        if not used_a[i] and not used_b[j]:
            used_a[i] = used_b[j] = True
            keep.append(k)
    return _matching(pairs, np.asarray(keep, dtype=np.int64))


def optimal(pairs: Candidates) -> Matching:
    """The one-to-one matching of largest total similarity among pairs >= s.

    Solved per connected component of the candidate graph (exact: no pair links
    two components), so two 10 000-photo folders cost the size of their largest
    tangle of look-alikes, not a 10 000 x 10 000 assignment.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not len(pairs.a):
        return _matching(pairs, np.zeros(0, np.int64))
    n = pairs.size_a + pairs.size_b
    graph = coo_matrix((np.ones(len(pairs.a)), (pairs.a, pairs.b + pairs.size_a)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    edge_component = component[pairs.a]
    keep: list[np.ndarray] = []
    order = np.argsort(edge_component, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_component[order])) + 1
    for edges in np.split(order, bounds):
        rows, row_of = np.unique(pairs.a[edges], return_inverse=True)
        cols, col_of = np.unique(pairs.b[edges], return_inverse=True)
        weight = np.zeros((len(rows), len(cols)))
        position = np.full((len(rows), len(cols)), -1, np.int64)
        weight[row_of, col_of] = pairs.similarity[edges]
        position[row_of, col_of] = edges
        r, c = linear_sum_assignment(weight, maximize=True)
        chosen = position[r, c]
        keep.append(chosen[chosen >= 0])  # a zero-weight cell is no pair: left unmatched
    return _matching(pairs, np.concatenate(keep))


def _matching(pairs: Candidates, edges: np.ndarray) -> Matching:
    order = np.lexsort((pairs.b[edges], pairs.a[edges], -pairs.similarity[edges]))
    edges = edges[order]
    return Matching(pairs.a[edges], pairs.b[edges], pairs.similarity[edges])


def set_similarity(matching: Matching, size_a: int, size_b: int, m: int | None = None) -> float:
    """Mean of the best min(m, matches) similarities over min(m, larger set size) (module doc)."""
    slots = max(size_a, size_b) if m is None else min(m, max(size_a, size_b))
    if slots <= 0:
        return 0.0
    best = np.sort(matching.similarity)[::-1][:slots]
    return float(best.astype(np.float64).sum() / slots)
