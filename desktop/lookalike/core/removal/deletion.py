"""Removing the extra copies: a plan a person can read, then a journalled, checked batch.

`plan_removal` turns "keep these, remove those" per group into a `Plan` (what
goes, what stays, why, bytes freed). `execute` removes the plan's files one by
one to the system trash, a quarantine folder or (only when confirmed) for good.
Before a file is touched its journal row is committed; then it must pass every
safety check, each refusal becoming a reason in the report:

- it is still the file that was scanned: same size and mtime, and its bytes
  proven by the content hash recorded when it was read (`unchanged_problem`);
- it lies inside a scanned folder, with no symbolic link on the way;
- a kept copy of its group is still on disk, is not being removed itself and is
  proven, the same way, to still be the picture that was matched: a keeper
  overwritten by another photo (even one given back its old size and mtime)
  protects nothing, so its group's copies stay;
- in quarantine, its new folder really lies inside the quarantine folder.

Why a hash recorded at scan time: only bytes read when the file was matched can
prove that the file on disk now is that picture; a hash taken at deletion time
proves nothing about what was matched. The scan hashes every file it decodes (the
bytes were just read: about 1 ms per MB, a few percent of the decode), so the
full hash is compared. Files catalogued by versions that did not do so have only
the partial hash of their size and first and last 64 KiB, compared instead (an
edit inside the middle of such a file goes unseen until it is read again); a
file with neither (its read failed halfway through the scan) is refused.

Undo lives in `undo.py`, crash recovery and history in `journal.py`.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal, get_args

from lookalike.core.removal import trash
from lookalike.core.catalog.store import Catalog
from lookalike.core.removal.filemove import free_name, is_inside, move_file, sync_dir
from lookalike.core.hashing import unchanged_problem
from lookalike.core.removal.journal import (
    DONE,
    DeletionError,
    EntryReport,
    batch_lock,
    open_batch,
    plan_entry,
    record_outcome,
    recover_locked,
    set_batch_status,
)
from lookalike.core.catalog.schema import File

Mode = Literal["trash", "quarantine", "permanent"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True, slots=True)
class Removal:
    """A file the plan removes, why, and the ids of its group's kept copies."""

    file_id: int
    path: str
    size: int
    reason: str
    keepers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Kept:
    file_id: int
    path: str
    size: int
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    removals: tuple[Removal, ...]
    kept: tuple[Kept, ...]

    @property
    def bytes_freed(self) -> int:
        return sum(r.size for r in self.removals)


@dataclass(frozen=True, slots=True)
class BatchReport:
    """What `execute` did to each file of the plan, in plan order."""

    batch_id: int
    mode: str
    target: str | None
    entries: tuple[EntryReport, ...]

    def _with(self, state: str) -> list[EntryReport]:
        return [e for e in self.entries if e.state == state]

    @property
    def done(self) -> list[EntryReport]:
        return self._with("done")

    @property
    def skipped(self) -> list[EntryReport]:
        return self._with("skipped")

    @property
    def failed(self) -> list[EntryReport]:
        return self._with("failed")

    @property
    def bytes_freed(self) -> int:
        return sum(e.size for e in self.done)


def plan_removal(
    catalog: Catalog,
    groups: Sequence[tuple[Sequence[int], Sequence[int]]],
    reasons: Mapping[int, str] | None = None,
) -> Plan:
    """A plan from (ids to keep, ids to remove) per group; `reasons` by file id are shown.

    Raises ValueError for a group that keeps nothing, a file both kept and removed,
    or an id the catalog does not know.
    """
    reasons = reasons or {}
    all_ids = [i for keep, remove in groups for i in (*keep, *remove)]
    rows = catalog.files(all_ids)
    unknown = sorted(set(all_ids) - rows.keys())
    if unknown:
        raise ValueError(f"file ids not in the catalog: {', '.join(map(str, unknown))}")
    kept_ids = {i for keep, _ in groups for i in keep}
    removals: dict[int, Removal] = {}
    kept: dict[int, Kept] = {}
    for number, (keep, remove) in enumerate(groups, start=1):
        if not keep and remove:
            raise ValueError(f"group {number} keeps no file; at least one copy must stay")
        conflict = kept_ids.intersection(remove)
        if conflict:
            names = ", ".join(rows[i].path for i in sorted(conflict))
            raise ValueError(f"group {number} removes a file that is kept: {names}")
        for i in keep:
            kept.setdefault(i, Kept(i, rows[i].path, rows[i].size, reasons.get(i, "kept")))
        for i in remove:
            if i not in removals:
                removals[i] = Removal(i, rows[i].path, rows[i].size, reasons.get(i, "chosen for removal"), tuple(keep))
    return Plan(tuple(removals.values()), tuple(kept.values()))


