"""`lookalike search`: the catalogued photos most like one or more images."""

from __future__ import annotations

import argparse
import sys

from lookalike.commands.common import (
    CommandError,
    add_json_flag,
    manifest_for,
    open_catalog,
    print_json,
    print_table,
    say,
    settings,
)
from lookalike.core.display import shown


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search",
        help="find the catalogued photos most like some images",
        description="Rank the catalogued photos by similarity to each IMAGE (which need not be catalogued).",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="query photo(s)")
    parser.add_argument("--top", type=int, default=10, metavar="K", help="matches per image (default: 10)")
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="model to compare with (default: settings)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where the model runs (default: settings)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the model and the index stack load only for the verbs that need them.
    from lookalike.core.engines.embedder import Embedder, EmbedderError
    from lookalike.core.engines.manifest import ManifestError
    from lookalike.core.explore.search import CLOSE_MATCH, is_close, search_images

    if args.top < 1:
        raise CommandError(f"--top must be at least 1 (got {args.top})", exit_code=2)
    manifest = manifest_for(args.model)
    try:
        embedder = Embedder(manifest, device=args.device or settings().device)  # type: ignore[arg-type]
    except (EmbedderError, ManifestError) as exc:
        raise CommandError(str(exc)) from exc
    with open_catalog(args) as catalog:
        results = search_images(catalog, embedder, args.images, top_k=args.top)
    failed = 1 if any(r.error for r in results) else 0
    if args.json:
        print_json(
            {
                "results": [
                    {
                        "query": r.query,
                        "matches": [{"path": f.path, "similarity": round(s, 4)} for f, s in r.matches],
                        **({"error": r.error} if r.error else {}),
                    }
                    for r in results
                ]
            }
        )
        return failed
    for result in results:
        if result.error:
            print(f"lookalike: {shown(result.error)}", file=sys.stderr)
            continue
        say(f"Photos most like {result.query}:")
        if result.matches:
            if not is_close(result.matches[0][1]):
                print(f"  No close match: the best is {result.matches[0][1]:.3f}, below {CLOSE_MATCH:.2f}.")
            rows = [(rank, f"{s:.3f}", "match" if is_close(s) else "not close", f.path) for rank, (f, s) in enumerate(result.matches, start=1)]
            print_table(("#", "SIMILARITY", "CLOSE", "PATH"), rows)
        else:
            print("  (the catalog holds no photos for this model; run `lookalike scan` first)")
        print()
    return failed
