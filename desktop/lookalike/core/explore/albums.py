"""Album comparison over the catalog: two folders side by side, and folder pairs that hold the same pictures.

A folder's photos are every catalogued photo at or under it (an exported album
or a backup may keep subfolders). `find_albums` works on leaf folders (a photo's
own folder), since those are what a person calls albums.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lookalike.core.catalog.store import Catalog
from lookalike.core.explore import matching
from lookalike.core.explore.matching import PAIR_THRESHOLD

#: Neighbours searched per photo when looking for folder pairs.
ALBUM_NEIGHBOURS = 8
#: Share of the smaller folder that must be matched for a pair to be reported.
MIN_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two sets of photos compared: set similarities, matched pairs (optimal), photos on one side only."""

    similarity_greedy: float
    similarity_optimal: float
    pairs: list[tuple[str, str, float]]  # (path in A, path in B, cosine), best first
    only_a: list[str]
    only_b: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "similarity_greedy": round(self.similarity_greedy, 4),
            "similarity_optimal": round(self.similarity_optimal, 4),
            "pairs": [{"a": a, "b": b, "similarity": round(s, 4)} for a, b, s in self.pairs],
            "only_a": self.only_a,
            "only_b": self.only_b,
        }


@dataclass(frozen=True, slots=True)
class AlbumPair:
    """Two folders that largely hold the same pictures."""

    a: str
    b: str
    size_a: int
    size_b: int
    comparison: Comparison

    @property
    def overlap(self) -> float:
        """Matched pairs over the smaller folder's size: 1 when one holds all of the other."""
        return len(self.comparison.pairs) / max(1, min(self.size_a, self.size_b))

    def to_dict(self) -> dict[str, object]:
        c = self.comparison
        return {
            "a": self.a, "b": self.b, "size_a": self.size_a, "size_b": self.size_b,
            "overlap": round(self.overlap, 4),
            "similarity_greedy": round(c.similarity_greedy, 4), "similarity_optimal": round(c.similarity_optimal, 4),
            "only_a": len(c.only_a), "only_b": len(c.only_b),
        }


def compare_sets(
    paths_a: list[str], vectors_a: np.ndarray, paths_b: list[str], vectors_b: np.ndarray,
    s: float = PAIR_THRESHOLD, m: int | None = None,
) -> Comparison:
    """Greedy and optimal set similarity; the pairs and one-sided photos come from the optimal matching."""
    pairs = matching.candidates(vectors_a, vectors_b, s)
    best = matching.optimal(pairs)
    quick = matching.greedy(pairs)
    size_a, size_b = len(paths_a), len(paths_b)
    matched_a, matched_b = set(best.a.tolist()), set(best.b.tolist())
    return Comparison(
        similarity_greedy=matching.set_similarity(quick, size_a, size_b, m),
        similarity_optimal=matching.set_similarity(best, size_a, size_b, m),
        pairs=[(paths_a[i], paths_b[j], float(v)) for i, j, v in zip(best.a, best.b, best.similarity)],
        only_a=sorted(p for i, p in enumerate(paths_a) if i not in matched_a),
        only_b=sorted(p for j, p in enumerate(paths_b) if j not in matched_b),
    )


def folder_key(folder: Path | str) -> str:
    """A folder as the catalog spells its paths (scan roots are real paths)."""
    return os.path.realpath(os.path.expanduser(os.fspath(folder)))


def photos_under(catalog: Catalog, model_id: str, folder: Path | str) -> tuple[list[str], np.ndarray]:
    """(paths, vectors) of the present, embedded photos at or under `folder`, sorted by path."""
    known = catalog.known_files(folder_key(folder), model_id)
    chosen = sorted((path, k.id) for path, k in known.items() if k.status == "ok" and k.embedded)
    paths = [p for p, _ in chosen]
    vectors = catalog.vectors_of(model_id, [i for _, i in chosen]) if chosen else np.zeros((0, 0), np.float32)
    return paths, vectors


