"""Percentiles, peak memory in a fresh process, and cProfile summaries.

Peak RSS is only meaningful in a process that did nothing else, so memory
figures come from `isolated()`, which runs a function in a spawned child and
returns its result together with the child's own high-water mark.
"""

from __future__ import annotations

import cProfile
import multiprocessing
import os
import pstats
import resource
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import numpy as np
import psutil

T = TypeVar("T")
MB = 1024 * 1024


def latency_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p99/mean in milliseconds of per-call durations given in seconds."""
    values = np.asarray(samples, dtype=np.float64) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 3),
        "p99_ms": round(float(np.percentile(values, 99)), 3),
        "mean_ms": round(float(values.mean()), 3),
        "samples": int(len(values)),
    }


def rss_mb() -> float:
    """Resident memory of this process now."""
    return psutil.Process().memory_info().rss / MB


def peak_rss_mb() -> float:
    """High-water resident memory of this process image.

    Linux's VmHWM starts afresh at exec; ru_maxrss does not (a spawned child
    reports its parent's peak if that was higher), so it is only the fallback.
    """
    peak = status_kib("VmHWM").get("VmHWM")
    if peak is not None:
        return peak / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def status_kib(*names: str) -> dict[str, int]:
    """Memory fields (KiB) of this process from Linux's /proc/self/status; empty elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in status) if k in names}
    except OSError:
        return {}


def _child(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[T, float, float]:
    before = rss_mb()
    result = fn(*args)
    return result, before, peak_rss_mb()


def isolated(fn: Callable[..., T], *args: Any) -> tuple[T, dict[str, float]]:
    """Run `fn(*args)` in a fresh spawned process: (its result, memory figures).

    `fn` must be a module-level function (it is pickled by name). The memory
    figures are the child's RSS before the call (interpreter and imports) and
    its peak during the whole life of the process.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result, before, peak = pool.submit(_child, fn, args).result()
    return result, {"rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1)}


def _where(key: tuple[str, int, str]) -> str:
    """'package/module.py:function' from a pstats key, without the install prefix."""
    path, line, name = key
    if path == "~":
        return name  # a builtin, e.g. "<method 'run' of 'onnxruntime...' objects>"
    parts = path.replace(os.sep, "/").split("/")
    for anchor in ("site-packages", "lookalike", "bench"):
        if anchor in parts:
            parts = parts[parts.index(anchor) + (anchor == "site-packages") :]
            break
    else:
        parts = parts[-2:]
    return f"{'/'.join(parts)}:{line}({name})"


def profiled(fn: Callable[..., T], *args: Any, top: int = 8, **kwargs: Any) -> tuple[T, dict[str, object]]:
    """Run `fn` under cProfile: (its result, the top functions by own time).

    cProfile sees the calling thread only; a scan's decode threads show up as
    time the main thread spends waiting on their futures.
    """
    profile = cProfile.Profile()
    start = time.perf_counter()
    result = profile.runcall(fn, *args, **kwargs)
    wall = time.perf_counter() - start
    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    summary = [
        {
            "function": _where(key),
            "calls": int(calls),
            "own_s": round(own, 3),
            "cumulative_s": round(cumulative, 3),
            "share_of_wall": round(own / wall, 3) if wall else 0.0,
        }
        for key, (_, calls, own, cumulative, _) in rows[:top]
    ]
    return result, {"wall_s": round(wall, 3), "top_own_time": summary}
