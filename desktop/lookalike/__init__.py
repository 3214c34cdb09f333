"""Lookalike: find duplicate and similar photos, and remove the extras safely."""

__version__ = "0.1.0"
