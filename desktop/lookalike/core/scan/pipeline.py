"""The scan: walk the roots, reopen only what changed, embed it, remember it.

Pipeline (one `Scanner.run`):

1. walking   - register the roots, load what the catalog knows under them (one
               query per root), walk the disk and sort each file into unchanged
               (same path, size and mtime, already embedded with this model: never
               reopened), changed, needing a vector for a new model, or new.
               Paths that vanished and new paths with the same size and partial
               hash are the same file moved: it keeps its id, and its vector when
               its bytes are proven the same (full hash, or a rename), else it is
               read again into that row. What is
               still unseen (deleted, or now excluded) is marked missing, except
               under a root or folder that could not be read, or a root that is
               suddenly empty (an unplugged disk is not a deletion).
2. embedding - decode in a thread pool (Pillow releases the GIL), embed in
               batches (or both on a remote engine: Ray workers), write each
               batch in one transaction from this thread, so a killed scan
               resumes where it stopped with nothing doubled.
               Embedding goes EMBED_CHUNK files at a time, so a cancel is honoured
               within a fraction of a second; a pause holds the pipeline between
               files (the catalog stays committed and readable meanwhile).
               The vector index and the neighbour graph (with its structural
               scores and proof verdicts) grow with the scan: each time
               GRAPH_STEP of the library (at least GRAPH_MIN_STEP files) has been
               stored they are brought up to
               date, in place (only the new and changed files are searched).
3. finishing - record the roots' scan time and add the last stored files to the
               index and the graph the same way (a new library's first batch
               builds them), so a finished scan never waits for a full rebuild,
               the first search or grouping after it waits for neither, and
               regrouping stays a pass over the cached graph. A scan never
               refits the projection of a compact index (core/engines/projection.py):
               the next open outside a scan does.

Bad files never stop a scan: each is stored with status "error" and a reason,
including one whose decode outlives `decode_timeout` ("took too long to decode":
the scan stops waiting for it, see core/decodepool.py). A file that vanishes
between the walk and its decode (deleted, or its disk unplugged) is not stored
as an error, which would stick while its size and mtime stay the same: it is
reported and left for the next scan. One scan at a time writes a catalog
(`Catalog.scan_lock`); a second one fails at once with CatalogBusy.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, deque
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from lookalike.core.catalog.store import Catalog, FileRecord, KnownFile, Location
from lookalike.core.scan.decodepool import DeadlinePool, Task
from lookalike.core.scan.discovery import FoundFile, walk
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.analysis import VANISHED, Analysis, analyse, embed_analyses, overran
from lookalike.core.hashing import full_hash, partial_hash
from lookalike.core.matching.graph import open_graph
from lookalike.core.engines.index import SaveError, catalog_state, index_saved, open_index
from lookalike.core.paths import thumbnail_dir
from lookalike.core.scan.progress import ProgressCallback, ProgressMeter, ScanProgress

__all__ = ["DECODE_TIMEOUT", "RemoteEngine", "ScanProgress", "ScanReport", "Scanner"]

#: Seconds one file may take to decode before the scan records it as an error and
#: moves on. A 200 MP photo decodes in a few seconds on a slow machine.
DECODE_TIMEOUT = 30.0
#: Statuses of rows whose file is not on disk: "deleted" (removed by a deletion batch)
#: is kept as such, never turned into "missing", so history and undo stay truthful.
_GONE = ("missing", "deleted")
#: Files embedded per model call; cancel is checked between calls. 8 take ~0.25 s on
#: a busy 2-core CPU, where a whole batch (32) took over a second.
EMBED_CHUNK = 8
#: Share of the library stored since the graph was last brought up to date (at least one
#: batch) at which the scan updates it again. Each update is a pass over every edge, so
#: steps proportional to the library keep their total to a few passes whatever its size,
#: and below index.REBUILD_SHARE each one edits the index and graph in place.
GRAPH_STEP = 0.25
#: Files stored at least between two such updates: below it an update at the scan's end is
#: cheap anyway, and the updates (not interruptible) would delay a cancel.
GRAPH_MIN_STEP = 2_000
#: Seconds between looks at the pause event while paused (a cancel ends the wait at once).
_PAUSE_POLL = 0.05


@dataclass(slots=True)
class ScanReport:
    """What a scan did. Every file seen counts in exactly one of new, changed,
    unchanged (not reopened), moved and reembedded (same file, new model);
    `errors` counts the seen files that are unusable (new failures and known
    ones), `embedded` the vectors computed, `missing` the files newly marked gone,
    `revived` the unchanged files back on disk after being marked gone.
    A moved file whose bytes could not be proven the same counts as moved and
    is read again (its old vector is not reused).
    `stalled`: decoding stopped because many files in a row hung (a disk that
    stopped answering); the rest is left for the next scan.
    """

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    reembedded: int = 0
    missing: int = 0
    revived: int = 0
    errors: int = 0
    embedded: int = 0
    cancelled: bool = False
    stalled: bool = False
    roots_offline: list[str] = field(default_factory=list)
    # (path, reason): folders the walk could not read, files gone before they could be decoded
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    elapsed: float = 0.0
    provider: str = ""

    @property
    def touched_vectors(self) -> bool:
        """Whether the set of usable vectors changed (the saved index is then stale)."""
        return bool(self.new or self.changed or self.moved or self.reembedded or self.missing or self.revived)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["unreadable"] = [{"path": p, "reason": r} for p, r in self.unreadable]
        return data


@dataclass(frozen=True, slots=True)
class _Work:
    """A file to decode; `id` is the catalog row to overwrite (None: a new path).

    `same_content`: only a vector for the current model is missing.
    """

    found: FoundFile
    id: int | None
    same_content: bool = False


class RemoteEngine(Protocol):
    """Analyses files away from the scan's thread, embedding included (core/scan/ray_engine.py).
    The scan stays local: it walks, diffs and writes every outcome as for the local engine."""

    provider: str

    def analyse(self, paths: Sequence[str], cancel: threading.Event) -> Generator[Analysis, None, None]:
        """Each path's embedded outcome, in order; ends early once `cancel` is set."""
        ...


