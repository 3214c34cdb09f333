"""Exploring a collection (docs/explore.md): cluster quality by method on real photos, and the
time and memory of clusters, the map and the map's update at scale.

    python -m bench.explore quality               # realset + devset: methods compared (scans both into /tmp)
    python -m bench.explore scale [--sizes 10000 100000] [--map-sizes 10000]

`quality` scores every candidate method the same way: the share of same-scene
pairs (realset kinds duplicate, near_identical_shots, same_scene_shots; devset
groups, identical and similar pairs) that share a cluster, the largest cluster
as a share of the collection, and the share of pairs of unrelated photos
(realset negatives, devset distractors) put together. `scale` runs each step in
a fresh process on `datasets.clustered_vectors` (shaped like the shipped
model's vectors) and records seconds and peak memory; the map update places 1%
more photos into the map just computed. Results go to bench/results/explore.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench import datasets, machine
from bench.measure import isolated

REALSET = Path(os.environ.get("LOOKALIKE_REALSET", datasets.REPO.parent / "shared" / "data" / "realset"))
RESULTS = datasets.REPO / "bench" / "results" / "explore.json"
DIM = 1280
SAME_SCENE = ("duplicate", "near_identical_shots", "same_scene_shots")


# --- quality ----------------------------------------------------------------------------


def _catalog_vectors(folder: Path, work: Path) -> tuple[np.ndarray, list[str]]:
    """Scan `folder` with the app's Scanner into a fresh catalog: (vectors, paths)."""
    from lookalike.core.catalog.store import Catalog
    from lookalike.core.engines.embedder import Embedder
    from lookalike.core.engines.manifest import default_manifest_path, load_manifest
    from lookalike.core.scan.pipeline import Scanner

    embedder = Embedder(load_manifest(default_manifest_path()), device="cpu")
    with Catalog(work / f"{folder.name}.sqlite") as catalog:
        Scanner(catalog, embedder, workers=2).run([folder])
        ids, vectors = catalog.vectors(embedder.model_id)
        files = catalog.files(ids.tolist())
    return vectors, [files[int(i)].path for i in ids]


def _realset_pairs(paths: list[str]) -> tuple[list[tuple[int, int]], list[int]]:
    truth = json.loads((REALSET / "truth.json").read_text())
    pos = {Path(p).name: i for i, p in enumerate(paths)}
    pairs = [(pos[a], pos[b]) for g in truth["groups"] if g["kind"] in SAME_SCENE
             for a, b in itertools.combinations(g["files"], 2)]
    return pairs, [pos[f] for f in truth["negatives"] if f in pos]


def _devset_pairs(paths: list[str]) -> tuple[list[tuple[int, int]], list[int]]:
    truth = datasets.truth()
    root = datasets.DEVSET.resolve()
    pos = {str(Path(p).relative_to(root)): i for i, p in enumerate(paths)}
    listed = [pair for g in truth["groups"] for pair in itertools.combinations(g, 2)] + truth["identical"] + truth["similar"]
    return [(pos[a], pos[b]) for a, b in listed], [pos[f] for f in truth["distractors"]]


def score(labels: np.ndarray, pairs: list[tuple[int, int]], unrelated: list[int]) -> dict[str, float]:
    """Same-scene pairs together, largest cluster share, unrelated pairs together; noise (-1) = singletons."""
    labels = np.asarray(labels).copy()
    noise = labels < 0
    labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
    sizes = np.bincount(labels)
    apart = list(itertools.combinations(unrelated, 2))
    return {
        "same_scene_together": round(float(np.mean([labels[a] == labels[b] for a, b in pairs])), 3),
        "largest_share": round(float(sizes.max() / len(labels)), 3),
        "unrelated_together": round(float(np.mean([labels[a] == labels[b] for a, b in apart])), 4),
        "clusters": int(len(sizes)),
        "singletons": int((sizes == 1).sum()),
        "noise": int(noise.sum()),
    }


