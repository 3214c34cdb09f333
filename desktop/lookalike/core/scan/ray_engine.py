"""The Ray engine: decode + embed on a Ray cluster, one ONNX session per worker.

`lookalike scan --engine ray` keeps the walk, the diff and every catalog write in
the local process (core/scan/pipeline.py). Only the per-file analysis runs on the
workers: `analysis.analyse` then `analysis.embed_analyses`, the very functions the
local engine calls, `CHUNK` files per call. Outcomes come back as vectors (never
pixels) in walk order, and the scan writes them batch by batch exactly as it
writes the local engine's, so a killed or cancelled Ray scan resumes the same way.

At most `IN_FLIGHT` calls per worker are queued, so memory stays flat however
large the library is, and a cancel drops only queued calls.

Workers open the photos (and the model) by the paths the scanning machine sees:
on a cluster every node mounts the library at the same path and has lookalike
installed in the same place (one container image, say). This module imports Ray
and is imported only when the Ray engine is asked for; Ray is the `cluster` extra.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Generator, Sequence

import ray
import ray.exceptions

from lookalike.core.engines.embedder import Device, Embedder
from lookalike.core.engines.manifest import ModelManifest
from lookalike.core.scan.analysis import Analysis, analyse, embed_analyses, overran
from lookalike.core.scan.decodepool import DeadlinePool

__all__ = ["CHUNK", "RayEngine", "RayEngineError", "connect"]

#: Files per call to a worker: one model call each (as the local engine's EMBED_CHUNK).
CHUNK = 8
#: Calls queued per worker: one running, one ready to start when it returns.
IN_FLIGHT = 2
#: Seconds to wait for the workers to load the model (a cluster without room for them waits forever).
START_TIMEOUT = 120.0
#: Seconds a cluster's address gets to answer before the scan gives up on it.
CONNECT_TIMEOUT = 5.0
#: Environment of the Ray processes this one starts: Ray's usage statistics would ask
#: cloud metadata servers (169.254.169.254, metadata.google.internal) what machine this
#: is and report to Anyscale; a photo tool phones nowhere.
QUIET = {"RAY_USAGE_STATS_ENABLED": "0"}


class RayEngineError(Exception):
    """The Ray cluster cannot be reached or used; the message says why in one sentence."""


def connect(address: str | None) -> None:
    """Join the cluster at `address` ("host:port" of its head), or start a local Ray
    instance on this machine's cores when None. Nothing happens when this process is
    connected already (tests share one local cluster)."""
    if ray.is_initialized():
        return
    os.environ.update(QUIET)
    if address and address != "auto" and "://" not in address:
        _reachable(address)
    try:
        # "local": a new instance even where `ray start` left one running (Ray would join that).
        ray.init(address=address or "local", include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RayEngineError(f"cannot start or reach {where}: {_first_line(exc)}") from exc


class _Worker:
    """A Ray actor: one ONNX session (one core, or one GPU) and one decode thread."""

    def __init__(self, manifest: ModelManifest, device: Device, decode_timeout: float) -> None:
        self._embedder = Embedder(manifest, device=device, threads=1)
        self._pool = DeadlinePool(1, name="lookalike-ray-decode")
        self._timeout = decode_timeout

    def provider(self) -> str:
        return self._embedder.provider

    def analyse(self, paths: Sequence[str]) -> list[Analysis]:
        """Each file decoded (within the decode timeout, as locally) and embedded."""
        return embed_analyses(self._embedder, [self._decoded(path) for path in paths])

    def _decoded(self, path: str) -> Analysis:
        size, resize = self._embedder.input_size, self._embedder.manifest.resize
        task = self._pool.submit(analyse, path, size, resize)
        if task.wait(self._timeout) or not self._pool.abandon(task):
            return task.outcome()
        return overran(self._timeout)


class RayEngine:
    """Workers on the connected cluster (`connect` first) that analyse files for a scan.

    `workers`: actors to start (default: one per CPU of the cluster, or per GPU
    with `device="cuda"`, where each takes a whole GPU).
    """

    def __init__(self, manifest: ModelManifest, *, workers: int | None, device: Device, decode_timeout: float) -> None:
        gpus = 1 if device == "cuda" else 0
        count = workers or max(1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1)))
        actor = ray.remote(num_cpus=1, num_gpus=gpus)(_Worker)
        self._workers = [actor.remote(manifest, device, decode_timeout) for _ in range(count)]
        try:
            providers = ray.get([w.provider.remote() for w in self._workers], timeout=START_TIMEOUT)
        except ray.exceptions.GetTimeoutError as exc:
            self.close()
            raise RayEngineError(
                f"the Ray cluster has no room for {count} workers of 1 CPU{' and 1 GPU' if gpus else ''} "
                f"(it has {ray.cluster_resources()}); ask for fewer with --workers"
            ) from exc
        except ray.exceptions.RayError as exc:
            self.close()
            raise RayEngineError(f"a Ray worker could not load the model: {_cause(exc)}") from exc
        self.provider = f"ray: {count} workers on {', '.join(sorted(set(providers)))}"

    def analyse(self, paths: Sequence[str], cancel: threading.Event) -> Generator[Analysis, None, None]:
        """Each path's embedded outcome in order; ends early once `cancel` is set."""
        chunks = (paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK))
        turns = itertools.cycle(self._workers)
        in_flight: deque[ray.ObjectRef] = deque()
        try:
            while True:
                while len(in_flight) < IN_FLIGHT * len(self._workers) and not cancel.is_set():
                    chunk = next(chunks, None)
                    if chunk is None:
                        break
                    in_flight.append(next(turns).analyse.remote(chunk))
                if not in_flight or cancel.is_set():
                    return
                while not ray.wait([in_flight[0]], timeout=0.25)[0]:
                    if cancel.is_set():
                        return
                yield from ray.get(in_flight.popleft())
        except ray.exceptions.RayError as exc:
            raise RayEngineError(f"the Ray cluster failed during the scan: {_cause(exc)}") from exc
        finally:
            for ref in in_flight:
                ray.cancel(ref)

    def close(self) -> None:
        """Stop the workers (their sessions and threads go with them)."""
        for worker in self._workers:
            ray.kill(worker)


def _reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minute of retries, when nothing listens at `address`."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT):
            return
    except (OSError, ValueError) as exc:
        raise RayEngineError(f"cannot reach the Ray cluster at {address}: {_first_line(exc)}") from exc


def _cause(exc: BaseException) -> str:
    """The worker's own error (EmbedderError, ManifestError...) out of Ray's wrapping."""
    cause = getattr(exc, "cause", None)
    return _first_line(cause if isinstance(cause, BaseException) and str(cause) else exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