class Scanner:
    """Brings the catalog up to date with the files under some folders.

    `workers` decode threads; `excludes` fnmatch globs on full paths;
    `batch_size` files per embedding batch and per write transaction;
    `skip_dirs` folders never entered, besides the app's thumbnail cache; the
    catalog's own files (`Catalog.owns`) are always skipped, its neighbours never;
    `decode_timeout` seconds one file may take to decode; `engine` decodes and
    embeds elsewhere (the Ray engine) instead of in local threads with `embedder`,
    which then only names the model; `graph_step` files stored at least between
    two updates of the index and graph during the scan.
    One Scanner may run several scans, one at a time.
    """

    def __init__(
        self,
        catalog: Catalog,
        embedder: Embedder,
        *,
        workers: int = 2,
        excludes: Sequence[str] = (),
        batch_size: int = 32,
        skip_dirs: Sequence[Path | str] = (),
        decode_timeout: float = DECODE_TIMEOUT,
        engine: RemoteEngine | None = None,
        graph_step: int = GRAPH_MIN_STEP,
    ) -> None:
        self.catalog = catalog
        self.engine = engine
        self.decode_timeout = decode_timeout
        self.embedder = embedder
        self.workers = max(1, workers)
        self.excludes = tuple(excludes)
        self.batch_size = max(1, batch_size)
        self.graph_step = max(1, graph_step)  # files stored at least between graph updates
        self.skip_dirs = (thumbnail_dir(), *skip_dirs)

    def run(
        self,
        roots: Sequence[Path | str],
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> ScanReport:
        """Scan `roots` and return what changed.

        `progress` is called from this thread, at most ~10 times a second and at
        each phase change. Setting `cancel` stops the scan within a second:
        finished work is committed and the report says `cancelled=True`; the
        next run picks up the rest. While `pause` is set the scan waits at the
        next file (progress says `paused`); clearing it resumes, and a cancel
        ends a paused scan at once. Raises CatalogBusy when another scan is
        writing the catalog.
        """
        with self.catalog.scan_lock():
            meter = ProgressMeter(progress)
            controls = _Controls(cancel or threading.Event(), pause or threading.Event(), meter)
            return self._run(roots, meter, controls)

    def _run(self, roots: Sequence[Path | str], meter: ProgressMeter, controls: _Controls) -> ScanReport:
        cancel = controls.cancel
        report = ScanReport(provider=self.embedder.provider if self.engine is None else self.engine.provider)
        walked = self._walk(roots, meter, report, controls)
        if walked is not None:
            work, root_ids = walked
            meter.total = len(work)
            meter.set_phase("embedding")
            self._embed(work, root_ids, meter, report, controls)
            _note_lost_roots(root_ids, report)
        report.cancelled = cancel.is_set()
        meter.set_phase("finishing")
        if walked is not None and not report.cancelled and not report.stalled:
            self.catalog.mark_scanned(i for p, i in walked[1].items() if p not in report.roots_offline)
            # Changed vectors: the graph takes the files stored since its last step now (it
            # updates the index first), so the first grouping never waits for it. An unchanged rescan pays nothing, unless
            # the index is not saved (a full disk stopped the last save, or it was deleted).
            model_id = self.embedder.model_id
            if report.touched_vectors:
                open_graph(self.catalog, model_id, refit=False)
            elif not index_saved(self.catalog, model_id):
                open_index(self.catalog, model_id, self.embedder.dim)
        report.elapsed = meter.elapsed
        return report

    # --- walking ---------------------------------------------------------------

    def _walk(
        self, roots: Sequence[Path | str], meter: ProgressMeter, report: ScanReport, controls: _Controls
    ) -> tuple[list[_Work], dict[str, int]] | None:
        """Classify every file under the roots: (work, root ids); None when cancelled mid-walk."""
        meter.set_phase("walking")
        model_id = self.embedder.model_id
        root_ids: dict[str, int] = {}
        for root in roots:
            path = os.path.realpath(os.path.expanduser(os.fspath(root)))
            if path in root_ids or path in report.roots_offline:
                continue
            if _readable_dir(path):
                root_ids[path] = self.catalog.add_root(path)
            else:
                report.roots_offline.append(path)
        known: dict[str, KnownFile] = {}
        for path in root_ids:
            known.update(self.catalog.known_files(path, model_id))

        work: list[_Work] = []
        fresh: list[FoundFile] = []
        revived: list[int] = []
        per_root: Counter[str] = Counter()
        found = walk(
            root_ids,
            excludes=self.excludes,
            skip_dirs=self.skip_dirs,
            skip_file=self.catalog.owns,
            on_error=lambda path, reason: report.unreadable.append((path, reason)),
            cancel=controls.cancel,
        )
        for item in found:
            if not controls.proceed():
                return None
            meter.found += 1
            meter.current_path = item.path
            meter.tick()
            per_root[item.root] += 1
            seen = known.pop(item.path, None)
            if seen is None:
                fresh.append(item)
            elif (seen.size, seen.mtime_ns) != (item.size, item.mtime_ns):
                report.changed += 1
                work.append(_Work(item, seen.id))
            elif seen.failed or seen.embedded:
                report.unchanged += 1
                report.errors += seen.failed
                meter.skipped += 1
                if seen.status in _GONE:
                    revived.append(seen.id)  # back on disk, unchanged (a removed photo put back by hand)
            else:
                report.reembedded += 1
                work.append(_Work(item, seen.id, same_content=True))
        if controls.cancel.is_set():
            return None  # the walk stopped early: what it saw is not the whole disk
        meter.errors = report.errors

        # An empty root that the catalog knows photos in is most likely an
        # unmounted disk's mount point, and one that is gone now was unplugged
        # during the walk: treat both as offline, not as deleted.
        for path in root_ids:
            empty = per_root[path] == 0 and any(_under(p, path) for p, k in known.items() if k.status == "ok")
            if empty or not _readable_dir(path):
                report.roots_offline.append(path)
        shielded = [p for p, _ in report.unreadable] + report.roots_offline
        gone = {p: k for p, k in known.items() if not any(_under(p, s) for s in shielded)}
        matched = self._match_moves(fresh, gone, root_ids, work, report, controls.cancel)
        if matched is None:
            return None
        relocated, moved_ids = matched
        missing = [k.id for k in gone.values() if k.status not in _GONE and k.id not in moved_ids]
        report.missing = len(missing)
        self.catalog.relocate(relocated)
        self.catalog.mark_missing(missing)
        self.catalog.mark_present(revived)
        report.revived = len(revived)
        return work, root_ids

    def _match_moves(
        self,
        fresh: list[FoundFile],
        gone: dict[str, KnownFile],
        root_ids: dict[str, int],
        work: list[_Work],
        report: ScanReport,
        cancel: threading.Event,
    ) -> tuple[list[tuple[int, Location]], set[int]] | None:
        """Pair new paths with vanished files of equal size and partial hash.

        Returns (rows to relocate with their vectors, every paired row id); None
        when cancelled. A pair keeps the vanished row's id (decisions, history).
        Its vector is reused only when the bytes are proven the same
        (`_same_bytes`): a file with equal ends but another middle would
        otherwise carry a stranger's vector. An unproven pair is read again
        into that row (the row moves when it is stored, so an interrupted scan
        leaves no stale vector at the new path). Only new files whose size
        matches a vanished one are hashed. Everything unpaired is new work.
        """
        vanished: dict[tuple[int, str], list[KnownFile]] = {}
        for known in gone.values():
            if not known.failed and known.partial_hash and known.status != "deleted":
                vanished.setdefault((known.size, known.partial_hash), []).append(known)
        sizes = {size for size, _ in vanished}
        moves: list[tuple[int, Location]] = []
        paired: set[int] = set()
        for item in fresh:
            if cancel.is_set():
                return None
            match = None
            if item.size in sizes:
                try:
                    candidates = vanished.get((item.size, partial_hash(item.path)))
                except OSError:
                    candidates = None
                match = candidates.pop() if candidates else None
            if match is None:
                report.new += 1
                work.append(_Work(item, None))
                continue
            report.moved += 1
            paired.add(match.id)
            if not _same_bytes(item, match):
                work.append(_Work(item, match.id))
                continue
            moves.append((match.id, _location(item, root_ids)))
            if not match.embedded:
                work.append(_Work(item, match.id, same_content=True))
        return moves, paired

    # --- embedding -------------------------------------------------------------

    def _embed(
        self,
        work: list[_Work],
        root_ids: dict[str, int],
        meter: ProgressMeter,
        report: ScanReport,
        controls: _Controls,
    ) -> None:
        """Analyse the work (in the decode pool, or on the remote engine), store batch by
        batch in walk order."""
        batch: list[tuple[_Work, Analysis]] = []
        growth = _GraphGrowth(self.catalog, self.embedder.model_id, self.graph_step)
        outcomes = self._decoded(work, meter, report, controls) if self.engine is None else self._remote(work, controls)
        try:
            for item, analysis in outcomes:
                meter.done += 1
                meter.current_path = item.found.path
                if analysis.vanished:
                    report.unreadable.append((item.found.path, VANISHED))
                    continue
                batch.append((item, analysis))
                if analysis.error is not None:
                    report.errors += 1
                    meter.errors += 1
                if len(batch) >= self.batch_size:
                    growth.stored(self._store(batch, root_ids, report, controls.cancel))
                    batch = []
                meter.tick()
            self._store(batch, root_ids, report, controls.cancel)
        finally:
            outcomes.close()

    def _decoded(
        self, work: list[_Work], meter: ProgressMeter, report: ScanReport, controls: _Controls
    ) -> Generator[tuple[_Work, Analysis], None, None]:
        """The local engine: decode in the pool, yield each outcome in walk order (not embedded
        yet: `_store` embeds them in chunks), until cancelled or stalled."""
        cancel = controls.cancel
        size, resize = self.embedder.input_size, self.embedder.manifest.resize
        pending: deque[tuple[_Work, Task]] = deque()
        queue = iter(work)
        pool = DeadlinePool(self.workers, name="lookalike-decode")
        try:
            while controls.proceed():
                # Bounded read-ahead: memory stays flat however many files there are.
                while len(pending) < 2 * self.batch_size and not cancel.is_set() and not pool.stalled:
                    item = next(queue, None)
                    if item is None:
                        break
                    pending.append((item, pool.submit(analyse, item.found.path, size, resize)))
                if pool.stalled:
                    report.stalled = True  # the rest would hang too: left for the next scan
                    return
                if not pending or cancel.is_set():
                    return
                item, task = pending[0]
                analysis = self._outcome(pool, task)
                if analysis is None:
                    meter.tick()
                    continue
                pending.popleft()
                yield item, analysis
        finally:
            pool.shutdown()

    def _remote(self, work: list[_Work], controls: _Controls) -> Generator[tuple[_Work, Analysis], None, None]:
        """The remote engine's outcomes (embedded already) in walk order, until cancelled."""
        assert self.engine is not None
        outcomes = self.engine.analyse([item.found.path for item in work], controls.cancel)
        try:
            for item in work:
                if not controls.proceed():
                    return
                analysis = next(outcomes, None)
                if analysis is None:
                    return  # cancelled while waiting for the engine
                yield item, analysis
        finally:
            outcomes.close()

    def _outcome(self, pool: DeadlinePool, task: Task) -> Analysis | None:
        """The decode's outcome; a timeout error once it overran; None while it may still finish."""
        if task.wait(0.25):
            return task.outcome()
        if task.running_for() <= self.decode_timeout:
            return None
        if not pool.abandon(task):
            return task.outcome()  # it finished just now
        return overran(self.decode_timeout)

    def _store(
        self, batch: list[tuple[_Work, Analysis]], root_ids: dict[str, int], report: ScanReport, cancel: threading.Event
    ) -> int:
        """Embed what is not embedded yet EMBED_CHUNK files at a time and write the batch in one
        transaction; after a cancel no further chunk is embedded (left for the next scan), while
        outcomes a remote engine embedded already are still written. Returns how many vectors
        were stored."""
        records: list[FileRecord] = []
        for start in range(0, len(batch), EMBED_CHUNK):
            chunk = batch[start : start + EMBED_CHUNK]
            if cancel.is_set() and any(analysis.pixels is not None for _, analysis in chunk):
                break
            analyses = embed_analyses(self.embedder, [analysis for _, analysis in chunk])
            records += [_record(_location(item.found, root_ids), item, a) for (item, _), a in zip(chunk, analyses)]
            report.embedded += sum(a.vector is not None for a in analyses)
        self.catalog.store(records, self.embedder.model_id)
        return sum(r.vector is not None and r.error is None for r in records)


class _GraphGrowth:
    """Brings the index and the neighbour graph up to date while a scan stores vectors, each
    time GRAPH_STEP of the library (at least `minimum` files) has been stored since the last time."""

    def __init__(self, catalog: Catalog, model_id: str, minimum: int) -> None:
        self.catalog, self.model_id, self.minimum = catalog, model_id, minimum
        self.size: int | None = None  # files in the graph after its last update (read at the first store)
        self.since = 0  # vectors stored since then
        self.failed = False

    def stored(self, count: int) -> None:
        if self.failed or not count:
            return
        self.since += count
        if self.size is None:
            self.size = max(catalog_state(self.catalog, self.model_id).count - self.since, 0)
        if self.since < max(self.minimum, GRAPH_STEP * self.size):
            return
        try:
            self.size = len(open_graph(self.catalog, self.model_id, refit=False))
        except SaveError:
            self.failed = True  # a full disk: the scan goes on, and its end reports the failure
        self.since = 0


class _Controls:
    """A scan's cancel and pause events; `proceed()` is where the pipeline may be held."""

    def __init__(self, cancel: threading.Event, pause: threading.Event, meter: ProgressMeter) -> None:
        self.cancel, self.pause, self._meter = cancel, pause, meter

    def proceed(self) -> bool:
        """Wait while paused (progress says so); False once cancelled, paused or not."""
        if self.pause.is_set() and not self.cancel.is_set():
            self._meter.set_paused(True)
            while self.pause.is_set() and not self.cancel.wait(_PAUSE_POLL):
                pass
            self._meter.set_paused(False)
        return not self.cancel.is_set()


def _record(location: Location, item: _Work, analysis: Analysis) -> FileRecord:
    """The row of one analysed file: its metadata and vector, or its error."""
    if analysis.error is not None or analysis.info is None or analysis.vector is None:
        return FileRecord(location, item.id, error=analysis.error or "could not be decoded")
    info = analysis.info
    return FileRecord(
        location,
        item.id,
        same_content=item.same_content,
        width=info.width,
        height=info.height,
        format=info.format,
        taken_at=info.taken,
        captured=info.captured,
        camera=info.camera,
        has_gps=info.has_gps,
        grey=info.grey,
        partial_hash=analysis.partial_hash,
        full_hash=analysis.full_hash,
        vector=analysis.vector,
        signature=analysis.signature,
        shot=analysis.shot,
    )


def _same_bytes(item: FoundFile, known: KnownFile) -> bool:
    """Whether a new path provably holds a vanished file's bytes.

    With the vanished file's full hash on record, the new file is hashed in full
    and compared. Without one (the old bytes are gone) only a rename proves it:
    the same inode on the same device with the same mtime is the same file,
    trusted as the scan trusts an unchanged size and mtime at one path.
    """
    if known.full_hash is not None:
        try:
            return full_hash(item.path) == known.full_hash
        except OSError:
            return False
    return known.inode is not None and (item.device, item.inode, item.mtime_ns) == (
        known.device, known.inode, known.mtime_ns,
    )


def _location(item: FoundFile, root_ids: dict[str, int]) -> Location:
    return Location(item.path, item.size, item.mtime_ns, item.inode, item.device, root_ids.get(item.root))


def _note_lost_roots(root_ids: dict[str, int], report: ScanReport) -> None:
    """Roots that went away during the scan (an unplugged disk) are reported offline.

    Their files that vanished meanwhile are then one line, not one line each.
    """
    lost = [root for root in root_ids if root not in report.roots_offline and not _readable_dir(root)]
    if not lost:
        return
    report.roots_offline.extend(lost)
    report.unreadable = [
        (path, reason) for path, reason in report.unreadable
        if not (reason == VANISHED and any(_under(path, root) for root in lost))
    ]


def _readable_dir(path: str) -> bool:
    """False for a root that is absent or unreadable (an unplugged or unmounted disk)."""
    try:
        with os.scandir(path):
            return True
    except OSError:
        return False


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(os.path.join(folder, ""))
