"""`lookalike scan PATH...`: bring the catalog up to date with some folders.

`--engine ray` decodes and embeds on Ray workers (core/scan/ray_engine.py,
imported only then); the walk, the diff and the catalog writes stay here.

Progress goes to stderr (a rich bar on a terminal, a plain line every ~2 s in a
log), the summary to stdout. Ctrl-C stops cleanly: finished work is committed
and the next scan continues from there; a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lookalike.commands.common import CommandError, add_json_flag, manifest_for, open_catalog, print_json, say, settings
from lookalike.core.catalog.store import Catalog, CatalogBusy
from lookalike.core.scan.discovery import folder_problem
from lookalike.core.engines.embedder import Embedder, EmbedderError
from lookalike.core.engines.manifest import ManifestError, ModelManifest
from lookalike.core.scan.pipeline import DECODE_TIMEOUT, RemoteEngine, Scanner, ScanProgress, ScanReport

#: Seconds between plain progress lines when stderr is not a terminal.
PLAIN_INTERVAL = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="find and embed the photos in folders (only new or changed files are read)",
        description="Walk folders, read new and changed photos, and store their fingerprints in the catalog.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="folder to scan")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where the model runs (default: settings)")
    parser.add_argument("--workers", type=_positive, metavar="N", help="decoding threads (default: settings)")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip paths matching GLOB (repeatable)"
    )
    parser.add_argument("--model", metavar="NAME|MANIFEST", help="shipped model name or manifest .json")
    parser.add_argument(
        "--decode-timeout",
        type=_seconds,
        default=DECODE_TIMEOUT,
        metavar="SECONDS",
        help=f"record a file as an error when it takes longer to decode (default: {DECODE_TIMEOUT:g})",
    )
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="where photos are decoded and embedded: this machine's threads, or Ray workers "
        "(needs the cluster extra; the walk and the catalog stay here)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        help="head of the Ray cluster to use with --engine ray (default: start a local Ray instance); "
        "its workers must see the photos at the same paths",
    )
    add_json_flag(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.ray_address and args.engine != "ray":
        raise CommandError("--ray-address needs --engine ray", exit_code=2)
    roots = [Path(p).expanduser() for p in args.paths]
    for root in roots:
        problem = folder_problem(root)
        if problem:
            raise CommandError(f"cannot scan {root}: {problem}", exit_code=2)
    with open_catalog(args, create=True) as catalog:
        report = scan_roots(catalog, roots, args)
        if args.json:
            print_json({**report.to_dict(), "catalog": catalog.location})
        else:
            _print_summary(report)
    return 130 if report.cancelled else 0


def scan_roots(catalog: Catalog, roots: list[Path], args: argparse.Namespace) -> ScanReport:
    """Scan `roots` into `catalog` with progress on stderr and Ctrl-C handling; the options
    this verb adds (workers, excludes, decode timeout) fall back to the settings where
    `args` comes from another verb (`compare` scans folders it has not seen)."""
    config = settings()
    manifest = manifest_for(getattr(args, "model", None))
    cancel = threading.Event()
    device = getattr(args, "device", None) or config.device
    decode_timeout = getattr(args, "decode_timeout", DECODE_TIMEOUT)
    on_ray = getattr(args, "engine", "local") == "ray"
    with _scan_lock(catalog), ExitStack() as stack:
        try:
            # On Ray the local model only names the vectors (model id, size): one thread, CPU.
            embedder = Embedder(manifest, device="cpu", threads=1) if on_ray else Embedder(manifest, device=device)
        except (EmbedderError, ManifestError) as exc:
            raise CommandError(str(exc)) from exc
        engine = stack.enter_context(_ray_engine(args, manifest, device, decode_timeout)) if on_ray else None
        provider = engine.provider if engine is not None else embedder.provider
        print(f"lookalike: model {manifest.name} on {provider}", file=sys.stderr)
        scanner = Scanner(
            catalog,
            embedder,
            workers=getattr(args, "workers", None) or config.workers,
            excludes=[*config.excludes, *getattr(args, "exclude", [])],
            decode_timeout=decode_timeout,
            engine=engine,
        )
        with _cancel_on_interrupt(cancel), _progress_view() as show:
            return scanner.run(roots, show, cancel)


@contextmanager
def _ray_engine(
    args: argparse.Namespace, manifest: ModelManifest, device: str, decode_timeout: float
) -> Iterator[RemoteEngine]:
    """Ray workers for this scan, stopped after it; a missing Ray, an unreachable
    cluster or a worker failure (at start or mid-scan) is one line."""
    try:
        from lookalike.core.scan import ray_engine
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "ray":
            raise
        raise CommandError("--engine ray needs Ray: pip install 'lookalike[cluster]'") from exc
    try:
        ray_engine.connect(args.ray_address)
        engine = ray_engine.RayEngine(
            manifest, workers=args.workers, device=device, decode_timeout=decode_timeout  # type: ignore[arg-type]
        )
    except ray_engine.RayEngineError as exc:
        raise CommandError(str(exc)) from exc
    try:
        yield engine
    except ray_engine.RayEngineError as exc:
        raise CommandError(f"{exc}; run the same scan again to finish it") from exc
    finally:
        engine.close()


@contextmanager
def _scan_lock(catalog: Catalog) -> Iterator[None]:
    """Fail before loading the model when another scan is writing this catalog."""
    try:
        with catalog.scan_lock():
            yield
    except CatalogBusy as exc:
        raise CommandError(str(exc), exit_code=3) from exc


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


@contextmanager
def _cancel_on_interrupt(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C asks the scan to stop after committing; a second one aborts."""

    def handle(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nlookalike: stopping; what is done is kept (Ctrl-C again to abort)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_view() -> _RichView | _PlainView:
    return _RichView() if sys.stderr.isatty() else _PlainView()


class _RichView:
    """A live bar with rate and ETA on a terminal."""

    def __enter__(self) -> _RichView:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._progress.__enter__()
        self._task = self._progress.add_task("walking", total=None, rate="", eta="-")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, exc, tb)

    def __call__(self, p: ScanProgress) -> None:
        if p.phase == "walking":
            self._progress.update(self._task, description="walking", completed=p.files_found, rate="")
            return
        self._progress.update(
            self._task,
            description=p.phase,
            total=p.files_total,
            completed=p.files_done,
            rate=f"{p.rate:.1f} files/s" if p.rate else "",
            eta=_duration(p.eta_seconds),
        )


