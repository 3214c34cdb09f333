"""The PySide6 desktop app: views that observe `lookalike.core`, and workers that run it off the UI thread."""

from lookalike.ui import compat  # noqa: F401  (must run before any signal is emitted)
