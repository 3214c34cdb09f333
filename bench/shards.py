"""Index past one machine: shards built on Ray workers, searched in parallel, merged at query time.

When the vector index no longer fits one machine's memory, photos are split by id
(`id % shards`) and each shard is a VectorIndex of its own, built and held by a
Ray actor on some worker, exactly as the app builds its index (int8, compact
vectors from 20k photos, candidates re-ranked by the full vectors). A query goes
to every shard; each answers its top k with full-vector cosines, which mean the
same on every shard (the re-ranking makes each shard's projection irrelevant), so
the global top k is a plain merge: the k best of shards x k.

Measured per shard: build time (one thread), memory, local search latency and
recall@10 against the shard's exact top 10; for the merged index: query latency
from the driver (fan-out, gather, merge) and its recall@10 against the exact top
10 over all shards. Then the machines, memory and
latency a 10M and a 100M photo library would need, projected from those figures.

`python -m bench.shards [--shards 4] [--per-shard 100000] [--queries 200]
[--ray-address HOST:PORT] [--out FILE]` (needs the cluster extra: Ray).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import ray

from bench import datasets, machine
from bench.measure import latency_ms, rss_mb
from bench.scale import DIM, TOP_K, grow
from lookalike.core.engines import projection
from lookalike.core.engines.index import VectorIndex, held_in_memory, quantize
from lookalike.core.engines.projection import Projection

RESULT = datasets.REPO / "bench" / "results" / "shards.json"
#: The machine a shard is projected onto: memory it may fill (of 64 GiB, the rest for the OS and catalog cache).
MACHINE_RAM_GIB = 48
#: Bytes per photo of the full vectors a shard keeps for re-ranking (int8, as `held_in_memory` holds them).
FULL_BYTES = DIM
TARGETS = (10_000_000, 100_000_000)


class Shard:
    """One shard's photos, its index and its exact answers (a Ray actor)."""

    def __init__(self, shard: int, shards: int, library: int, queries: int) -> None:
        self.ids, self.vectors, self.queries = _rows(shard, shards, library, queries)
        self.index: VectorIndex | None = None

    def build(self) -> dict[str, object]:
        """Build the shard's index as the app does, one thread; its time and memory."""
        start = time.perf_counter()
        fitted = Projection.fit(self.vectors) if projection.wanted(len(self.ids), None) else None
        full = held_in_memory(self.ids, quantize(self.vectors))  # the catalog's int8 rows: FULL_BYTES a photo
        before = rss_mb()
        self.index = VectorIndex(DIM, threads=1, projection=fitted, full=full if fitted is not None else None)
        self.index.build(self.ids, self.vectors)
        seconds = time.perf_counter() - start
        return {
            "photos": len(self.ids),
            "build_s": round(seconds, 2),
            "index_bytes_per_photo": round(self.index.graph_bytes / len(self.ids)),
            "rss_bytes_per_photo": round((rss_mb() - before) * 2**20 / len(self.ids)),  # index only
            "stored_dim": self.index.stored_dim,
        }

    def held_out(self) -> np.ndarray:
        """The query vectors: photos of the same library that no shard holds."""
        return self.queries

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        assert self.index is not None
        return self.index.search(queries, k)

    def local_latency(self, queries: np.ndarray) -> dict[str, float]:
        """Per-query search time inside the shard (no Ray, no merge)."""
        assert self.index is not None
        samples = []
        for row in queries:
            start = time.perf_counter()
            self.index.search(row, TOP_K)
            samples.append(time.perf_counter() - start)
        return latency_ms(samples)

    def exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The true top k of this shard by brute force."""
        sims = queries @ self.vectors.T
        top = np.argsort(-sims, axis=1)[:, :k]
        return self.ids[top], np.take_along_axis(sims, top, axis=1)


def _rows(shard: int, shards: int, library: int, queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This shard's (ids, vectors) of one synthetic library (ids 1..library, id % shards),
    and the held-out queries (the stream's last rows). Every shard draws the same stream,
    so neighbours of a query are spread over the shards as hash partitioning spreads them."""
    ids, blocks, tail = [], [], []
    start = 0
    for block in datasets.clustered_vectors(library + queries, DIM, seed=0):
        index = np.arange(start, start + len(block))
        start += len(block)
        keep = (index < library) & (index % shards == shard)
        ids.append(index[keep] + 1)
        blocks.append(block[keep].copy())
        tail.append(block[index >= library].copy())
    return np.concatenate(ids).astype(np.int64), np.concatenate(blocks), np.concatenate(tail)


def merge_top_k(answers: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The global top k per query from each shard's top k (ids, similarities), best first."""
    keys = np.concatenate([a[0] for a in answers], axis=1)
    sims = np.concatenate([a[1] for a in answers], axis=1)
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(keys, order, axis=1), np.take_along_axis(sims, order, axis=1)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth))
    return round(hits / truth.size, 4)


