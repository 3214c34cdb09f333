"""Visual clusters of a whole collection: every photo in exactly one cluster.

Method (chosen by measurement, docs/explore.md): complete-linkage agglomerative
clustering on cosine distance, cut at MAX_DISTANCE, so every two photos of one
cluster have a cosine of at least 1 - MAX_DISTANCE. Complete linkage cannot
chain (single linkage joins a whole library through a string of neighbours) and
needs no cluster count, unlike k-means; HDBSCAN left a third of the real photos
as noise and still made one cluster of a quarter of them.

Complete linkage needs every pairwise distance, which is quadratic in memory, so
a collection above BLOCK photos is first split into blocks by k-means and each
block is clustered on its own. A k-means cell is a region of nearby vectors, so
a tight cluster rarely straddles two cells; the cost is that of BLOCK-sized
problems, linear in the number of blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.core.catalog.store import Catalog

#: Cosine distance at which clusters stop merging (every pair inside: cosine >= 0.35).
MAX_DISTANCE = 0.65
#: Largest set clustered exactly in one go (its distance matrix is BLOCK^2 / 2 doubles).
BLOCK = 3000
#: Photos shown for a cluster: the ones nearest its mean direction.
CENTRAL = 4


@dataclass(frozen=True, slots=True)
class Cluster:
    """Positions into the clustered arrays; `members` most typical first."""

    members: np.ndarray  # int64 row positions, by cosine to the cluster's mean, best first
    central: np.ndarray  # the first few of `members`
    typicality: np.ndarray  # float32 cosine of each member to the cluster's mean direction


def cluster_labels(vectors: np.ndarray, max_distance: float = MAX_DISTANCE, block: int = BLOCK, seed: int = 0) -> np.ndarray:
    """A cluster label per row of unit `vectors` (labels 0..k-1, every row labelled)."""
    n = len(vectors)
    labels = np.zeros(n, dtype=np.int64)
    if n < 2:
        return labels
    next_label = 0
    for rows in _blocks(vectors, np.arange(n), block, seed):
        local = _complete_linkage(vectors[rows], max_distance)
        labels[rows] = local + next_label
        next_label += int(local.max()) + 1
    return labels


def clusters(vectors: np.ndarray, max_distance: float = MAX_DISTANCE, central: int = CENTRAL, block: int = BLOCK) -> list[Cluster]:
    """The clusters of `vectors`, largest first, each with its members most typical first."""
    labels = cluster_labels(vectors, max_distance, block)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    found = []
    for rows in np.split(order, bounds) if len(order) else []:
        centre = vectors[rows].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        typical = (vectors[rows] @ centre).astype(np.float32)
        rank = np.argsort(-typical, kind="stable")
        found.append(Cluster(rows[rank].astype(np.int64), rows[rank][:central].astype(np.int64), typical[rank]))
    found.sort(key=lambda c: (-len(c.members), int(c.members[0])))
    return found


@dataclass(frozen=True, slots=True)
class PhotoCluster:
    """A cluster as a person sees it: file ids and paths, most typical first."""

    ids: list[int]
    paths: list[str]
    typicality: list[float]  # cosine of each photo to the cluster's mean direction
    central: int  # how many of the first photos are its central ones

    def to_dict(self) -> dict[str, object]:
        return {"files": self.paths, "central": self.paths[: self.central]}


def catalog_clusters(catalog: Catalog, model_id: str, max_distance: float = MAX_DISTANCE) -> list[PhotoCluster]:
    """Every present photo embedded with `model_id`, in exactly one cluster, largest cluster first."""
    ids, vectors = catalog.vectors(model_id)
    files = catalog.files(ids.tolist())
    out = []
    for c in clusters(vectors, max_distance):
        members = ids[c.members].tolist()
        out.append(PhotoCluster(members, [files[i].path for i in members], c.typicality.tolist(), len(c.central)))
    return out


def _complete_linkage(vectors: np.ndarray, max_distance: float) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=np.int64)
    distances = np.clip(pdist(vectors.astype(np.float64), "cosine"), 0.0, 2.0)
    tree = linkage(distances, method="complete")
    return fcluster(tree, t=max_distance, criterion="distance").astype(np.int64) - 1


def _blocks(vectors: np.ndarray, rows: np.ndarray, block: int, seed: int) -> list[np.ndarray]:
    """`rows` split by k-means until no part holds more than `block` of them."""
    if len(rows) <= block:
        return [rows]
    from sklearn.cluster import MiniBatchKMeans

    parts = -(-len(rows) // (block // 2))  # cells of about half a block: room for uneven sizes
    cells = MiniBatchKMeans(n_clusters=parts, random_state=seed, n_init=1, batch_size=4096).fit_predict(vectors[rows])
    out: list[np.ndarray] = []
    for cell in range(parts):
        members = rows[cells == cell]
        if len(members) == len(rows):  # k-means could not split it: cut it in halves
            out.extend(_blocks(vectors, members[: len(members) // 2], block, seed + 1))
            out.extend(_blocks(vectors, members[len(members) // 2 :], block, seed + 1))
        elif len(members):
            out.extend(_blocks(vectors, members, block, seed + 1))
    return out
