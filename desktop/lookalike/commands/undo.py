"""`lookalike undo [--batch N]`: put back the files of the last (or a given) deletion batch."""

from __future__ import annotations

import argparse

from lookalike.commands.common import CommandError, add_json_flag, open_catalog, print_json, say
from lookalike.commands.history import entries_json, print_entries
from lookalike.core.removal.journal import DeletionError
from lookalike.core.removal.undo import undo_batch, undo_last


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "undo",
        help="restore the files removed by the last deletion batch",
        description="Move the files of the last batch back from quarantine or the trash (freedesktop trash on "
        "Linux) to their original paths, never over a file that is there now. Permanent deletions cannot be "
        "undone. Exits 1 when some file could not be restored.",
    )
    parser.add_argument("--batch", type=int, metavar="N", help="undo batch N (see `lookalike history`)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_catalog(args) as catalog:
        try:
            report = undo_last(catalog) if args.batch is None else undo_batch(catalog, args.batch)
        except DeletionError as exc:
            raise CommandError(str(exc)) from exc
    if args.json:
        print_json(
            {
                "batch": report.batch_id,
                "mode": report.mode,
                "message": report.message,
                "files": entries_json(report.entries),
            }
        )
    else:
        say(report.message)
        if report.not_restored:
            print()
            print_entries(report.not_restored)
    return 1 if report.not_restored else 0
