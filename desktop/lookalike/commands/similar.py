"""`lookalike similar`: groups of photos of the same scene or subject (distinct pictures)."""

from __future__ import annotations

import argparse

from lookalike.commands.duplicates import register_view


def register(subparsers: argparse._SubParsersAction) -> None:
    register_view(
        subparsers,
        "similar",
        summary="list groups of similar photos",
        description="List groups of photos showing the same scene or subject. Duplicate copies are folded into "
        "the copy that would be kept, so each group shows distinct pictures.",
        threshold_help="scene score (similarity for this library) at or above which two photos are similar",
    )