def plan_from_review(catalog: Catalog, groups: Iterable[object]) -> Plan:
    """A plan from review groups (`.members`, each with `.file`, `.keep`, `.reason`)."""
    selections: list[tuple[list[int], list[int]]] = []
    reasons: dict[int, str] = {}
    for group in groups:
        members = group.members  # type: ignore[attr-defined]
        selections.append(([m.file.id for m in members if m.keep], [m.file.id for m in members if not m.keep]))
        reasons.update({m.file.id: m.reason for m in members})
    return plan_removal(catalog, selections, reasons)


def root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    """The deepest of `roots` that `path` lies under, comparing paths with '..' resolved."""
    absolute = PurePath(os.path.abspath(path))
    matches = [root for root in roots if absolute.is_relative_to(os.path.abspath(root))]
    return max(matches, key=lambda r: len(str(r))) if matches else None


def root_problem(path: Path, roots: Sequence[Path]) -> str | None:
    """Why `path` is not safely inside a scanned root, or None when it is.

    Shared by deletion and undo: both touch only paths under a root with no
    symbolic link on the way, so neither can be steered to another folder.
    """
    root = root_of(path, roots)
    if root is None:
        return "outside the scanned folders"
    relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    if os.path.realpath(path) != os.path.join(os.path.realpath(root), relative):
        return "its path goes through a symbolic link"
    return None


def scanned_roots(catalog: Catalog) -> list[Path]:
    """The catalog's scanned folders, which deletion and undo must stay inside."""
    return [Path(root.path) for root in catalog.roots()]


