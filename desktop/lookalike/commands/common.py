"""What every CLI verb shares: opening the catalog and the model, printing JSON or tables."""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lookalike.core.catalog.store import Catalog, CatalogError, CatalogRecovered
from lookalike.core.config import Settings, load_settings
from lookalike.core.engines import manifest
from lookalike.core.display import shown
from lookalike.core.engines.manifest import ManifestError, ModelManifest
from lookalike.core.paths import catalog_location, default_catalog_path


class CommandError(Exception):
    """Bad input or a failed action: printed as one line, non-zero exit."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def open_catalog(args: argparse.Namespace, create: bool = False) -> Catalog:
    """The catalog of --catalog (else the default one). Only `create=True` (scan) starts a new
    one: any other verb given a mistyped path says so instead of working on an empty catalog."""
    path = catalog_location(args.catalog) if getattr(args, "catalog", None) else default_catalog_path()
    if not create and isinstance(path, Path) and not path.exists():
        raise CommandError(f"no catalog at {path}; check --catalog, or create one with `lookalike scan FOLDER`")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CatalogRecovered)  # said below, in one plain line
            catalog = Catalog(path)
    except CatalogError as exc:
        raise CommandError(str(exc)) from exc
    if catalog.recovered is not None:
        print(f"lookalike: {shown(catalog.recovered)}", file=sys.stderr)
    return catalog


def settings() -> Settings:
    return load_settings()


def manifest_for(name_or_path: str | None = None) -> ModelManifest:
    """`--model` (else the settings' model) as `core.manifest.manifest_for` finds it; errors in one line."""
    try:
        return manifest.manifest_for(name_or_path or settings().model)
    except ManifestError as exc:
        raise CommandError(str(exc)) from exc


#: Lone surrogates: the undecodable bytes of a file name (os.fsdecode's surrogateescape).
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(data: Any, indent: int | None = None) -> str:
    """JSON in which undecodable bytes of file names are \\udcXX escapes: the output
    stays valid UTF-8, and `json.loads` turns it back into the exact name."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: Any) -> None:
    sys.stdout.write(json_text(data, indent=2) + "\n")


def say(text: object) -> None:
    """Print one line of text output; file names in it cannot break it (core/display.py)."""
    print(shown(text))


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table (rich is used for progress; tables stay pipe-friendly).

    Cells are shown safely (core/display.py): a name cannot add a row or a colour.
    """
    rows = [[("" if v is None else shown(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
