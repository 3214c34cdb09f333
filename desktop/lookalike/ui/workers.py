"""Run core calls off the UI thread and bring their results back as Qt signals.

Core reports progress through plain callables and is cancelled with a
`threading.Event`; this module is the only place that adapts those to Qt, so
widgets never touch threads and core never imports Qt. Every public signal is
emitted on the UI thread, so any slot (lambdas included) may touch widgets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from lookalike.core.config import Settings
from lookalike.core.engines.embedder import Embedder
from lookalike.core.engines.manifest import manifest_for

#: What a job runs: core work given a progress callback and a cancel event.
Work = Callable[[Callable[[object], None], threading.Event], Any]


def describe_error(exc: BaseException) -> str:
    """One sentence for a person: core exceptions carry a `reason` or a readable message."""
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


class Job(QObject):
    """One call into core on a pool thread.

    Progress is coalesced: however fast core reports, at most one update waits in
    the event loop and it always carries the latest value, so a scan of 100k files
    cannot flood (and freeze) the UI.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    finished = Signal()

    _progress_ready = Signal()
    _result_ready = Signal(bool, object)

    def __init__(self, work: Work) -> None:
        super().__init__()
        self._work = work
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._latest: object = None
        self._pending = False
        self.done = False
        self._progress_ready.connect(self._deliver_progress)
        self._result_ready.connect(self._deliver_result)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def run(self) -> None:
        """Pool thread: run the work and hand its outcome to the UI thread."""
        try:
            outcome = (True, self._work(self._report, self.cancel_event))
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user, not kill the pool
            outcome = (False, describe_error(exc))
        try:
            self._result_ready.emit(*outcome)
        except RuntimeError:
            pass  # the app quit while this ran: nobody is left to tell

    def _report(self, value: object) -> None:
        with self._lock:
            self._latest = value
            if self._pending:
                return
            self._pending = True
        self._progress_ready.emit()

    @Slot()
    def _deliver_progress(self) -> None:
        with self._lock:
            value, self._pending = self._latest, False
        if not self.done:
            self.progress.emit(value)

    @Slot(bool, object)
    def _deliver_result(self, ok: bool, value: object) -> None:
        self.done = True
        if ok:
            self.succeeded.emit(value)
        else:
            self.failed.emit(str(value))
        self.finished.emit()


class JobRunner(QObject):
    """Owns the worker pool and keeps each job alive until its result is delivered."""

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._jobs: set[Job] = set()

    def start(
        self,
        work: Work,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Job:
        job = Job(work)
        if on_done:
            job.succeeded.connect(on_done)
        if on_error:
            job.failed.connect(on_error)
        if on_progress:
            job.progress.connect(on_progress)
        job.finished.connect(lambda: self._jobs.discard(job))
        self._jobs.add(job)
        self._pool.start(job.run)
        return job

    def busy(self) -> bool:
        return bool(self._jobs)

    def shutdown(self, msecs: int = 5000) -> bool:
        """Cancel everything and wait for the threads (window closing): True when all stopped."""
        for job in list(self._jobs):
            job.cancel()
        return self._pool.waitForDone(msecs)


class Coalescer(QObject):
    """Runs the newest of a stream of requests: while one runs, later ones replace each other.

    Used for live regrouping while a slider moves: the UI never queues stale work.
    """

    result = Signal(object)
    failed = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._running: Job | None = None
        self._pending: Work | None = None

    def submit(self, work: Work) -> None:
        if self._running is not None:
            self._pending = work
            return
        self._launch(work)

    def busy(self) -> bool:
        return self._running is not None

    def _launch(self, work: Work) -> None:
        self._running = self._runner.start(work, on_done=self._done, on_error=self._failed)
        self._running.finished.connect(self._next)
        self.busyChanged.emit(True)

    def _done(self, value: object) -> None:
        if self._pending is None:  # a newer request would overwrite this result at once
            self.result.emit(value)

    def _failed(self, message: str) -> None:
        self.failed.emit(message)

    def _next(self) -> None:
        self._running = None
        work, self._pending = self._pending, None
        if work is not None:
            self._launch(work)
        else:
            self.busyChanged.emit(False)


class EmbedderProvider:
    """The window's one Embedder, built on first use inside the worker that needs it.

    Loading the model takes a noticeable fraction of a second, so it never happens
    on the UI thread and never more than once per settings change.
    """

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None

    def get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                settings = self._settings()
                self._embedder = Embedder(manifest_for(settings.model), settings.device)  # type: ignore[arg-type]
            return self._embedder

    def loaded(self) -> Embedder | None:
        return self._embedder

    def reset(self) -> None:
        """Forget the model (settings changed): the next job loads the new one."""
        with self._lock:
            self._embedder = None