def compare_folders(
    catalog: Catalog, model_id: str, folder_a: Path | str, folder_b: Path | str,
    s: float = PAIR_THRESHOLD, m: int | None = None,
) -> Comparison:
    """Compare the photos at or under each folder; when one folder lies inside the other,
    the outer one's photos exclude the inner one's (a backup kept in a subfolder)."""
    key_a, key_b = Path(folder_key(folder_a)), Path(folder_key(folder_b))
    paths_a, vectors_a = photos_under(catalog, model_id, key_a)
    paths_b, vectors_b = photos_under(catalog, model_id, key_b)
    if key_a != key_b and key_b.is_relative_to(key_a):
        paths_a, vectors_a = _outside(paths_a, vectors_a, key_b)
    elif key_a != key_b and key_a.is_relative_to(key_b):
        paths_b, vectors_b = _outside(paths_b, vectors_b, key_a)
    if not len(paths_a) or not len(paths_b):
        return Comparison(0.0, 0.0, [], paths_a, paths_b)
    return compare_sets(paths_a, vectors_a, paths_b, vectors_b, s, m)


def _outside(paths: list[str], vectors: np.ndarray, inner: Path) -> tuple[list[str], np.ndarray]:
    """The photos not at or under the folder `inner`."""
    keep = [i for i, p in enumerate(paths) if not Path(p).is_relative_to(inner)]
    return [paths[i] for i in keep], vectors[keep]


def in_catalog(catalog: Catalog, folder: Path | str) -> bool:
    """True when `folder` is at or under a scanned root (its photos are catalogued)."""
    key = Path(folder_key(folder))
    return any(key.is_relative_to(root.path) for root in catalog.roots())


def find_albums(
    catalog: Catalog, model_id: str, s: float = PAIR_THRESHOLD, m: int | None = None,
    min_overlap: float = MIN_OVERLAP,
) -> list[AlbumPair]:
    """Pairs of leaf folders whose optimal matching covers at least `min_overlap` of the
    smaller one, best overlap first.

    Candidate pairs come from each photo's nearest neighbours in the vector index
    (one search for the whole catalog); only those are compared in full.
    """
    from lookalike.core.engines.index import LIBRARY_EXPANSION, open_index

    ids, vectors = catalog.vectors(model_id)
    if len(ids) < 2:
        return []
    files = catalog.files(ids.tolist())
    paths = [files[int(i)].path for i in ids]
    folders = np.array([os.path.dirname(p) for p in paths])
    keys, sims = open_index(catalog, model_id, vectors.shape[1]).search(vectors, ALBUM_NEIGHBOURS + 1, expansion=LIBRARY_EXPANSION)
    row_of = {int(i): r for r, i in enumerate(ids)}
    links: Counter[tuple[str, str]] = Counter()
    for r, (row_keys, row_sims) in enumerate(zip(keys, sims)):
        seen = set()
        for key, sim in zip(row_keys, row_sims):
            other = row_of.get(int(key))
            if other is None or sim < s or folders[other] == folders[r]:
                continue
            pair = tuple(sorted((str(folders[r]), str(folders[other]))))
            if pair not in seen:
                seen.add(pair)
                links[pair] += 1  # type: ignore[index]
    size = Counter(folders.tolist())
    found = []
    for (a, b), count in links.items():
        if count < min_overlap * min(size[a], size[b]):  # each photo of the smaller one links at most once per side
            continue
        in_a, in_b = np.flatnonzero(folders == a), np.flatnonzero(folders == b)
        comparison = compare_sets([paths[i] for i in in_a], vectors[in_a], [paths[i] for i in in_b], vectors[in_b], s, m)
        pair = AlbumPair(a, b, len(in_a), len(in_b), comparison)
        if pair.overlap >= min_overlap:
            found.append(pair)
    found.sort(key=lambda p: (-p.overlap, -p.comparison.similarity_optimal, p.a, p.b))
    return found
