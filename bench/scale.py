"""Latency and scale on synthetic libraries: vector search, the k-NN graph, regrouping
and memory, each through the app's own VectorIndex / KnnGraph / star_groups, beside
a plain baseline (exact brute-force search, connected components).

Libraries of projection.MIN_PHOTOS or more are indexed as the app indexes them:
compact vectors (a PCA fitted on the library) re-ranked by the full vectors,
which stay in memory here as they stay in the catalog in the app.
`python -m bench scale --photos N` measures one size (1M included) and adds it
to the saved results; sizes not measured are extrapolated from the largest one,
with the scaling law stated next to the figure.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bench import datasets, machine, scale_library
from bench.measure import isolated, latency_ms, rss_mb, status_kib
from lookalike.core.matching import structure
from lookalike.core.config import DUPLICATE_THRESHOLD, SIMILAR_THRESHOLD
from lookalike.core.matching.graph import COMPACT_GRAPH_CANDIDATES, KnnGraph
from lookalike.core.matching.grouping import star_groups
from lookalike.core.engines import projection
from lookalike.core.engines import codes
from lookalike.core.engines.index import (
    EXPANSION_SEARCH, RERANK_CANDIDATES, HeldVectors, VectorIndex, held_in_memory, id_table, quantize,
)
from lookalike.core.engines.projection import Projection

DIM = 1280
TOP_K = 10  # what a person's search asks for (search_images' default)
QUERIES = 500  # held-out vectors: new photos searched against the library
RECALL_QUERIES = 200
EXACT_QUERIES = 20


def _library(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(library vectors, held-out query vectors) drawn from the same clusters, filled
    chunk by chunk (one copy: 5 GB at 1M)."""
    rows = np.empty((count + QUERIES, DIM), dtype=np.float32)
    start = 0
    for block in datasets.clustered_vectors(count + QUERIES, DIM, seed):
        rows[start : start + len(block)] = block
        start += len(block)
    return rows[:count], rows[count:]


def synthetic_signatures(vectors: np.ndarray, seed: int = 3) -> list[bytes]:
    """32x32 'thumbnails' whose correlations follow the vectors' cosines.

    A fixed random projection of each vector (Johnson-Lindenstrauss: inner
    products survive it) scaled to grey levels, so near-identical vectors get
    signatures that align and unrelated ones do not; pair_scores then costs what
    it costs on real photos, and regrouping by structure sees realistic edges.
    """
    side = structure.SIDE
    projection = np.random.default_rng(seed).standard_normal((DIM, side * side)).astype(np.float32)
    out: list[bytes] = []
    for start in range(0, len(vectors), 20_000):
        block = vectors[start : start + 20_000] @ projection
        grey = np.clip(128 + 45 * block, 0, 255).astype(np.uint8)
        out.extend(row.tobytes() for row in grey)
    return out


def _search_latency(index: VectorIndex, queries: np.ndarray) -> dict[str, float]:
    samples = []
    for row in queries:
        start = time.perf_counter()
        index.search(row, TOP_K)
        samples.append(time.perf_counter() - start)
    return latency_ms(samples)


def _exact(library: np.ndarray, queries: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Brute-force cosine top-k (the baseline): per-query latency and the true neighbours."""
    samples, truth = [], []
    for row in queries:
        start = time.perf_counter()
        sims = library @ row
        top = np.argpartition(-sims, TOP_K)[:TOP_K]
        samples.append(time.perf_counter() - start)
        truth.append(top[np.argsort(-sims[top])])
    return latency_ms(samples), np.asarray(truth)


def _truth(library: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The exact top-k rows of every query, one pass over the library (5 GB at 1M)."""
    best = np.full((len(queries), 2 * TOP_K), -np.inf, dtype=np.float32)
    rows = np.zeros((len(queries), 2 * TOP_K), dtype=np.int64)
    for start in range(0, len(library), 100_000):
        sims = queries @ library[start : start + 100_000].T
        top = np.argpartition(-sims, min(TOP_K, sims.shape[1] - 1), axis=1)[:, :TOP_K]
        best[:, TOP_K:] = np.take_along_axis(sims, top, axis=1)
        rows[:, TOP_K:] = top + start
        order = np.argsort(-best, axis=1)
        best, rows = np.take_along_axis(best, order, axis=1), np.take_along_axis(rows, order, axis=1)
    return rows[:, :TOP_K]


def loaded_search(folder: str, count: int, fitted: Projection, queries: np.ndarray, truth: np.ndarray) -> dict[str, object]:
    """A person's search on the saved compact index, read back as the app reads it (run in a
    fresh process): latency, recall, and the memory it holds: the anonymous memory it added
    (codes, compact rows, ids). Its HNSW graph stays a map of its file that nothing has opened
    (`graph_opened`). The full vectors re-ranked are a map of the catalog's int8 rows here (in
    the app, the catalog's own pages): file-backed, not counted."""
    ids = np.arange(1, count + 1, dtype=np.int64)
    full = HeldVectors(ids, np.load(f"{folder}/stored.npy", mmap_mode="r"), np.load(f"{folder}/norms.npy"), id_table(ids))
    before = status_kib("RssAnon")
    start = time.perf_counter()
    index = VectorIndex.load(f"{folder}/index.usearch", DIM, projection=fitted, full=full)
    load_s = time.perf_counter() - start
    latency = _search_latency(index, queries)
    recall = _recall(index, queries[:RECALL_QUERIES], truth, ids)
    grown = (status_kib("RssAnon").get("RssAnon", 0) - before.get("RssAnon", 0)) * 1024 / count
    return {
        "index_rss_bytes_per_photo": round(grown),
        "graph_opened": index._unopened is None,  # noqa: SLF001 - whether the search read the HNSW graph
        "index_load_s": round(load_s, 2),
        "search": latency,
        "recall_at_10": recall,
    }


def _recall(
    index: VectorIndex, queries: np.ndarray, truth: np.ndarray, ids: np.ndarray, expansion: int | None = None
) -> float:
    """Share of the true top-k (row positions in `truth`) that the index returns."""
    found, _ = index.search(queries, TOP_K, expansion=expansion)
    truth = ids[truth]
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth))
    return round(hits / truth.size, 4)


