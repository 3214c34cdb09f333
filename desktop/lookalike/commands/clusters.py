"""`lookalike clusters`: the whole collection in visual clusters, each with its most typical photos."""

from __future__ import annotations

import argparse

from lookalike.commands.common import CommandError, add_json_flag, manifest_for, open_catalog, print_json, print_table
from lookalike.core.explore.clusters import MAX_DISTANCE, catalog_clusters


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "clusters",
        help="group the whole collection into clusters of look-alike photos",
        description="Put every catalogued photo in exactly one cluster of photos that look alike "
        "(every two photos of a cluster at least 1 - DISTANCE similar), largest cluster first.",
    )
    parser.add_argument("--max-distance", type=float, default=MAX_DISTANCE, metavar="DISTANCE",
                        help=f"cosine distance at which clusters stop merging, 0..2 (default: {MAX_DISTANCE})")
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="model whose vectors to use (default: settings)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.max_distance <= 2:
        raise CommandError(f"--max-distance must be in (0, 2] (got {args.max_distance})", exit_code=2)
    model_id = manifest_for(args.model).model_id
    with open_catalog(args) as catalog:
        found = catalog_clusters(catalog, model_id, args.max_distance)
    if args.json:
        print_json({"clusters": [c.to_dict() for c in found]})
        return 0
    if not found:
        print("The catalog holds no photos for this model; run `lookalike scan` first.")
        return 0
    print(f"{sum(len(c.paths) for c in found)} photos in {len(found)} clusters")
    print_table(("#", "PHOTOS", "MOST TYPICAL"), [(n, len(c.paths), c.paths[0]) for n, c in enumerate(found, start=1)])
    return 0
