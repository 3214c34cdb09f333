"""The `lookalike` command: one verb per subcommand (git style), `--json` on every listing.

With no arguments it opens the desktop app. Each verb lives in its own module of
`lookalike.commands` and is found by name, so adding a verb touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from lookalike import __version__, commands
from lookalike.commands.common import CommandError
from lookalike.core.catalog.store import CatalogError
from lookalike.core.display import shown


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike",
        description="Find duplicate and similar photos, and remove the extras safely.",
    )
    parser.add_argument("--version", action="version", version=f"lookalike {__version__}")
    parser.add_argument(
        "--catalog",
        metavar="PATH",
        help="catalog file (default: $LOOKALIKE_CATALOG, else the user data folder)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name == "common":
            continue
        module = importlib.import_module(f"lookalike.commands.{info.name}")
        module.register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        from lookalike.ui.app import main as gui_main

        return gui_main()
    for stream in (sys.stdout, sys.stderr):
        # CSV export writes names that are not valid UTF-8 as their own bytes (text listings mark them).
        stream.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    args = build_parser().parse_args(argv)
    if args.verb is None:
        build_parser().print_help()
        return 2
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # here, so a full disk under `> file` is reported like any failure
        return code
    except CommandError as exc:
        print(f"lookalike: {shown(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lookalike: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `lookalike export | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 0
    except (CatalogError, OSError) as exc:
        # A disk that filled up or failed under the catalog, a saved cache or the output.
        _settle_stdout()
        print(f"lookalike: {shown(_failure(exc))}", file=sys.stderr)
        return 1


def _failure(exc: Exception) -> str:
    """One sentence for a failed write or read: `exc`'s own words, or its file and reason."""
    if not isinstance(exc, OSError):
        return str(exc)
    reason = (exc.strerror or str(exc)).lower()
    return f"{exc.filename}: {reason}" if exc.filename else f"cannot write the output: {reason}"


def _settle_stdout() -> None:
    """Flush what stdout holds; when that fails too, send it to /dev/null: flushing again at
    exit would fail the same way (`export > /dev/full`) and print a traceback after our one line."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass  # no stdout to speak of


if __name__ == "__main__":
    raise SystemExit(main())
