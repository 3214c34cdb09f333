"""The `lookalike` command: one verb per subcommand (git style), `--json` on every listing.

With no arguments it opens the desktop app. Each verb lives in its own module of
`lookalike.commands` and is found by name, so adding a verb touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from lookalike import __version__, commands
from lookalike.commands.common import CommandError
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
        # File names that are not valid UTF-8 print as their bytes, as `ls` does.
        stream.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    args = build_parser().parse_args(argv)
    if args.verb is None:
        build_parser().print_help()
        return 2
    try:
        return int(args.run(args) or 0)
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


if __name__ == "__main__":
    raise SystemExit(main())
