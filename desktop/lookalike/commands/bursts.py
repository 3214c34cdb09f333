"""`lookalike bursts`: near-identical shots (burst frames, brackets, re-takes), best shot first."""

from __future__ import annotations

import argparse

from lookalike.commands.duplicates import register_view


def register(subparsers: argparse._SubParsersAction) -> None:
    register_view(
        subparsers,
        "burst",
        summary="list near-identical shots (bursts, brackets), with the best shot",
        description="List groups of near-identical shots: burst frames, bracketed exposures, a re-take moments "
        "apart. They are different pictures, not copies: the best shot (well exposed, sharpest) is proposed, "
        "and `dedupe` never removes them unless asked to with --kind burst.",
        threshold_help="structural score at or above which aligned shots are grouped",
    )
