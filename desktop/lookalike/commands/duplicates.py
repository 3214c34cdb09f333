"""`lookalike duplicates`: the groups of the app's Duplicates tab, with the copy to keep and why.

One group per picture (its byte-identical copies inside), then the identical
files that have no other copy: `core.review.view_groups`, as the app lists them.
Also holds what `lookalike bursts` and `similar` share with it: the verb of a review
view, its options, and the printing of review groups as JSON or a table.
"""

from __future__ import annotations

import argparse
import sys

from lookalike.commands.common import CommandError, add_json_flag, manifest_for, open_catalog, print_json, print_table
from lookalike.core.review.keeprules import human_bytes
from lookalike.core.review.tiers import GroupPages, ReviewGroup, View, check_threshold


def register(subparsers: argparse._SubParsersAction) -> None:
    register_view(
        subparsers,
        "duplicate",
        summary="list identical and duplicate photos, with the copy to keep",
        description="List one group per picture: its byte-identical copies and its copies re-encoded, resized, "
        "cropped, turned or greyscaled (as the app's Duplicates tab), each with the copy the keep rules would "
        "keep and why.",
        threshold_help="structural score at or above which proven copies are duplicates",
    )


def register_view(subparsers: argparse._SubParsersAction, view: View, summary: str, description: str, threshold_help: str) -> None:
    """The verb listing one review view (`duplicates`, `bursts`, `similar`: the app's tabs)."""
    parser = subparsers.add_parser(VERBS[view], help=summary, description=description)
    parser.add_argument("--threshold", type=float, metavar="T", help=f"{threshold_help}, in (0, 1] (default: settings)")
    parser.add_argument(
        "--model", metavar="NAME|MANIFEST", help="model whose embeddings group photos (default: settings)"
    )
    add_json_flag(parser)
    parser.set_defaults(run=lambda args: show_groups(args, view))


#: The verb of each review view.
VERBS: dict[str, str] = {"duplicate": "duplicates", "burst": "bursts", "similar": "similar"}


def show_groups(args: argparse.Namespace, view: View) -> int:
    """Find the groups a review view lists and print them: the text a page at a time as
    the keepers are chosen (the first groups show in seconds on a million photos), the
    JSON whole."""
    # Imported here: grouping loads the vector index stack, which other verbs never need.
    from lookalike.core.review.tiers import view_pages

    if args.threshold is not None:
        try:
            check_threshold(args.threshold)
        except ValueError as exc:
            raise CommandError(str(exc), exit_code=2) from exc
    model_id = manifest_for(args.model).model_id
    with open_catalog(args) as catalog:
        pages = view_pages(catalog, model_id, view, args.threshold)
        if args.json:
            print_json({"groups": [group_json(g) for g in pages.all()]})
        else:
            print_groups(pages, view)
    return 0


def group_json(group: ReviewGroup) -> dict[str, object]:
    return {
        "kind": group.kind,
        "reclaimable": group.reclaimable,
        "files": [
            {
                "id": m.file.id,
                "path": m.file.path,
                "similarity": round(m.similarity, 4),
                "keep": m.keep,
                "reason": m.reason,
                "width": m.file.width,
                "height": m.file.height,
                "size": m.file.size,
            }
            for m in group.members
        ],
    }


#: Groups printed between flushes of the text output.
PAGE = 100


def print_groups(pages: GroupPages, view: View) -> None:
    """The groups in order, each page flushed as soon as its keepers are chosen, then the
    count and the bytes the copies take (summed over what was printed, so exact)."""
    if not len(pages):
        print(f"No {'identical or duplicate' if view == 'duplicate' else view} photos found.")
        return
    number, total = 0, 0
    while page := pages.page(number, PAGE):
        for group in page:
            number += 1
            total += group.reclaimable
            print_group(number, group)
        sys.stdout.flush()
    if view == "duplicate":
        print(f"{number} groups; removing the copies not kept would free {human_bytes(total)}.")
    else:
        print(f"{number} groups of different shots (not copies: `dedupe` removes none of them unasked).")


def print_group(number: int, group: ReviewGroup) -> None:
    """One group as a header line and a table of its files, the keeper marked."""
    freed = f", {human_bytes(group.reclaimable)} reclaimable" if group.copies else ", different shots"
    print(f"Group {number} ({group.kind}, {len(group.members)} files{freed})")
    print_table(
        ("", "SIMILARITY", "SIZE", "PIXELS", "PATH", "REASON"),
        [
            (
                "keep" if m.keep else "-",
                f"{m.similarity:.3f}",
                human_bytes(m.file.size),
                f"{m.file.width}x{m.file.height}" if m.file.width else "?",
                m.file.path,
                m.reason,
            )
            for m in group.members
        ],
    )
    print()
