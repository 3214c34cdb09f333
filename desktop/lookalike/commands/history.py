"""`lookalike history [--batch N]`: past deletion batches, or the files of one of them.

Also the one place that prints journal entries, so `dedupe` and `undo` show a
file's fate exactly as the history later will.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from lookalike.commands.common import add_json_flag, open_catalog, print_json, print_table
from lookalike.core.removal.journal import EntryReport, batch_entries, history, recover
from lookalike.core.review.keeprules import human_bytes


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list past deletion batches (what was removed, skipped, restored)",
        description="List deletion batches newest first with file counts and space freed, "
        "or with --batch the fate of every file of one batch.",
    )
    parser.add_argument("--batch", type=int, metavar="N", help="show the files of batch N")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_catalog(args) as catalog:
        recover(catalog)  # a batch killed mid-way is settled before it is shown
        if args.batch is not None:
            entries = batch_entries(catalog, args.batch)
            if args.json:
                print_json({"batch": args.batch, "files": entries_json(entries)})
            else:
                print_entries(entries)
            return 0
        batches = history(catalog)
    if args.json:
        print_json({"batches": [asdict(b) for b in batches]})
    elif not batches:
        print("No deletions yet.")
    else:
        rows = [
            (
                b.id,
                datetime.fromtimestamp(b.created_at).strftime("%Y-%m-%d %H:%M"),
                b.mode,
                b.status,
                b.counts.get("done", 0),
                b.counts.get("skipped", 0) + b.counts.get("failed", 0),
                b.counts.get("restored", 0),
                human_bytes(b.bytes_removed),
                b.target or "",
            )
            for b in batches
        ]
        print_table(("BATCH", "DATE", "MODE", "STATUS", "REMOVED", "NOT REMOVED", "RESTORED", "FREED", "FOLDER"), rows)
    return 0


def entries_json(entries: Sequence[EntryReport]) -> list[dict]:
    return [asdict(e) for e in entries]


def print_entries(entries: Sequence[EntryReport]) -> None:
    """One line per file: its state, its path, and where it went or why it did not."""
    print_table(
        ("STATE", "FILE", "SIZE", "DETAIL"),
        [(e.state, e.source, human_bytes(e.size), e.reason or e.destination or "") for e in entries],
    )
