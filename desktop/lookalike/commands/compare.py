"""`lookalike compare DIR_A DIR_B`: how much two folders hold the same pictures, and what one lacks."""

from __future__ import annotations

import argparse
from pathlib import Path

from lookalike.commands.common import CommandError, add_json_flag, manifest_for, open_catalog, print_json, print_table
from lookalike.commands.scan import scan_roots
from lookalike.core.explore.albums import compare_folders, in_catalog
from lookalike.core.explore.matching import PAIR_THRESHOLD


def add_matching_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--s", type=float, default=PAIR_THRESHOLD, metavar="S",
                        help=f"pair threshold: photos match when at least this similar (default: {PAIR_THRESHOLD})")
    parser.add_argument("--m", type=int, metavar="M", help="average only the M best matches (default: all)")
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="model whose vectors to use (default: settings)")
    add_json_flag(parser)


def check_matching_options(args: argparse.Namespace) -> None:
    if not -1 <= args.s <= 1:
        raise CommandError(f"--s must be a similarity in [-1, 1] (got {args.s})", exit_code=2)
    if args.m is not None and args.m < 1:
        raise CommandError(f"--m must be at least 1 (got {args.m})", exit_code=2)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare two folders: set similarity, matched photos, photos on one side only",
        description="Match the photos of two folders one to one (greedy and optimal) and report the set "
        "similarity, the matched pairs and the photos only one folder holds. Folders not yet in the "
        "catalog are scanned first.",
    )
    parser.add_argument("folder_a", metavar="DIR_A")
    parser.add_argument("folder_b", metavar="DIR_B")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where the model runs for a scan (default: settings)")
    add_matching_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_matching_options(args)
    folders = [Path(args.folder_a).expanduser(), Path(args.folder_b).expanduser()]
    for folder in folders:
        if not folder.is_dir():
            raise CommandError(f"not a folder: {folder}", exit_code=2)
    model_id = manifest_for(args.model).model_id
    with open_catalog(args, create=True) as catalog:
        unseen = [f for f in folders if not in_catalog(catalog, f)]
        if unseen and scan_roots(catalog, unseen, args).cancelled:
            return 130
        result = compare_folders(catalog, model_id, folders[0], folders[1], args.s, args.m)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"Similarity {result.similarity_optimal:.3f} (optimal matching), {result.similarity_greedy:.3f} (greedy)")
    print(f"{len(result.pairs)} matched pairs, {len(result.only_a)} only in {folders[0]}, {len(result.only_b)} only in {folders[1]}")
    for title, paths in ((f"Only in {folders[0]}:", result.only_a), (f"Only in {folders[1]}:", result.only_b)):
        if paths:
            print(title)
            print_table(("PATH",), [(p,) for p in paths])
    return 0