def run(shards: int, per_shard: int, queries: int, address: str | None) -> dict[str, object]:
    """Build `shards` shards of `per_shard` photos on Ray workers and measure them."""
    cores = os.cpu_count() or 1
    ray.init(address=address, include_dashboard=False, log_to_driver=False, **({} if address else {"num_cpus": cores}))
    library = shards * per_shard
    # Every shard is held at once (an actor keeps its share of CPUs while it lives), and
    # they build one per core at a time, so each build's time is one thread's.
    cpus = ray.cluster_resources().get("CPU", 1)
    actor = ray.remote(num_cpus=cpus / shards)(Shard)
    started = time.perf_counter()
    workers = [actor.remote(s, shards, library, queries) for s in range(shards)]
    wave = max(1, int(cpus))
    per = [p for start in range(0, shards, wave) for p in ray.get([w.build.remote() for w in workers[start : start + wave]])]
    wall_build = time.perf_counter() - started
    held = ray.get(workers[0].held_out.remote())
    local = [ray.get(w.local_latency.remote(held)) for w in workers]  # one at a time: no shard slows another

    samples = []
    merged = []
    for row in held:
        start = time.perf_counter()
        merged.append(merge_top_k(ray.get([w.search.remote(row[None, :], TOP_K) for w in workers]), TOP_K)[0])
        samples.append(time.perf_counter() - start)
    found = np.concatenate(merged)
    exact = ray.get([w.exact.remote(held, TOP_K) for w in workers])
    truth, _ = merge_top_k(exact, TOP_K)
    batch_start = time.perf_counter()
    answers = ray.get([w.search.remote(held, TOP_K) for w in workers])
    merge_top_k(answers, TOP_K)
    batch_s = time.perf_counter() - batch_start
    ray.shutdown()
    for p, answer, true in zip(per, answers, exact):
        p["recall_at_10"] = recall(answer[0], true[0])  # the shard's own, against its exact top 10

    out: dict[str, object] = {
        "section": "shards",
        "machine": machine.describe(),
        "shards": shards,
        "photos": library,
        "queries": queries,
        "wall_build_s": round(wall_build, 2),
        "per_shard": [{**p, "search": s} for p, s in zip(per, local)],
        "merged_search": latency_ms(samples),
        "merged_batch_queries_per_s": round(queries / batch_s, 1),
        "merged_recall_at_10": recall(found, truth),
    }
    out["projection"] = {str(n): project(out, n) for n in TARGETS}
    return out


def project(measured: dict[str, object], target: int) -> dict[str, object]:
    """Machines, memory and latency for `target` photos from the measured shards.

    Memory per photo is flat (index + the full vectors for re-ranking, the largest
    measured); a shard is as many photos as fill MACHINE_RAM_GIB; one shard a machine.
    A shard's search grows as ln N (HNSW), its build as N ln N (one thread; T threads
    divide it); a merged query waits for the slowest shard, so it costs the shard's p99
    at that size plus the fan-out, gather and merge overhead measured here (the
    shards answer in parallel, so more machines add little beyond the slowest one).
    """
    shards = measured["per_shard"]
    assert isinstance(shards, list)
    per_photo = max(max(s["rss_bytes_per_photo"], s["index_bytes_per_photo"]) for s in shards) + FULL_BYTES
    shard_photos = int(MACHINE_RAM_GIB * 2**30 / per_photo)
    machines = math.ceil(target / shard_photos)
    size = min(shard_photos, math.ceil(target / machines))
    measured_size = int(shards[0]["photos"])
    p50 = grow({measured_size: float(np.median([s["search"]["p50_ms"] for s in shards]))}, size, "ln N")["estimate"]
    p99 = grow({measured_size: float(np.max([s["search"]["p99_ms"] for s in shards]))}, size, "ln N")["estimate"]
    merged = measured["merged_search"]
    assert isinstance(merged, dict)
    overhead = max(0.0, merged["p50_ms"] - float(np.median([s["search"]["p50_ms"] for s in shards])))
    build = grow({measured_size: float(np.median([s["build_s"] for s in shards]))}, size, "N ln N")["estimate"]
    return {
        "photos": target,
        "bytes_per_photo": per_photo,
        "machines": machines,
        "photos_per_machine": size,
        "ram_per_machine_gib": round(size * per_photo / 2**30, 1),
        "shard_search_p50_ms": p50,
        "merged_query_ms": round(float(p99) + overhead, 2),
        "shard_build_hours_1_thread": round(float(build) / 3600, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shards", description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--per-shard", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ray-address", metavar="HOST:PORT", help="use this cluster (default: a local Ray instance)")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args()
    result = run(args.shards, args.per_shard, args.queries, args.ray_address)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
