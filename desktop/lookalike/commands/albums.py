"""`lookalike albums`: pairs of folders that largely hold the same pictures (an exported copy, a backup made twice)."""

from __future__ import annotations

import argparse

from lookalike.commands.common import CommandError, manifest_for, open_catalog, print_json, print_table
from lookalike.commands.compare import add_matching_options, check_matching_options
from lookalike.core.explore.albums import MIN_OVERLAP, find_albums


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "albums",
        help="find pairs of folders that largely hold the same pictures",
        description="Find pairs of folders whose photos match one to one for at least --overlap of the smaller "
        "folder, best first.",
    )
    parser.add_argument("--overlap", type=float, default=MIN_OVERLAP, metavar="SHARE",
                        help=f"share of the smaller folder that must match (default: {MIN_OVERLAP})")
    add_matching_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_matching_options(args)
    if not 0 < args.overlap <= 1:
        raise CommandError(f"--overlap must be in (0, 1] (got {args.overlap})", exit_code=2)
    model_id = manifest_for(args.model).model_id
    with open_catalog(args) as catalog:
        pairs = find_albums(catalog, model_id, args.s, args.m, args.overlap)
    if args.json:
        print_json({"albums": [p.to_dict() for p in pairs]})
        return 0
    if not pairs:
        print("No two folders hold largely the same pictures.")
        return 0
    print_table(("OVERLAP", "SIMILARITY", "PHOTOS", "FOLDER A", "FOLDER B"),
                [(f"{p.overlap:.0%}", f"{p.comparison.similarity_optimal:.3f}", f"{p.size_a}/{p.size_b}", p.a, p.b) for p in pairs])
    return 0
