"""The desktop app opening a large catalog, as a person opens it: seconds from start to
the first duplicate groups on screen, the app's peak memory while every review tab
fills and the Duplicates tab adds up what its copies take, and then how long the Similar
slider takes from a move to its groups on screen.

Runs the real window (`lookalike.ui.app.open_window`, offscreen Qt) in a fresh process
(`measure.isolated`), so the peak memory is the app's alone; its Qt settings go to a
scratch folder, never the user's.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.measure import isolated, status_kib

#: How long the app may take to fill every tab before the run stops waiting (the figures
#: then say so: `settled` is False).
SETTLE_S = 600
#: The Similar slider's moves once every tab is filled, in hundredths (0.58 -> 0.62 -> 0.60).
SLIDER_MOVES = (4, -2)


def _open(catalog_path: str, settle_s: float) -> dict[str, object]:
    """In the child: open the window on the catalog and watch it until every tab is idle."""
    start = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from lookalike.ui.app import open_window

    scratch = tempfile.mkdtemp(prefix="lookalike-bench-qsettings-")
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, scratch)
    window = open_window(["--catalog", catalog_path])
    if window is None:
        raise RuntimeError(f"the app could not open {catalog_path}")
    duplicates, similar = window.pages["duplicate"], window.pages["similar"]
    seen: dict[str, float] = {}
    moves: list[float] = []  # seconds from each slider move to its groups on screen

    def watch() -> None:
        now = time.perf_counter() - start
        if "first_groups_s" not in seen and duplicates.model.rowCount() > 0:
            seen["first_groups_s"] = now
        for kind, page in window.pages.items():  # when each tab first shows groups
            if f"{kind}_first_s" not in seen and page.model.rowCount() > 0:
                seen[f"{kind}_first_s"] = now
        if "settled_s" not in seen:
            idle = not window.session.runner.busy() and not any(page.busy() for page in window.pages.values())
            if not (("first_groups_s" in seen and idle) or now > settle_s):
                return
            seen["settled_s"] = now
            if now > settle_s:
                QApplication.quit()
                return
        elif similar.busy():
            return
        else:
            moves.append(now - seen.pop("moved_at"))
        if len(moves) == len(SLIDER_MOVES):
            QApplication.quit()
            return
        seen["moved_at"] = now
        similar.nudge_threshold(SLIDER_MOVES[len(moves)])

    peaks = {"RssAnon": 0, "RssFile": 0}

    def sample() -> None:  # how much of the peak is the app's own memory, how much mapped files
        for name, kb in status_kib("RssAnon", "RssFile").items():
            peaks[name] = max(peaks[name], kb)

    timer = QTimer()
    timer.timeout.connect(watch)
    timer.timeout.connect(sample)
    timer.start(20)
    QApplication.instance().exec()  # type: ignore[union-attr]
    counts = {kind: page.model.rowCount() for kind, page in window.pages.items()}
    window.close()
    return {
        "first_groups_s": round(seen["first_groups_s"], 2) if "first_groups_s" in seen else None,
        "settled_s": round(seen["settled_s"], 2),
        "settled": seen["settled_s"] <= settle_s,
        "groups_loaded": counts,
        "tab_first_groups_s": {kind: round(seen[f"{kind}_first_s"], 2) for kind in counts if f"{kind}_first_s" in seen},
        # The Similar slider moved as a person moves it, once settled: each figure runs from the
        # move to its groups on screen, the slider's 100 ms pause for a next move included.
        "similar_slider_moves": list(SLIDER_MOVES),
        "similar_slider_s": [round(s, 2) for s in moves],
        # Sampled every 20 ms (Linux): anonymous memory, and mapped files' pages (libraries, the
        # neighbour graph), which the system can drop and read again.
        "peak_anonymous_mb": round(peaks["RssAnon"] / 1024, 1),
        "peak_file_backed_mb": round(peaks["RssFile"] / 1024, 1),
    }


def measure(catalog_path: Path, settle_s: float = SETTLE_S) -> dict[str, object]:
    """The app on `catalog_path`: first groups, settling time and peak memory (MB)."""
    result, memory = isolated(_open, str(catalog_path), settle_s)
    return result | {"peak_rss_mb": memory["peak_rss_mb"]}
