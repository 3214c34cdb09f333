"""Scene similarity: how alike two photos are for this library, not for the model alone.

The raw cosine of the embedding groups poorly on real libraries (docs/calibration.md,
"Similar tier"): a crowded region of the space (receipts, night shots, terminal
screenshots, one kind of landscape) holds unrelated photos as close as two shots of
one scene in a sparse region, so no single cosine threshold tells them apart. Two
corrections, both fitted on the library itself, fix most of that:

1. the vectors are centred and projected onto the library's DIMS principal axes
   (PCA, no whitening): what every photo shares stops counting as likeness;
2. each photo's *density* is the projected similarity of the least similar of its
   graph neighbours (about its K-th nearest); a pair's score is its projected
   similarity minus the mean density of the two, so a pair must stand out from
   both photos' own surroundings.

A pair is similar when its raw cosine reaches GATE (the embedding still has to
call them alike) and its score reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lookalike.core.engines.projection import REFIT_GROWTH, Projection

#: Principal axes kept (64 to 128 measured alike on real photos; fewer is cheaper).
DIMS = 64
#: Raw cosine a pair must reach as well: below it the embedding itself calls the
#: photos unrelated (devset distractors reach 0.56, and at 0.55 they start to group).
GATE = 0.62
#: Projected similarity standing in for the neighbours below the graph's cosine floor.
UNRELATED = 0.0
#: Photos a library needs before its axes mean anything: below it (a few hundred at most
#: were measured: 70% of the realset, 296 photos, still groups well) the raw cosine is used.
MIN_LIBRARY = 2 * DIMS
#: Bumped whenever the rule changes, so cached graphs compute their scene similarities again.
VERSION = 1
#: Vectors the axes are fitted on, at most (a sample of a large library fits the same axes).
SAMPLE = 20_000


@dataclass(frozen=True, slots=True)
class Basis:
    """The library's mean vector and its DIMS principal axes (rows)."""

    mean: np.ndarray  # float32 (dim,)
    axes: np.ndarray  # float32 (dims, dim); no rows: the raw vectors (a library too small to fit)
    count: int = 0  # photos in the library it was fitted for (0: not known, from an older graph)

    @property
    def fitted(self) -> bool:
        return len(self.axes) > 0

    def stale(self, count: int) -> bool:
        """Whether a library of `count` photos would get other axes from a fit now: it crossed
        MIN_LIBRARY either way, it is fitted whole (up to SAMPLE photos) and changed size, or
        its sample comes from a library grown REFIT_GROWTH times. A graph grown batch by batch
        (a scan) thus ends with the axes a full build would fit."""
        if not self.fitted or count < MIN_LIBRARY:
            return self.fitted != (count >= MIN_LIBRARY)
        return self.count != count if count <= SAMPLE else count >= REFIT_GROWTH * self.count


def fit(vectors: np.ndarray, count: int) -> Basis:
    """The centred principal axes of `vectors` (N, dim; a library of `count` photos or a sample
    of it): DIMS of them (core/projection.py's PCA); none below MIN_LIBRARY photos."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) < MIN_LIBRARY:
        return Basis(np.zeros(vectors.shape[1], np.float32), np.zeros((0, vectors.shape[1]), np.float32), count)
    fitted = Projection.fit(vectors, dim=DIMS, sample=SAMPLE, centre=True)
    return Basis(fitted.mean, fitted.components, count)


def sample_ids(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """The file ids to fit on: all of them, or a fixed random SAMPLE of a large library."""
    if len(ids) <= SAMPLE:
        return ids
    return np.sort(np.random.default_rng(seed).choice(ids, SAMPLE, replace=False))


def project(vectors: np.ndarray, basis: Basis) -> np.ndarray:
    """Unit vectors (N, dims) of `vectors` centred and projected onto the axes (as they are
    where the basis has none)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    projected = (vectors - basis.mean) @ basis.axes.T if basis.fitted else vectors
    return projected / np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)


def similarities(
    a: np.ndarray, b: np.ndarray, file_ids: np.ndarray, fetch: Callable[[np.ndarray], np.ndarray], basis: Basis
) -> np.ndarray:
    """Projected similarity of the pairs (a[i], b[i]), rows of `file_ids`; `fetch` gives
    vectors of file ids."""
    projected = np.concatenate(
        [project(fetch(file_ids[start : start + 50_000]), basis) for start in range(0, len(file_ids), 50_000)]
    ) if len(file_ids) else np.zeros((0, 1), np.float32)
    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), _PAIRS):  # the gathered rows of 25M pairs would take 13 GB at once
        part = slice(start, start + _PAIRS)
        out[part] = np.einsum("ij,ij->i", projected[a[part]], projected[b[part]])
    return out


#: Pairs whose projected rows are gathered at once (2 x 64 MB of float32).
_PAIRS = 262_144


def scores(
    similarity: np.ndarray,
    indptr: np.ndarray,
    nbr: np.ndarray,
    k: int,
    entries: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Each entry's score (of `entries` only, when given as (positions, their nodes): a
    regroup needs those whose cosine reaches GATE, a tenth of a million photos' 51M): its
    projected similarity minus the mean density of its two nodes.

    `similarity` is per adjacency entry (NaN where unknown, which yields NaN);
    `indptr`/`nbr` are the graph's adjacency, each list best cosine first.
    A node's density is the lowest similarity among its own k nearest (the first k
    of its list: entries added only because another node listed it are farther,
    and would make a crowded photo look lonely). A list shorter than k lost its
    tail to the graph's cosine floor: those photos are unrelated, and centred
    unrelated photos project to about 0, so the density is at most UNRELATED.
    """
    n = len(indptr) - 1
    degree = np.diff(indptr)
    density = np.full(n, UNRELATED, dtype=np.float32)
    filled = np.flatnonzero(degree > 0)
    if len(filled):
        # Each filled node's first min(k, degree) entries, as (start, end) pairs: fmin.reduceat
        # over the interleaved bounds reduces each list's head (even results) and the tail
        # between it and the next list (odd results, dropped), with no per-entry temporary.
        starts = indptr[filled]
        bounds = np.stack([starts, starts + np.minimum(degree[filled], k)], axis=1).ravel()
        if bounds[-1] == len(similarity):  # the last list's head runs to the end: its end is implied
            bounds = bounds[:-1]
        density[filled] = np.fmin.reduceat(similarity, bounds)[::2]
    short = degree < k
    density[short] = np.fmin(density[short], UNRELATED)
    if entries is not None:
        positions, owners = entries
        around = (density[owners] + density[nbr[positions]]) / 2
        return np.minimum(similarity[positions] - around, np.float32(1.0))
    out = np.empty(len(similarity), dtype=np.float32)
    for a, b in ((a, min(a + _NODES, n)) for a in range(0, n, _NODES)):  # no 51M-entry temporary at 1M photos
        lo, hi = indptr[a], indptr[b]
        around = (np.repeat(density[a:b], degree[a:b]) + density[nbr[lo:hi]]) / 2
        # Capped at 1: it is shown as a similarity, and a pair in two lonely photos' surroundings
        # would otherwise score above a copy.
        out[lo:hi] = np.minimum(similarity[lo:hi] - around, np.float32(1.0))
    return out


#: Nodes scored per block (about 3M entries at K = 32).
_NODES = 65_536
