"""The PySide6 desktop app: views that observe `lookalike.core`, and workers that run it off the UI thread."""
