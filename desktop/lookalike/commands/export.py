"""`lookalike export`: the catalog's files as CSV or JSON, for spreadsheets and scripts.

Rows are streamed, so exporting a million files needs no more memory than ten.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from lookalike.commands.common import CommandError, json_text, open_catalog

COLUMNS = ("path", "size", "width", "height", "status", "error")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write the catalogued files as CSV or JSON",
        description="Export every present file (ok or error) with its size, dimensions, status and error.",
    )
    parser.add_argument("--format", choices=("csv", "json"), required=True)
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_catalog(args) as catalog, _destination(args.output) as out:
        rows = ({c: getattr(f, c) for c in COLUMNS} for f in catalog.iter_files(("ok", "error")))
        if args.format == "csv":
            writer = csv.DictWriter(out, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        else:
            out.write('{"files": [')
            for index, row in enumerate(rows):
                out.write(("," if index else "") + "\n  " + json_text(row))
            out.write("\n]}\n")
    return 0


@contextmanager
def _destination(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        # surrogateescape: a file name that is not valid UTF-8 is written as its own bytes.
        with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
            yield handle
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
