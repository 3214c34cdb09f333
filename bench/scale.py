"""Latency and scale on synthetic libraries: vector search, the k-NN graph, regrouping
and memory, each through the app's own VectorIndex / KnnGraph / star_groups, beside
a plain baseline (exact brute-force search, connected components).

Sizes the 2-core budget cannot build (1M) are extrapolated from the largest size
measured, with the scaling law stated next to the figure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bench import datasets
from bench.measure import isolated, latency_ms, rss_mb
from lookalike.core import structure
from lookalike.core.config import DUPLICATE_THRESHOLD, SIMILAR_THRESHOLD
from lookalike.core.graph import KnnGraph
from lookalike.core.grouping import star_groups
from lookalike.core.index import VectorIndex

DIM = 1280
TOP_K = 10  # what a person's search asks for (search_images' default)
QUERIES = 500  # held-out vectors: new photos searched against the library
RECALL_QUERIES = 200
EXACT_QUERIES = 20


def _library(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(library vectors, held-out query vectors) drawn from the same clusters."""
    rows = np.concatenate(list(datasets.clustered_vectors(count + QUERIES, DIM, seed)))
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


def _recall(index: VectorIndex, queries: np.ndarray, truth: np.ndarray, ids: np.ndarray) -> float:
    """Share of the true top-k (row positions in `truth`) that the index returns."""
    found, _ = index.search(queries, TOP_K)
    truth = ids[truth]
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth))
    return round(hits / truth.size, 4)


def _regroup(graph: KnnGraph) -> dict[str, object]:
    """A threshold move: star groups on the cached graph, and chaining as the baseline."""
    out: dict[str, object] = {}
    for name, threshold, by in (("similar", SIMILAR_THRESHOLD, "cosine"), ("duplicate", DUPLICATE_THRESHOLD, "structure")):
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
    before = rss_mb()
    index = VectorIndex(DIM)
    start = time.perf_counter()
    index.build(ids, library)
    build_s = time.perf_counter() - start
    rss_delta = (rss_mb() - before) * 2**20
    usearch_bytes = int(index._index.memory_usage)  # noqa: SLF001 - the figure only usearch knows
    out: dict[str, object] = {
        "count": count,
        "index_threads": index.threads,
        "index_build_s": round(build_s, 2),
        "index_bytes_per_photo": round(usearch_bytes / count),
        "index_rss_bytes_per_photo": round(rss_delta / count),
        "vector_bytes_per_photo_f16": DIM * 2,
        "search": _search_latency(index, queries),
    }
    exact, truth = _exact(library, queries[:EXACT_QUERIES])
    out["exact_search"] = exact
    _, truth = _exact(library, queries[:RECALL_QUERIES])
    out["recall_at_10"] = _recall(index, queries[:RECALL_QUERIES], truth, ids)
    if with_graph:
        start = time.perf_counter()
        graph = KnnGraph.build(index)
        knn_s = time.perf_counter() - start
        signatures = dict(zip(ids.tolist(), synthetic_signatures(library)))
        start = time.perf_counter()
        graph = graph.with_structure(signatures)
        structure_s = time.perf_counter() - start
        scored = int(np.count_nonzero(~np.isnan(graph.structure))) // 2  # type: ignore[arg-type]
        out["graph"] = {
            "knn_search_s": round(knn_s, 2),
            "structure_s": round(structure_s, 2),
            "seconds": round(knn_s + structure_s, 2),
            "edges": int(len(graph.nbr) // 2),
            "structure_pairs": scored,
            "bytes_in_memory": int(graph.indptr.nbytes + graph.nbr.nbytes + graph.sim.nbytes + graph.structure.nbytes),  # type: ignore[union-attr]
        }
        out["regroup"] = _regroup(graph)
    return out


def _nlogn(n: float) -> float:
    return n * math.log(n)


def extrapolate(measured: dict[int, dict], target: int) -> dict[str, object]:
    """1M figures from the largest size measured, with the law used for each.

    HNSW search visits O(log N) nodes, so latencies scale by ln(target)/ln(N);
    building inserts (or searches) N times at that cost, so N log N; structure
    scoring is per graph edge, linear in N; memory per photo is flat.
    """
    top = max(measured)
    big = measured[top]
    hops = math.log(target) / math.log(top)
    out: dict[str, object] = {
        "target_count": target,
        "from_count": top,
        "search_p50_ms": round(big["search"]["p50_ms"] * hops, 3),
        "search_p99_ms": round(big["search"]["p99_ms"] * hops, 3),
        "search_law": f"x ln(N)/ln({top:,})",
        "index_build_s": round(big["index_build_s"] * _nlogn(target) / _nlogn(top), 1),
        "index_bytes_per_photo": big["index_bytes_per_photo"],
        "exact_search_p99_ms": round(big["exact_search"]["p99_ms"] * target / top, 1),
    }
    graphs = sorted(n for n in measured if "graph" in measured[n])
    if graphs:
        g = measured[graphs[-1]]["graph"]
        out["graph_knn_s"] = round(g["knn_search_s"] * _nlogn(target) / _nlogn(graphs[-1]), 1)
        out["graph_structure_s"] = round(g["structure_s"] * target / graphs[-1], 1)
        out["graph_s"] = round(out["graph_knn_s"] + out["graph_structure_s"], 1)  # type: ignore[operator]
        out["graph_law"] = f"k-NN search N log N, structure scoring linear, from {graphs[-1]:,}"
    sizes = sorted(measured)
    if len(sizes) > 1:  # how well the log law held between the sizes measured
        lo, hi = measured[sizes[0]]["search"]["p50_ms"], big["search"]["p50_ms"]
        out["search_law_check"] = {
            "between": [sizes[0], top],
            "measured_p50_growth": round(hi / lo, 2),
            "log_law_predicts": round(math.log(top) / math.log(sizes[0]), 2),
        }
    return out


def run(search_sizes: Sequence[int], graph_sizes: Sequence[int], target: int) -> dict[str, object]:
    measured: dict[int, dict] = {}
    for count in sorted(set(search_sizes) | set(graph_sizes)):
        result, memory = isolated(measure_size, count, count in graph_sizes)
        measured[count] = result | memory
        line = f"  {count:,} vectors: build {result['index_build_s']} s, search p99 {result['search']['p99_ms']} ms"
        if "graph" in result:
            line += f", graph {result['graph']['seconds']} s, regroup {result['regroup']['duplicate']['seconds']} s"
        print(line, flush=True)
    out: dict[str, object] = {"sizes": {str(n): m for n, m in measured.items()}}
    if target in measured:
        out["at_target"] = {"measured": True, **measured[target]}
    else:
        out["extrapolated"] = extrapolate(measured, target)
    return out