def execute(
    catalog: Catalog,
    plan: Plan,
    mode: Mode,
    quarantine_dir: Path | str | None = None,
    confirm_permanent: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> BatchReport:
    """Remove the plan's files as one batch (undoable except `permanent`).

    `progress(done, total)` is called after each file; setting `cancel` stops
    before the next file. Raises DeletionError when the batch cannot start.
    """
    if mode not in MODES:
        raise DeletionError(f"unknown deletion mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "permanent" and not confirm_permanent:
        raise DeletionError("permanent deletion cannot be undone and must be confirmed explicitly")
    target: Path | None = None
    if mode == "quarantine":
        if not quarantine_dir:
            raise DeletionError("quarantine needs a folder to move the files to")
        target = Path(quarantine_dir).expanduser().resolve()
        inside = root_of(target, scanned_roots(catalog))
        if inside is not None:
            raise DeletionError(
                f"the quarantine folder {target} lies inside the scanned folder {inside}: the next scan would "
                "catalogue the quarantined photos again; choose a folder outside the scanned folders"
            )
    with batch_lock(catalog):
        recover_locked(catalog)
        batch = _Batch(catalog, plan, mode, target)
        entries: list[EntryReport] = []
        for number, removal in enumerate(plan.removals, start=1):
            if cancel is not None and cancel.is_set():
                break
            entries.append(batch.remove(removal))
            if progress is not None:
                progress(number, len(plan.removals))
        set_batch_status(catalog, batch.id, DONE)
    return BatchReport(batch.id, mode, str(target) if target else None, tuple(entries))


class _Batch:
    """The state one execution needs: catalog rows, real root paths, the removal set."""

    def __init__(self, catalog: Catalog, plan: Plan, mode: str, target: Path | None) -> None:
        self.catalog, self.mode, self.target = catalog, mode, target
        self.id = open_batch(catalog, mode, str(target) if target else None)
        self.removing = {r.file_id for r in plan.removals}
        self.rows = catalog.files([i for r in plan.removals for i in (r.file_id, *r.keepers)])
        self.roots = scanned_roots(catalog)

    def remove(self, removal: Removal) -> EntryReport:
        row = self.rows.get(removal.file_id)
        source = Path(row.path if row else removal.path)
        refusal, current_hash = self._refusal(source, row)
        destination = self._destination(source, root_of(source, self.roots))
        size = row.size if row else removal.size
        content_hash = current_hash or (row.full_hash if row else None)
        entry_id = plan_entry(
            self.catalog, self.id, removal.file_id, source, destination, size, row.mtime_ns if row else 0, content_hash
        )
        if refusal is None:  # as late as possible: the keeper is proven just before the copy goes
            refusal = self._keeper_problem(source, removal)
        if refusal is None and destination is not None:
            refusal = self._prepare_destination(destination)
        state, reason, landed = "skipped", refusal, None
        if refusal is None:
            try:
                landed = self._act(source, destination, content_hash, size)
                state, reason = "done", None
                if self.mode == "trash" and landed is None:
                    reason = "in the system trash" if not trash.CAN_RESTORE else "trashed, but not found in the trash"
            except OSError as exc:
                state, reason = "failed", f"could not remove: {exc.strerror or exc}"
        return record_outcome(self.catalog, entry_id, state, reason, str(landed) if landed else None)

    def _destination(self, source: Path, root: Path | None) -> Path | None:
        """The quarantine path: the path relative to its root, under a folder named for the root."""
        if self.target is None or root is None:
            return None
        relative = Path(os.path.abspath(source)).relative_to(os.path.abspath(root))
        return free_name(self.target / (root.name or "root") / relative)

    def _refusal(self, source: Path, row: File | None) -> tuple[str | None, str | None]:
        """(why this file must not be removed now or None, its full hash when it was read).

        The kept copies are checked later, just before the file is touched.
        """
        if row is None:
            return "no longer in the catalog", None
        try:
            info = source.lstat()
        except FileNotFoundError:
            return "file no longer exists", None
        except OSError as exc:
            return f"cannot read the file ({exc.strerror or exc})", None
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link; only real files are removed", None
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file", None
        outside = root_problem(source, self.roots)
        if outside:
            return outside, None
        problem, digest = unchanged_problem(source, row)
        return (f"file {problem}" if problem else None), digest

    def _keeper_problem(self, source: Path, removal: Removal) -> str | None:
        """None when a kept copy of the group is on disk, distinct from `source`, staying,
        and still the picture that was matched (`unchanged_problem`)."""
        problems = []
        for keeper_id in removal.keepers:
            keeper = self.rows.get(keeper_id)
            if keeper_id in self.removing:
                problems.append("is itself being removed")
            elif keeper is None:
                problems.append("is no longer in the catalog")
            elif keeper.status == "deleted":
                problems.append("was removed earlier")
            elif not os.path.isfile(keeper.path) or os.path.islink(keeper.path):
                problems.append("is missing from disk")
            elif os.path.samefile(keeper.path, source):
                problems.append("is the same file, linked")
            else:
                changed, _ = unchanged_problem(Path(keeper.path), keeper)
                if changed is None:
                    return None
                problems.append(f"is no longer the picture that was matched: {changed}")
        detail = "; ".join(dict.fromkeys(problems)) or "is not named"
        return f"no kept copy of its group would remain (the kept copy {detail})"

    def _prepare_destination(self, destination: Path) -> str | None:
        """Create the quarantine folders for `destination`; why the move must not happen, or None.

        Called only once every other check passed, so a refused file leaves no
        empty folder behind. Anyone may write in the quarantine folder: a link
        planted there would carry the photo (and new folders) wherever it points.
        """
        assert self.target is not None  # only quarantine batches have destinations
        self._make_folders(destination.parent)
        if not os.path.isdir(destination.parent) or not is_inside(destination.parent, self.target):
            return "its place in the quarantine folder is a symbolic link or a file, not a folder inside it"
        return None

    def _make_folders(self, folder: Path) -> None:
        """Create `folder` below the quarantine folder one level at a time, never through a link.

        Stops at a link or a file (`mkdir(parents=True)` would follow the link
        and create folders outside); the caller then refuses the destination.
        """
        assert self.target is not None
        self.target.mkdir(parents=True, exist_ok=True)
        current = self.target
        for part in folder.relative_to(self.target).parts:
            current = current / part
            try:
                os.mkdir(current)
            except FileExistsError:
                if os.path.islink(current) or not os.path.isdir(current):
                    return

    def _act(self, source: Path, destination: Path | None, content_hash: str | None, size: int) -> Path | None:
        if self.mode == "trash":
            return trash.send_to_trash(source, size)
        if self.mode == "quarantine":
            assert destination is not None  # a file without a root was refused above
            move_file(source, destination, content_hash)
            return destination
        os.unlink(source)
        sync_dir(source.parent)
        return None
