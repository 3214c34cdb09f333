"""Scan progress as plain data plus the throttle that produces it.

Views (rich bar in the CLI, Qt signals in the app) receive `ScanProgress`
snapshots through a callback; the meter keeps them to ~10 a second so a fast
rescan of a million unchanged files does not drown the UI thread in updates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Phase = Literal["walking", "embedding", "finishing"]


@dataclass(frozen=True, slots=True)
class ScanProgress:
    """One snapshot of a running scan.

    `files_found`: photo files met by the walk so far; `files_total`: files that
    need decoding (known once the walk ends, 0 before); `files_done`: of those,
    decoded or failed; `rate`: smoothed files/s of the current phase's counter;
    `eta_seconds`: None until a rate is known (and while walking);
    `paused`: the scan is held by its pause event (counters stand still).
    """

    phase: Phase
    files_found: int
    files_done: int
    files_total: int
    files_skipped_unchanged: int
    errors: int
    rate: float
    eta_seconds: float | None
    current_path: str
    elapsed: float
    paused: bool = False


ProgressCallback = Callable[[ScanProgress], None]


class ProgressMeter:
    """Mutable counters of a scan; `tick()` reports them at most every `interval` s."""

    #: Weight of the newest rate sample: ~last 3 s dominate, no jumpy ETA.
    SMOOTHING = 0.3
    #: Shortest window a rate sample is taken over.
    SAMPLE_SECONDS = 0.5

    def __init__(self, callback: ProgressCallback | None, interval: float = 0.1) -> None:
        self._callback = callback
        self._interval = interval
        self._start = time.monotonic()
        self._last_emit = -interval
        self.phase: Phase = "walking"
        self.found = self.done = self.total = self.skipped = self.errors = 0
        self.current_path = ""
        self.paused = False
        self._reset_rate()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def set_phase(self, phase: Phase) -> None:
        """Switch phase and report at once (views relabel on phase changes)."""
        self.phase = phase
        self._reset_rate()
        self.tick(force=True)

    def set_paused(self, paused: bool) -> None:
        """Report a pause or a resume at once; the rate restarts after a pause, so the
        ETA is not inflated by the time spent waiting."""
        self.paused = paused
        self._reset_rate()
        self.tick(force=True)

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._callback is None or (not force and now - self._last_emit < self._interval):
            return
        self._last_emit = now
        self._sample(now)
        self._callback(self.snapshot())

    def snapshot(self) -> ScanProgress:
        remaining = self.total - self.done
        eta = remaining / self._rate if self.phase == "embedding" and self._rate > 0 else None
        return ScanProgress(
            phase=self.phase,
            files_found=self.found,
            files_done=self.done,
            files_total=self.total,
            files_skipped_unchanged=self.skipped,
            errors=self.errors,
            rate=self._rate,
            eta_seconds=eta,
            current_path=self.current_path,
            elapsed=self.elapsed,
            paused=self.paused,
        )

    def _counter(self) -> int:
        return self.found if self.phase == "walking" else self.done

    def _reset_rate(self) -> None:
        self._rate = 0.0
        self._sample_at = time.monotonic()
        self._sample_count = self._counter()

    def _sample(self, now: float) -> None:
        span = now - self._sample_at
        if span < self.SAMPLE_SECONDS:
            return
        instant = (self._counter() - self._sample_count) / span
        self._rate = instant if self._rate == 0 else self.SMOOTHING * instant + (1 - self.SMOOTHING) * self._rate
        self._sample_at, self._sample_count = now, self._counter()
