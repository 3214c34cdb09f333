"""`lookalike not-duplicate PATH PATH...` / `not-similar`: remember that photos differ.

Marked photos are kept apart by later groupings (each pair of the given files);
`--forget` takes the verdict back, `--list` shows what is remembered.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime

from lookalike.commands.common import CommandError, add_json_flag, open_catalog, print_json, print_table
from lookalike.core.catalog.store import Catalog
from lookalike.core.review import decisions
from lookalike.core.review.decisions import decisions_for, forget, remember

VERBS = {
    "not-duplicate": ("not_duplicate", "remember that photos are not duplicates of each other"),
    "not-similar": ("not_similar", "remember that photos are not even similar (so not duplicates either)"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    for verb, (kind, help_text) in VERBS.items():
        parser = subparsers.add_parser(
            verb,
            help=help_text,
            description=f"{help_text[0].upper()}{help_text[1:]}: every pair of the given catalogued files is "
            "kept out of the same group from now on.",
        )
        parser.add_argument("paths", nargs="*", metavar="PATH", help="catalogued photo (two or more)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--forget", action="store_true", help="take the verdict back for these files")
        action.add_argument("--list", action="store_true", help="show remembered verdicts (for PATHs, or all)")
        add_json_flag(parser)
        parser.set_defaults(run=run, kind=kind)


def run(args: argparse.Namespace) -> int:
    with open_catalog(args) as catalog:
        ids = file_ids(catalog, args.paths)
        if args.list:
            return _list(catalog, args, ids)
        if len(ids) < 2:
            raise CommandError("give at least two catalogued photos", exit_code=2)
        if args.forget:
            count = forget(catalog, list(ids.values()), args.kind)
            message = f"forgot {count} pair(s)"
        else:
            count = remember(catalog, list(ids.values()), args.kind)
            message = f"remembered {count} new pair(s) as {args.kind.replace('_', ' ')}"
    if args.json:
        print_json({"kind": args.kind, "forget": args.forget, "pairs": count})
    else:
        print(message)
    return 0


def file_ids(catalog: Catalog, paths: Sequence[str]) -> dict[str, int]:
    """Catalogued file ids by the given path (`core.decisions.file_ids`); a missing one is an error."""
    found, missing = decisions.file_ids(catalog, paths)
    if missing:
        raise CommandError(f"not in the catalog (scan its folder first): {', '.join(missing)}", exit_code=2)
    return found


def _list(catalog: Catalog, args: argparse.Namespace, ids: dict[str, int]) -> int:
    decisions = [d for d in decisions_for(catalog, list(ids.values()) if ids else None) if d.kind == args.kind]
    paths = {f.id: f.path for f in catalog.files([i for d in decisions for i in (d.file_a, d.file_b)]).values()}
    rows = [
        (paths.get(d.file_a), paths.get(d.file_b), datetime.fromtimestamp(d.created_at).isoformat(timespec="seconds"))
        for d in decisions
    ]
    if args.json:
        print_json({"kind": args.kind, "pairs": [{"a": a, "b": b, "created_at": when} for a, b, when in rows]})
    elif rows:
        print_table(("PHOTO", "PHOTO", "SINCE"), rows)
    else:
        print("Nothing remembered.")
    return 0
