"""Scan progress in the status bar: a bar of files done/total, rate, ETA and the current file."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from lookalike.core.scan.pipeline import ScanProgress, ScanReport
from lookalike.ui import format as fmt

PHASES = {"walking": "Looking for photos", "embedding": "Analysing photos", "finishing": "Finishing"}


def describe(progress: ScanProgress) -> str:
    """The status line under the bar, e.g. 'Analysing photos: 120 of 335 · 24.1 files/s · 9 s left',
    or 'Paused: 120 of 335' (a paused scan reports no rate: see ProgressMeter.set_paused)."""
    label = "Paused" if progress.paused else PHASES.get(progress.phase, progress.phase)
    if progress.phase == "walking":
        return f"{label}: {progress.files_found:,} found"
    parts = [f"{label}: {progress.files_done:,} of {progress.files_total:,}"]
    if progress.rate > 0:
        parts.append(f"{progress.rate:.1f} files/s")
    if progress.eta_seconds is not None:
        parts.append(f"{fmt.duration(progress.eta_seconds)} left")
    if progress.errors:
        parts.append(f"{progress.errors} problems")
    return " \u00b7 ".join(parts)


def summarize(report: ScanReport) -> str:
    """One sentence after a scan. A cancelled one counts what it really catalogued, not the
    files it found new (most of which it never read)."""
    if report.cancelled:
        to_read = report.new + report.changed + report.reembedded
        if not to_read:
            return "Scan cancelled while looking for photos: nothing new was catalogued."
        return (
            f"Scan cancelled: {report.embedded:,} of {to_read:,} new or changed photos catalogued; "
            "what was done is kept, scan again to finish."
        )
    counts = [f"{report.new} new", f"{report.changed} changed", f"{report.unchanged} unchanged"]
    if report.missing:
        counts.append(f"{report.missing} gone")
    if report.errors:
        counts.append(f"{report.errors} could not be read")
    return f"Scan finished in {fmt.duration(report.elapsed)}: {', '.join(counts)} ({report.provider.replace('ExecutionProvider', '')})"


class ScanStatus(QWidget):
    """Hidden between scans; during one, the bar and two lines of text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(260)
        self.bar.setTextVisible(True)
        self.bar.setAccessibleName("Scan progress")
        self.text = QLabel()
        self.current = QLabel()
        self.current.setMinimumWidth(120)
        self.current.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.current.setForegroundRole(self.current.palette().ColorRole.PlaceholderText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.text)
        layout.addWidget(self.current, 1)
        self.hide()

    def start(self) -> None:
        self.bar.setRange(0, 0)
        self.text.setText("Starting scan (loading the model)\u2026")
        self.current.clear()
        self.show()

    def update_progress(self, progress: ScanProgress) -> None:
        if progress.phase == "embedding" and progress.files_total:
            self.bar.setRange(0, progress.files_total)
            self.bar.setValue(progress.files_done)
            self.bar.setFormat("%v / %m")
        else:
            self.bar.setRange(0, 0)
        self.text.setText(describe(progress))
        path = progress.current_path
        self.current.setToolTip(path)
        self.current.setText(self.current.fontMetrics().elidedText(path, Qt.TextElideMode.ElideLeft, max(120, self.current.width())))

    def stop(self) -> None:
        self.hide()
