"""`lookalike errors`: the files a scan could not use, with the reason for each."""

from __future__ import annotations

import argparse

from lookalike.commands.common import add_json_flag, open_catalog, print_json, print_table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "errors",
        help="list files that could not be read, and why",
        description="List the files whose last scan failed (corrupt, truncated, unreadable...) with the reason.",
    )
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_catalog(args) as catalog:
        errors = catalog.errors()
    if args.json:
        print_json({"errors": [{"path": path, "error": reason} for path, reason in errors]})
    elif errors:
        print_table(("PATH", "REASON"), errors)
    else:
        print("No errors: every scanned file could be read.")
    return 0
