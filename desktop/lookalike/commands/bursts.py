"""`lookalike bursts`: near-identical shots (burst frames, brackets, re-takes), best shot first."""

from __future__ import annotations

import argparse

from lookalike.commands.duplicates import add_group_options, show_groups


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bursts",
        help="list near-identical shots (bursts, brackets), with the best shot",
        description="List groups of near-identical shots: burst frames, bracketed exposures, a re-take moments "
        "apart. They are different pictures, not copies: the best shot (well exposed, sharpest) is proposed, "
        "and `dedupe` never removes them unless asked to with --kind burst.",
    )
    add_group_options(parser, "structural score at or above which aligned shots are grouped")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return show_groups(args, "burst")
