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
        print_json({"ok": ok, "startup_seconds": None if shown is None else round(shown, 3), "platform": os.environ["QT_QPA_PLATFORM"]})
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
    """Build the app's main window as `lookalike-gui` does, wait until it is exposed, close it.

    It gets a throwaway catalog and a throwaway QSettings folder, so neither the
    user's catalog nor their remembered window geometry and folders are touched.
    """
    try:
        from PySide6.QtCore import QEvent, QSettings, QThreadPool
        from PySide6.QtTest import QTest

        from lookalike.ui.app import create_app
        from lookalike.ui.main_window import MainWindow
    except ImportError as exc:
        raise CheckFailed(f"the desktop UI cannot be imported: {exc}") from exc

    tmp = Path(tempfile.mkdtemp(prefix="lookalike-selftest-ui-"))
    try:
        for scope_format in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(scope_format, QSettings.Scope.UserScope, str(tmp / "settings"))
        app = create_app([])
        window = MainWindow(tmp / "catalog.sqlite")
        window.show()
        if not QTest.qWaitForWindowExposed(window, WINDOW_TIMEOUT_MS):
            raise CheckFailed(f"the main window was not shown within {WINDOW_TIMEOUT_MS // 1000} s")
        if on_shown:
            on_shown()
        title = window.windowTitle() or type(window).__name__
        platform = app.platformName()
        window.close()
        # Really delete it now (no event loop runs to do it later): its thread pools
        # then wait for their jobs, which must not outlive the throwaway catalog.
        window.deleteLater()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        QThreadPool.globalInstance().waitForDone(WINDOW_TIMEOUT_MS)
        return f"main window {title!r} shown and closed (Qt platform {platform})"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