class _PlainView:
    """One line every PLAIN_INTERVAL seconds and at phase changes: readable in logs."""

    def __init__(self) -> None:
        self._last = 0.0
        self._phase = ""

    def __enter__(self) -> _PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, p: ScanProgress) -> None:
        now = time.monotonic()
        if p.phase == self._phase and now - self._last < PLAIN_INTERVAL:
            return
        self._phase, self._last = p.phase, now
        if p.phase == "walking":
            line = f"walking: {p.files_found} photos found"
        elif p.phase == "finishing":
            line = f"finishing: {p.files_done}/{p.files_total} read, {p.errors} errors"
        else:
            line = (
                f"{p.phase}: {p.files_done}/{p.files_total} read, {p.files_skipped_unchanged} unchanged, "
                f"{p.errors} errors, {p.rate:.1f} files/s, ETA {_duration(p.eta_seconds)}"
            )
        print(f"lookalike: {line}", file=sys.stderr, flush=True)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _print_summary(report: ScanReport) -> None:
    state = "Scan stopped" if report.cancelled else "Scan finished"
    print(f"{state} in {report.elapsed:.1f} s ({report.embedded} photos read, model on {report.provider})")
    print(
        f"  new {report.new}, changed {report.changed}, unchanged {report.unchanged}, moved {report.moved}, "
        f"re-embedded {report.reembedded}, missing {report.missing}, errors {report.errors}"
    )
    if report.errors:
        print("  run `lookalike errors` to see why some files could not be read")
    if report.stalled:
        print("  stopped reading: many files in a row took too long to decode (is a disk not responding?)")
    for root in report.roots_offline:
        say(f"  offline (its photos are kept, not marked missing): {root}")
    for path, reason in report.unreadable:
        say(f"  could not read {path}: {reason}")
    if report.cancelled or report.stalled:
        print("  run the same scan again to finish it")