def _methods() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
    from sklearn.metrics import silhouette_score

    from lookalike.core.explore.clusters import cluster_labels

    def kmeans_auto(vectors: np.ndarray) -> np.ndarray:
        """k by the best cosine silhouette over a range of k."""
        best = max((KMeans(k, n_init=3, random_state=0).fit_predict(vectors) for k in (10, 20, 40, 60, 80, 120)),
                   key=lambda labels: silhouette_score(vectors, labels, metric="cosine"))
        return best

    found: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "chosen: complete linkage, cosine distance 0.65 (core/explore/clusters.py)": cluster_labels,
        "same, in k-means blocks of 150 (as above 3000 photos)": lambda v: cluster_labels(v, block=150),
        "k-means, k by silhouette": kmeans_auto,
    }
    for k in (20, 80):
        found[f"k-means, k={k}"] = lambda v, k=k: KMeans(k, n_init=3, random_state=0).fit_predict(v)
    for size in (2, 3, 5):
        found[f"HDBSCAN, min_cluster_size={size}"] = lambda v, s=size: HDBSCAN(min_cluster_size=s).fit_predict(v)
    for distance in (0.5, 0.6, 0.7):
        found[f"average linkage, cosine distance {distance}"] = lambda v, d=distance: AgglomerativeClustering(
            n_clusters=None, distance_threshold=d, metric="cosine", linkage="average").fit_predict(v)
    for distance in (0.55, 0.6, 0.7, 0.8):
        found[f"complete linkage, cosine distance {distance}"] = lambda v, d=distance: AgglomerativeClustering(
            n_clusters=None, distance_threshold=d, metric="cosine", linkage="complete").fit_predict(v)
    for distance in (1.2, 1.5, 2.0):
        found[f"Ward, distance {distance}"] = lambda v, d=distance: AgglomerativeClustering(
            n_clusters=None, distance_threshold=d, linkage="ward").fit_predict(v)
    return found


def _map_quality(vectors: np.ndarray) -> dict[str, float]:
    """Trustworthiness (10 neighbours, cosine) of the PCA quick view and of the t-SNE map."""
    from sklearn.manifold import trustworthiness

    from lookalike.core.explore.layout import pca_layout, tsne_layout

    ids = np.arange(len(vectors))
    out = {}
    for name, make in (("pca", pca_layout), ("tsne", tsne_layout)):
        start = time.perf_counter()
        xy = make(ids, vectors).xy
        out[f"{name}_trustworthiness"] = round(float(trustworthiness(vectors, xy, n_neighbors=10, metric="cosine")), 3)
        out[f"{name}_seconds"] = round(time.perf_counter() - start, 2)
    return out


def quality() -> dict[str, object]:
    import warnings

    warnings.filterwarnings("ignore")
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="lookalike-explore-") as work:
        for name, folder, pairs_of in (("realset", REALSET / "images", _realset_pairs),
                                       ("devset", datasets.require_devset(), _devset_pairs)):
            vectors, paths = _catalog_vectors(folder, Path(work))
            pairs, unrelated = pairs_of(paths)
            rows = {method: score(run(vectors), pairs, unrelated) for method, run in _methods().items()}
            out[name] = {"photos": len(paths), "same_scene_pairs": len(pairs), "methods": rows, "map": _map_quality(vectors)}
            print(name, json.dumps(out[name], indent=1), flush=True)
    return out


# --- scale -------------------------------------------------------------------------------


def _vectors(count: int, seed: int = 0) -> np.ndarray:
    return np.concatenate(list(datasets.clustered_vectors(count, DIM, seed)))


def _time_clusters(count: int) -> dict[str, float]:
    from lookalike.core.explore.clusters import cluster_labels

    vectors = _vectors(count)
    start = time.perf_counter()
    labels = cluster_labels(vectors)
    return {"seconds": round(time.perf_counter() - start, 2), "clusters": int(labels.max() + 1),
            "largest": int(np.bincount(labels).max())}


def _time_map(count: int) -> dict[str, float]:
    """The t-SNE map of `count` photos, then 1% more placed into it."""
    from lookalike.core.explore.layout import place, tsne_layout

    vectors = _vectors(count + count // 100)
    old, new = vectors[:count], vectors[count:]
    start = time.perf_counter()
    layout = tsne_layout(np.arange(count), old)
    mapped = time.perf_counter() - start
    start = time.perf_counter()
    place(layout, old, np.arange(count, len(vectors)), new)
    return {"map_seconds": round(mapped, 2), "update_seconds": round(time.perf_counter() - start, 2), "added": len(new)}


def scale(sizes: list[int], map_sizes: list[int]) -> dict[str, object]:
    out: dict[str, dict[str, object]] = {}
    for count in sizes:
        clusters, memory = isolated(_time_clusters, count)
        print(count, "clusters", clusters, memory, flush=True)
        out[str(count)] = {"clusters": {**clusters, **memory}}
        if count in map_sizes:
            mapped, map_memory = isolated(_time_map, count)
            print(count, "map", mapped, map_memory, flush=True)
            out[str(count)]["map"] = {**mapped, **map_memory}
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explore", description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", choices=("quality", "scale"), default=["quality", "scale"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--map-sizes", type=int, nargs="*", help="sizes to map too (default: all of --sizes)")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["machine"] = machine.describe()
    if "quality" in args.parts:
        results["quality"] = quality()
    if "scale" in args.parts:
        map_sizes = args.sizes if args.map_sizes is None else args.map_sizes
        for size, figures in scale(args.sizes, map_sizes).items():
            results.setdefault("scale", {}).setdefault(size, {}).update(figures)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
