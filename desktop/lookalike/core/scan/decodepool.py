"""Worker threads with a time limit per call, for decoders that may never return.

A hostile or damaged file can keep a codec busy for minutes, and a file on a
disk that stopped answering blocks in `open()` for as long as the disk wants.
Python cannot stop a thread, so a call that overruns its limit is *abandoned*:
the caller stops waiting for it, a fresh thread takes the stuck one's place (the
pool keeps its width), and the stuck thread, a daemon, finishes on its own and
exits, or never does without ever delaying the process's exit. (The standard
ThreadPoolExecutor joins its threads at exit, so one hung decode would hang the
`lookalike` command after the scan was done.)

Why threads and not processes: decoding in threads costs nothing per file (Pillow
releases the GIL), works the same in a PyInstaller bundle and on Windows, and keeps
pixels out of pickles. What threads cannot do is survive a codec that crashes the
process or bound one file's memory; the decoder's own checks (core/images.py:
pixel and file size limits) keep those bounded instead.

Abandoned threads that are still running are counted: past `max_stuck` the pool
refuses more work, since every file then hangs (a disk that stopped answering)
and each would strand another thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class PoolStalled(RuntimeError):
    """Too many calls overran their limit and are still running; nothing more is accepted."""


class Task:
    """One call: queued, then running (from `started`), then done with `result` or `error`."""

    __slots__ = ("fn", "args", "started", "finished", "result", "error", "abandoned")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.started: float | None = None
        self.finished = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.abandoned = False

    def wait(self, timeout: float) -> bool:
        """True once the call has finished (within `timeout` seconds)."""
        return self.finished.wait(timeout)

    def outcome(self) -> Any:
        """The call's return value (re-raising what it raised)."""
        if self.error is not None:
            raise self.error
        return self.result

    def running_for(self) -> float:
        """Seconds since a worker started this call (0 while it waits in the queue)."""
        return 0.0 if self.started is None else time.monotonic() - self.started


class DeadlinePool:
    """`workers` daemon threads running submitted calls in order; see the module doc."""

    def __init__(self, workers: int, name: str = "lookalike-worker", max_stuck: int | None = None) -> None:
        self.workers = max(1, workers)
        self.name = name
        self.max_stuck = max_stuck if max_stuck is not None else 4 * self.workers
        self._queue: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._abandoned: list[Task] = []
        self._closed = False
        self._spawned = 0
        for _ in range(self.workers):
            self._spawn()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Task:
        if self._closed:
            raise RuntimeError("the pool is shut down")
        if self.stalled:
            raise PoolStalled(f"{self.stuck} calls overran their time limit and are still running")
        task = Task(fn, args)
        self._queue.put(task)
        return task

    def abandon(self, task: Task) -> bool:
        """Stop waiting for a running call; a new thread takes its worker's place.

        False when the call finished meanwhile: its outcome is then there to use.
        """
        with self._lock:
            if task.finished.is_set():
                return False
            if not task.abandoned:
                task.abandoned = True
                self._abandoned.append(task)
                self._spawn()
        return True

    @property
    def stalled(self) -> bool:
        """So many abandoned calls are still running that new ones would likely hang too."""
        return self.stuck >= self.max_stuck

    @property
    def stuck(self) -> int:
        """Abandoned calls still running."""
        with self._lock:
            self._abandoned = [t for t in self._abandoned if not t.finished.is_set()]
            return len(self._abandoned)

    def shutdown(self) -> None:
        """Drop queued calls and let idle workers exit; never waits for a running call."""
        self._closed = True
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task.abandoned = True
                task.finished.set()
        for _ in range(self.workers):
            self._queue.put(None)

    def _spawn(self) -> None:
        self._spawned += 1
        thread = threading.Thread(target=self._work, name=f"{self.name}-{self._spawned}", daemon=True)
        thread.start()

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            task.started = time.monotonic()
            try:
                task.result = task.fn(*task.args)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the task
                task.error = exc
            with self._lock:
                # An abandoned task's thread was replaced: it leaves, keeping the width.
                replaced = task.abandoned
                task.finished.set()
            if replaced:
                return
