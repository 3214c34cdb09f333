"""Find the photo files under the folders a person asked to scan.

The walk is iterative (no recursion limit on deep trees), sorted (a resumed scan
meets files in the same order) and conservative about what it enters:

- hidden names (dot files and folders, which also covers `.Trash-1000`) and the
  system folders of Windows, macOS and NAS boxes are skipped: they hold caches,
  thumbnails and recycled files, never photos a person means to review;
- symbolic links are skipped entirely, files and folders alike. Following them
  can loop, can leave the scanned root (e.g. a link to `/`), and can make one
  photo appear under two paths, which would then look like a duplicate of itself
  and invite deleting "the copy" — that is, the only one;
- a folder reached twice (bind mounts, overlapping roots) is walked once, by
  its (device, inode);
- a folder that cannot be read is reported through `on_error`, never raised.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lookalike.core.scan.images import is_supported

#: Folders that systems and NAS boxes create for their own use (compared lower-case).
SYSTEM_DIRS = frozenset(
    name.lower()
    for name in (
        "$RECYCLE.BIN",
        "RECYCLER",
        "System Volume Information",
        "lost+found",
        "@eaDir",  # Synology thumbnails
        "#recycle",  # Synology recycle bin
        "#snapshot",
        "@Recycle",  # QNAP
        "$WINDOWS.~BT",
    )
)

#: Called with (path, reason) for a folder or file the walk could not read.
ErrorCallback = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A photo file as seen on disk during the walk (path absolute)."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    root: str


def is_skipped_name(name: str) -> bool:
    """Hidden or system entries that a scan never enters or lists."""
    return name.startswith(".") or name.lower() in SYSTEM_DIRS


def is_excluded(path: str, excludes: Iterable[str]) -> bool:
    """True when the full path matches one of the user's exclude globs."""
    return any(fnmatch.fnmatch(path, pattern) for pattern in excludes)


def folder_problem(path: Path | str) -> str | None:
    """Why `path` cannot be a folder to scan, in words for a person; None when it is a folder.

    A path that is not there and a path to a file are different mistakes, and the
    CLI and the app name them the same way.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "it is a symbolic link to something that does not exist" if os.path.islink(path) else "it does not exist"
    except NotADirectoryError:
        return "it does not exist (a part of the path is a file)"
    except OSError as exc:
        return f"it cannot be reached ({_reason(exc)})"
    if stat.S_ISDIR(mode):
        return None
    return "it is a file, not a folder" if stat.S_ISREG(mode) else "it is not a folder"


def walk(
    roots: Iterable[Path | str],
    *,
    excludes: Iterable[str] = (),
    skip_dirs: Iterable[Path | str] = (),
    skip_file: Callable[[str], bool] | None = None,
    on_error: ErrorCallback | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[FoundFile]:
    """Yield every supported photo file under `roots`, each once.

    `excludes` are fnmatch globs on the full path (a matching folder is not
    entered). `skip_dirs` are folders never entered below a root (a cache of
    our own); a root itself is always walked, since the person asked for it.
    `skip_file(path)` true: a file of our own (the catalog's), never listed.
    Setting `cancel` ends the walk at the next entry, even in folders without
    photos (a huge tree of other files must not delay a cancel).
    """
    patterns = tuple(excludes)
    skipped = {os.path.abspath(p) for p in skip_dirs}
    visited: set[tuple[int, int]] = set()
    report = on_error or (lambda _path, _reason: None)
    own = skip_file or (lambda _path: False)
    stop = cancel or threading.Event()
    for root in roots:
        root_path = os.path.abspath(root)
        stack = [root_path]
        while stack and not stop.is_set():
            folder = stack.pop()
            try:
                info = os.stat(folder)
                key = (info.st_dev, info.st_ino)
                if key in visited:
                    continue
                visited.add(key)
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as exc:
                report(folder, _reason(exc))
                continue
            subfolders: list[str] = []
            for entry in entries:
                if stop.is_set():
                    return
                if is_skipped_name(entry.name) or entry.is_symlink():
                    continue
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError as exc:
                    report(entry.path, _reason(exc))
                    continue
                if is_dir:
                    if entry.path not in skipped and not is_excluded(entry.path, patterns):
                        subfolders.append(entry.path)
                    continue
                if not is_supported(entry.name) or is_excluded(entry.path, patterns) or own(entry.path):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we were looking: simply not there
                except OSError as exc:
                    report(entry.path, _reason(exc))
                    continue
                if stat.S_ISREG(st.st_mode):
                    yield FoundFile(entry.path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, root_path)
            stack.extend(reversed(subfolders))  # pop() then visits them in name order


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "folder not found"
    return exc.strerror or str(exc)
