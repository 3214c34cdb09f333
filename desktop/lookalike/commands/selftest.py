"""`lookalike selftest`: check that this copy of Lookalike works, as installed, on the demo photos.

Meant for installers and support: after `dpkg -i` or unpacking a bundle, one
command proves that the model, the ONNX runtime, the image decoders, the scanner,
the grouping and the Qt window all work from the installed files. It runs
offscreen (no display needed) and never touches the user's catalog.

`--startup-time` only opens the main window and prints how long the process took,
from its start, until the window was exposed: the number packaging/README.md reports.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lookalike.commands.common import add_json_flag, print_json
from lookalike.core.selftest import Check, CheckFailed, Selftest, describe_environment, process_age, run_core_checks

#: How long the window may take to appear before the check fails (a cold start on a slow disk).
WINDOW_TIMEOUT_MS = 30_000


def register(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "selftest",
        help="check this installation: model, sample scan, duplicate groups, window",
        description="Check that this installed copy works: verify the model, scan the bundled "
        "sample photos into a temporary catalog, find their duplicate groups and open the "
        "main window offscreen. Exits 0 only if every check passed.",
    )
    add_json_flag(parser)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where to run the model")
    parser.add_argument("--no-gui", action="store_true", help="skip the window check")
    parser.add_argument(
        "--startup-time",
        action="store_true",
        help="only open the main window; print the seconds from process start until it is shown",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Before anything imports Qt: the check must work on a machine with no display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.startup_time:
        return _startup_time(args)

    printer = None if args.json else _print_check
    selftest = Selftest(on_check=printer)
    if not args.json:
        print(describe_environment())
    run_core_checks(selftest, device=args.device)
    if not args.no_gui:
        selftest.check("window", _window_check)
    report = selftest.report
    if args.json:
        print_json({"environment": describe_environment(), **report.to_dict()})
    else:
        failed = [c.name for c in report.checks if not c.ok]
        print("selftest passed" if report.ok else f"selftest FAILED: {', '.join(failed)}")
    return 0 if report.ok else 1


def _print_check(check: Check) -> None:
    mark = "ok  " if check.ok else "FAIL"
    print(f"  {mark}  {check.name:<10} {check.detail} ({check.seconds:.2f} s)", flush=True)


def _startup_time(args: argparse.Namespace) -> int:
    seconds: dict[str, float] = {}

    def measure() -> str:
        detail = _window_check(on_shown=lambda: seconds.setdefault("shown", _since_start()))
        return detail

    selftest = Selftest()
    ok = selftest.check("window", measure)
    shown = seconds.get("shown")
    if args.json:
        print_json({"ok": ok, "startup_seconds": shown, "platform": os.environ["QT_QPA_PLATFORM"]})
    elif ok:
        print(f"startup: {shown:.2f} s from process start to a visible main window "
              f"(QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']})")
    else:
        print(f"startup: FAILED: {selftest.report.checks[-1].detail}", file=sys.stderr)
    return 0 if ok else 1


_IMPORTED_AT = time.monotonic()


def _since_start() -> float:
    """Seconds since the process started; since this module was imported where the OS won't say."""
    age = process_age()
    return age if age is not None else time.monotonic() - _IMPORTED_AT


def _window_check(on_shown: Callable[[], Any] | None = None) -> str:
    """Create the app's main window offscreen, wait until it is exposed, close it."""
    try:
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        raise CheckFailed(f"Qt (PySide6) cannot be imported: {exc}") from exc
    create = _main_window_factory()

    # The window opens the default catalog: point it at a throwaway one.
    tmp = Path(tempfile.mkdtemp(prefix="lookalike-selftest-ui-"))
    previous = os.environ.get("LOOKALIKE_CATALOG")
    os.environ["LOOKALIKE_CATALOG"] = str(tmp / "catalog.sqlite")
    try:
        app = QApplication.instance() or QApplication([sys.argv[0] or "lookalike"])
        window = create()
        window.show()
        if not QTest.qWaitForWindowExposed(window, WINDOW_TIMEOUT_MS):
            raise CheckFailed(f"the main window was not shown within {WINDOW_TIMEOUT_MS // 1000} s")
        if on_shown:
            on_shown()
        title = window.windowTitle() or type(window).__name__
        platform = app.platformName()
        window.close()
        window.deleteLater()
        app.processEvents()
        return f"main window {title!r} shown and closed (Qt platform {platform})"
    finally:
        if previous is None:
            os.environ.pop("LOOKALIKE_CATALOG", None)
        else:
            os.environ["LOOKALIKE_CATALOG"] = previous
        shutil.rmtree(tmp, ignore_errors=True)


def _main_window_factory() -> Callable[[], Any]:
    """The UI's way to build its main window without entering the event loop."""
    try:
        app_module = importlib.import_module("lookalike.ui.app")
    except ImportError as exc:
        raise CheckFailed(f"the desktop UI cannot be imported (lookalike.ui.app): {exc}") from exc
    for name in ("create_main_window", "create_window", "build_main_window"):
        factory = getattr(app_module, name, None)
        if callable(factory):
            return factory
    for module_name in ("lookalike.ui.main_window", "lookalike.ui.mainwindow", "lookalike.ui.window"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise CheckFailed(f"the desktop UI cannot be imported ({module_name}): {exc}") from exc
            continue
        if callable(getattr(module, "MainWindow", None)):
            return module.MainWindow
    raise CheckFailed(
        "the desktop UI has no main window to open yet (looked for "
        "lookalike.ui.app.create_main_window() and lookalike.ui.main_window.MainWindow)"
    )
