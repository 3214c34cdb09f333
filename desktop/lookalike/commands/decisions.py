"""`lookalike decisions`: what a person told Lookalike, listed; `decisions revoke ID` takes one back.

Remembered decisions are "not a duplicate" / "not similar" verdicts (from
`not-duplicate`, `not-similar` and the app) and "keep this one" choices (from
`dedupe --keep` and the app), each action under a short id (core/decisions.py).
"""

from __future__ import annotations

import argparse
from datetime import datetime

from lookalike.commands.common import CommandError, add_json_flag, open_catalog, print_json, print_table
from lookalike.core.catalog.store import Catalog
from lookalike.core.review.decisions import KEEP, Remembered, remembered, revoke

WORDS = {"not_duplicate": "not duplicates", "not_similar": "not similar", KEEP: "keep"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "decisions",
        help="list remembered decisions (not a duplicate, not similar, keep this one); revoke one",
        description="List what you told Lookalike about your photos, newest first. "
        "`lookalike decisions revoke ID` takes one back (the groups form again as the rules say).",
    )
    add_json_flag(parser)
    actions = parser.add_subparsers(dest="action", metavar="{list,revoke}")
    listing = actions.add_parser("list", help="list remembered decisions (the default)")
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    taking_back = actions.add_parser("revoke", help="take back one remembered decision")
    taking_back.add_argument("id", metavar="ID", help="the decision's id (or its first characters)")
    taking_back.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with open_catalog(args) as catalog:
        if args.action == "revoke":
            try:
                action = revoke(catalog, args.id)
            except ValueError as exc:
                raise CommandError(str(exc), exit_code=2) from exc
            shown = _as_json(catalog, [action])[0]
            if args.json:
                print_json({"revoked": shown})
            else:
                print(f"revoked {action.id}: {WORDS[action.kind]}: {_photos(shown)}")
            return 0
        actions = remembered(catalog)
        listed = _as_json(catalog, actions)
    if args.json:
        print_json({"decisions": listed})
    elif listed:
        print_table(("ID", "SINCE", "DECISION", "PHOTOS"), [(d["id"], d["since"], WORDS[d["kind"]], _photos(d)) for d in listed])
    else:
        print("Nothing remembered.")
    return 0


def _as_json(catalog: Catalog, actions: list[Remembered]) -> list[dict]:
    paths = {f.id: f.path for f in catalog.files([i for a in actions for i in a.files]).values()}
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "since": datetime.fromtimestamp(a.created_at).isoformat(timespec="seconds"),
            "files": [paths.get(i, f"#{i}") for i in a.files],
        }
        for a in actions
    ]


def _photos(decision: dict) -> str:
    files = decision["files"]
    if decision["kind"] == KEEP:
        return f"{files[0]} over {', '.join(files[1:])}"
    return ", ".join(files)