def _regroup(graph: KnnGraph) -> dict[str, object]:
    """A threshold move, as the app's sliders regroup (core/review/tiers.py): Similar by the
    scene score, Duplicates by the structural score (without proof verdicts: synthetic
    vectors have no photos to prove, so more pairs pass than in the app). Star groups
    on the cached graph, and chaining as the baseline. Rows measured before 2026-12-05
    grouped Similar by the cosine, as the app did before its scene score."""
    out: dict[str, object] = {}
    for name, threshold, by in (("similar", SIMILAR_THRESHOLD, "scene"), ("duplicate", DUPLICATE_THRESHOLD, "structure")):
        samples = []
        for _ in range(3):
            start = time.perf_counter()
            groups = star_groups(graph, threshold, by=by)  # type: ignore[arg-type]
            samples.append(time.perf_counter() - start)
        src, dst, _ = graph.edges_above(threshold, by)  # type: ignore[arg-type]
        start = time.perf_counter()
        n = len(graph)
        adjacency = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n))
        components, labels = connected_components(adjacency, directed=False)
        chained = int((np.bincount(labels) > 1).sum())
        baseline = time.perf_counter() - start
        out[name] = {
            "threshold": threshold,
            "by": by,
            "seconds": round(min(samples), 4),
            # The first regroup of a graph also scores what every later one reuses (the scene
            # scores past the gate): opening the tab, not moving its slider.
            "first_seconds": round(samples[0], 4),
            "groups": len(groups),
            "grouped_files": sum(len(g.members) for g in groups),
            "edges": int(len(src)),
            "baseline_connected_components_s": round(baseline, 4),
            "baseline_groups": chained,
            "largest_chained_group": int(np.bincount(labels).max()),
        }
    return out


