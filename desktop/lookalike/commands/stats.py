"""`lookalike stats`: what the catalog holds, for a quick health check."""

from __future__ import annotations

import argparse
from datetime import datetime

from lookalike.commands.common import add_json_flag, manifest_for, open_catalog, print_json, print_table, say


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="count the catalogued files, embeddings and scanned folders",
        description="Show file counts by status, embeddings for the current model, folders and catalog size.",
    )
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="model whose embeddings to count (default: settings)")
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_id = manifest_for(args.model).model_id
    with open_catalog(args) as catalog:
        data = {
            "catalog": catalog.location,
            "catalog_bytes": catalog.size_bytes(),
            "files": catalog.status_counts(),
            "model_id": model_id,
            "embedded": catalog.embedded_count(model_id),
            "roots": [{"path": r.path, "last_scan_at": _iso(r.last_scan_at)} for r in catalog.roots()],
        }
    if args.json:
        print_json(data)
        return 0
    files = data["files"]
    say(f"Catalog   {data['catalog']} ({data['catalog_bytes'] / 1e6:.1f} MB)")
    print(f"Files     {files['ok']} ok, {files['error']} errors, {files['missing']} missing")
    print(f"Embedded  {data['embedded']} with {model_id}")
    if data["roots"]:
        print()
        print_table(("FOLDER", "LAST SCAN"), [(r["path"], r["last_scan_at"] or "never") for r in data["roots"]])
    return 0


def _iso(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp).isoformat(timespec="seconds") if timestamp else None
