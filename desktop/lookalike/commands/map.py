"""`lookalike map`: the collection's 2-D map (t-SNE), as an image or as coordinates."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lookalike.commands.common import CommandError, add_json_flag, manifest_for, open_catalog, print_json
from lookalike.core.explore.layout import open_map
from lookalike.core.explore.render import render_map


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "map",
        help="draw the collection as a 2-D map of look-alike photos",
        description="Lay the catalogued photos out in 2-D so that photos that look alike lie close together "
        "(t-SNE, cached beside the catalog and updated after scans). Writes an image (--out) and/or the "
        "coordinates (--json).",
    )
    parser.add_argument("--out", type=Path, metavar="FILE.png", help="write the map as an image")
    parser.add_argument("--size", type=int, default=2000, metavar="PIXELS", help="image side (default: 2000)")
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="model whose vectors to use (default: settings)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out is None and not args.json:
        raise CommandError("say where the map goes: --out FILE.png and/or --json", exit_code=2)
    if args.size < 100:
        raise CommandError(f"--size must be at least 100 (got {args.size})", exit_code=2)
    if args.out is not None and args.out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise CommandError(f"--out must name a .png, .jpg or .webp file (got {args.out})", exit_code=2)
    model_id = manifest_for(args.model).model_id
    with open_catalog(args) as catalog:
        layout = open_map(catalog, model_id)
        files = catalog.files(layout.ids.tolist())
    paths = {i: f.path for i, f in files.items()}
    if args.out is not None:
        try:
            render_map(layout, paths, args.out, side=args.size)
        except OSError as exc:
            raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"lookalike: wrote the map of {len(layout)} photos to {args.out}", file=sys.stderr)
    if args.json:
        print_json({"points": [{"path": paths[int(i)], "x": round(float(x), 4), "y": round(float(y), 4)}
                               for i, (x, y) in zip(layout.ids, layout.xy) if int(i) in paths]})
    return 0
