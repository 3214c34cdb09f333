"""Removing the extra copies: a plan a person can read, then a journalled, checked batch.

`plan_removal` turns "keep these, remove those" per group into a `Plan` (what
goes, what stays, why, bytes freed). `execute` removes the plan's files one by
one to the system trash, a quarantine folder or (only when confirmed) for good.
Before a file is touched its journal row is committed; then it must pass every
safety check, each refusal becoming a reason in the report:

- it is still the file that was scanned (size, mtime and, when known, hash);
- it lies inside a scanned folder, with no symbolic link on the way;
- a kept copy of its group is still on disk and is not being removed itself;
- in quarantine, its new folder really lies inside the quarantine folder.

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

from lookalike.core import trash
from lookalike.core.catalog import Catalog
from lookalike.core.filemove import free_name, is_inside, move_file, sync_dir
from lookalike.core.hashing import full_hash
from lookalike.core.journal import (
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
from lookalike.core.schema import File

Mode = Literal["trash", "quarantine", "permanent"]
MODES: tuple[str, ...] = get_args(Mode)
#: Before a permanent deletion a missing full hash is computed only up to this size
#: (a photo is read in well under a second). Undoable modes always hash: undo
#: restores only a file whose bytes it can prove by the journal's hash.
HASH_LIMIT = 512 * 1024 * 1024


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
        current_hash, unreadable = self._hash(source, row)
        destination = self._destination(source, root_of(source, self.roots))
        size, content_hash = (row.size if row else removal.size), (row.full_hash if row else None) or current_hash
        entry_id = plan_entry(
            self.catalog, self.id, removal.file_id, source, destination, size, row.mtime_ns if row else 0, content_hash
        )
        refusal = self._refusal(source, row, current_hash, unreadable, removal)
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

    def _hash(self, source: Path, row: File | None) -> tuple[str | None, str | None]:
        """(current content hash or None, why the file could not be read or None)."""
        if row is None or not (row.full_hash or self.mode != "permanent" or row.size <= HASH_LIMIT):
            return None, None
        try:
            if not stat.S_ISREG(source.lstat().st_mode):
                return None, None  # the checks below say what is wrong with it
            return full_hash(source), None
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"cannot read the file ({exc.strerror or exc})"

    def _destination(self, source: Path, root: Path | None) -> Path | None:
        """The quarantine path: the path relative to its root, under a folder named for the root."""
        if self.target is None or root is None:
            return None
        relative = Path(os.path.abspath(source)).relative_to(os.path.abspath(root))
        return free_name(self.target / (root.name or "root") / relative)

    def _refusal(
        self,
        source: Path,
        row: File | None,
        current_hash: str | None,
        unreadable: str | None,
        removal: Removal,
    ) -> str | None:
        """Why this file must not be removed now, or None when every check passes."""
        if row is None:
            return "no longer in the catalog"
        try:
            info = source.lstat()
        except FileNotFoundError:
            return "file no longer exists"
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link; only real files are removed"
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        outside = root_problem(source, self.roots)
        if outside:
            return outside
        if info.st_size != row.size or info.st_mtime_ns != row.mtime_ns:
            return "file changed since it was scanned (size or modification time differ)"
        if unreadable:
            return unreadable
        if row.full_hash and current_hash != row.full_hash:
            return "file content changed since it was scanned"
        return self._keeper_problem(source, removal)

    def _keeper_problem(self, source: Path, removal: Removal) -> str | None:
        """None when a kept copy of the group is on disk, distinct from `source`, and staying."""
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
                return None
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