def measure_size(count: int, with_graph: bool) -> dict[str, object]:
    """Everything at one library size (run in a fresh process: memory is its own)."""
    library, queries = _library(count)
    ids = np.arange(1, count + 1, dtype=np.int64)
    stored = np.empty(library.shape, dtype=np.int8)  # the catalog's int8 rows, as a full build holds them
    for first in range(0, count, 65_536):
        stored[first : first + 65_536] = quantize(library[first : first + 65_536])
    full = held_in_memory(ids, stored)
    start = time.perf_counter()
    fitted = Projection.fit(library) if projection.wanted(count, None) else None
    fit_s = time.perf_counter() - start
    before = rss_mb()  # after the fit: its temporaries are not the index's memory

    index = VectorIndex(DIM, projection=fitted, full=full if fitted is not None else None)
    index.build(ids, library)
    build_s = time.perf_counter() - start
    rss_delta = (rss_mb() - before) * 2**20
    graph_bytes = index.graph_bytes
    out: dict[str, object] = {
        "count": count,
        "index_threads": index.threads,
        "index_build_s": round(build_s, 2),
        "projection": None if fitted is None else {
            "dim": fitted.dim, "fit_s": round(fit_s, 2), "sample": min(count, projection.SAMPLE),
            "rerank_candidates": RERANK_CANDIDATES, "scanned_codes": codes.CANDIDATES,
            "code_bytes": codes.subquantizers(fitted.dim) // 2,
        },
        "index_bytes_per_photo": round(graph_bytes / count),
        "vector_bytes_per_photo": index.stored_dim,  # int8
        "expansion_search": EXPANSION_SEARCH,
    }
    truth = _truth(library, queries[:RECALL_QUERIES])
    if fitted is None:
        out |= {"index_rss_bytes_per_photo": round(rss_delta / count), "search": _search_latency(index, queries),
                "recall_at_10": _recall(index, queries[:RECALL_QUERIES], truth, ids)}
    else:
        # As the app holds it: read back from its files in a process of its own, searched by scanning the codes.
        out["index_build_rss_bytes_per_photo"] = round(rss_delta / count)
        folder = datasets.cache_dir("scale_search")
        index.save(folder / "index.usearch")
        np.save(folder / "stored.npy", stored)
        np.save(folder / "norms.npy", full.norms)
        loaded, _ = isolated(loaded_search, str(folder), count, fitted, queries, truth)
        for name in ("index.usearch", "index.usearch.codes.npz", "stored.npy", "norms.npy"):
            (folder / name).unlink(missing_ok=True)
        out |= loaded
        out["graph_search"] = {  # the HNSW graph, as the library-wide searches use it
            "expansion_search": EXPANSION_SEARCH,
            "recall_at_10": _recall(index, queries[:RECALL_QUERIES], truth, ids, EXPANSION_SEARCH),
        }
    out["exact_search"] = _exact(library, queries[:EXACT_QUERIES])[0]
    if with_graph:
        start = time.perf_counter()
        graph = KnnGraph.build(index)
        knn_s = time.perf_counter() - start
        signatures = dict(zip(ids.tolist(), synthetic_signatures(library)))
        start = time.perf_counter()
        graph = graph.with_structure(lambda wanted: {int(i): signatures[int(i)] for i in wanted})
        structure_s = time.perf_counter() - start
        start = time.perf_counter()
        graph = graph.with_scene(full)  # the similar tier's scores, as open_graph adds them
        scene_s = time.perf_counter() - start
        scored = int(np.count_nonzero(~np.isnan(graph.structure))) // 2  # type: ignore[arg-type]
        out["graph"] = {
            "knn_search_s": round(knn_s, 2),
            "structure_s": round(structure_s, 2),
            "scene_s": round(scene_s, 2),
            "seconds": round(knn_s + structure_s + scene_s, 2),
            "edges": int(len(graph.nbr) // 2),
            "structure_pairs": scored,
            "compact_candidates": COMPACT_GRAPH_CANDIDATES if fitted is not None else None,
            "bytes_in_memory": int(sum(a.nbytes for a in (graph.indptr, graph.nbr, graph.sim, graph.structure, graph.scene))),  # type: ignore[union-attr]
        }
        out["regroup"] = _regroup(graph)
        out |= scale_library.measure(count, library, index, graph, datasets.cache_dir("scale_catalogs"))
    return out


def _nlogn(n: float) -> float:
    return n * math.log(n)


LAWS: dict[str, Callable[[float], float]] = {"ln N": math.log, "N ln N": _nlogn, "N": float}


def grow(points: dict[int, float], target: int, law: str, trend: dict[int, float] | None = None) -> dict[str, object]:
    """A figure at `target` from its values at measured sizes, two ways.

    By the algorithm's law from the largest size, and by the growth actually
    measured between the two largest sizes (value ~ N^exponent, taken from
    `trend` when given: a p99 follows its p50's trend, its own is too noisy);
    the estimate is the larger, so a law the measurements contradict cannot
    flatter it.
    """
    sizes = sorted(points)
    top = sizes[-1]
    by_law = points[top] * LAWS[law](target) / LAWS[law](top)
    out: dict[str, object] = {"law": law, "by_law": round(by_law, 3), "from": top}
    estimate = by_law
    slope = trend or points
    if len(sizes) > 1 and slope[sizes[-2]] > 0 and slope[top] > 0:
        exponent = math.log(slope[top] / slope[sizes[-2]]) / math.log(top / sizes[-2])
        fitted = points[top] * (target / top) ** exponent
        out |= {"exponent": round(exponent, 3), "by_fit": round(fitted, 3), "fit_between": sizes[-2:]}
        estimate = max(estimate, fitted)
    out["estimate"] = round(estimate, 3)
    return out


def extrapolate(measured: dict[int, dict], target: int) -> dict[str, object]:
    """Figures at `target` photos from the sizes measured (see `grow`).

    HNSW search visits O(log N) nodes; building the index inserts N times at that
    cost, and the graph searches N times (N log N); structure scoring is per
    graph edge (linear); memory per photo is flat, taken from the largest size.
    """
    top = max(measured)
    graphs = {n: m["graph"] for n, m in measured.items() if "graph" in m}
    p50 = {n: m["search"]["p50_ms"] for n, m in measured.items()}
    out: dict[str, object] = {
        "target_count": target,
        "from_count": top,
        "search_p50_ms": grow(p50, target, "ln N"),
        "search_p99_ms": grow({n: m["search"]["p99_ms"] for n, m in measured.items()}, target, "ln N", p50),
        "exact_search_p99_ms": grow({n: m["exact_search"]["p99_ms"] for n, m in measured.items()}, target, "N"),
        "index_build_s": grow({n: m["index_build_s"] for n, m in measured.items()}, target, "N ln N"),
        "index_bytes_per_photo": measured[top]["index_bytes_per_photo"],
    }
    if graphs:
        knn = grow({n: g["knn_search_s"] for n, g in graphs.items()}, target, "N ln N")
        scoring = grow({n: g["structure_s"] for n, g in graphs.items()}, target, "N")
        out |= {
            "graph_from_count": max(graphs),
            "graph_knn_s": knn,
            "graph_structure_s": scoring,
            "graph_s": round(float(knn["estimate"]) + float(scoring["estimate"]), 1),  # type: ignore[arg-type]
        }
    return out


#: How HNSW work (index build, graph search) grew with N on the 2-core bench
#: machine: 10k -> 100k took 41x (build) and 30x (search), i.e. ~N^1.6 (memory
#: stops fitting in cache), far above N log N. Used only to predict run time.
_HNSW_GROWTH = 1.6


def predict_seconds(measured: dict[str, object], count: int) -> float:
    """What measuring `count` would cost, from a smaller size's timings (HNSW work
    ~N^1.6, structure scoring and brute force linear), with a 25% margin."""
    small = int(measured["count"])  # type: ignore[arg-type]
    hnsw = float(measured["index_build_s"])  # type: ignore[arg-type]
    linear = float(measured["exact_search"]["mean_ms"]) * (EXACT_QUERIES + RECALL_QUERIES) / 1000  # type: ignore[index]
    if "graph" in measured:
        hnsw += float(measured["graph"]["knn_search_s"])  # type: ignore[index]
        linear += float(measured["graph"]["structure_s"])  # type: ignore[index]
    return 1.25 * (hnsw * (count / small) ** _HNSW_GROWTH + linear * count / small)


def run(search_sizes: Sequence[int], graph_sizes: Sequence[int], target: int, deadline: float | None = None) -> dict[str, object]:
    """Measure each size (ascending) in its own process. With a `deadline`
    (time.monotonic), a size predicted to overrun it is halved until it fits,
    and the substitution is recorded."""
    measured: dict[int, dict] = {}
    skipped: list[str] = []
    for count in sorted(set(search_sizes) | set(graph_sizes)):
        size, graph = count, count in graph_sizes
        if deadline is not None and measured:
            previous = measured[max(measured)]
            left = deadline - time.monotonic()
            while size > max(measured) and predict_seconds(previous, size) > left:
                size //= 2
            if size != count:
                note = f"{count:,} not measured: predicted {predict_seconds(previous, count):.0f} s, {left:.0f} s of the time budget left"
                skipped.append(note + (f"; measured {size:,} instead" if size > max(measured) else ""))
                if size <= max(measured):
                    continue
        result, memory = isolated(measure_size, size, graph)
        measured[size] = result | memory
        line = f"  {size:,} vectors: build {result['index_build_s']} s, search p99 {result['search']['p99_ms']} ms"
        if "graph" in result:
            line += f", graph {result['graph']['seconds']} s, regroup {result['regroup']['duplicate']['seconds']} s"
        print(line, flush=True)
    return _summary(measured, target, skipped)


def _summary(measured: dict[int, dict], target: int, skipped: list[str]) -> dict[str, object]:
    out: dict[str, object] = {"sizes": {str(n): m for n, m in measured.items()}, "skipped": skipped}
    if target in measured:
        out["at_target"] = {"measured": True, **measured[target]}
    else:
        out["extrapolated"] = extrapolate(measured, target)
    return out


def run_one(count: int, previous: dict[str, object] | None, target: int) -> dict[str, object]:
    """Measure `count` photos (graph included) and add it to the `previous` results'
    sizes, replacing a row of that size: the other rows keep their own run's figures."""
    load_before, started = os.getloadavg(), time.monotonic()
    result, memory = isolated(measure_size, count, True)
    measured = {int(n): m for n, m in (previous or {}).get("sizes", {}).items()}  # type: ignore[union-attr]
    run = {"seconds": round(time.monotonic() - started, 1), "load_average_start": [round(x, 2) for x in load_before],
           "load_average_end": [round(x, 2) for x in os.getloadavg()], "code": machine.revision()}
    measured[count] = result | memory | {"run": run}
    print(f"  {count:,} vectors: build {result['index_build_s']} s, search p99 {result['search']['p99_ms']} ms, "
          f"recall@10 {result['recall_at_10']}, graph {result['graph']['seconds']} s", flush=True)
    return _summary(measured, target, [])
