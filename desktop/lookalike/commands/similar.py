"""`lookalike similar`: groups of photos of the same scene or subject (distinct pictures)."""

from __future__ import annotations

import argparse

from lookalike.commands.duplicates import add_group_options, show_groups


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "similar",
        help="list groups of similar photos",
        description="List groups of photos showing the same scene or subject. Duplicate copies are folded into "
        "the copy that would be kept, so each group shows distinct pictures.",
    )
    add_group_options(parser, "cosine similarity at or above which two photos are similar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return show_groups(args, "similar")
