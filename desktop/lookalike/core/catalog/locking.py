"""An exclusive, non-blocking lock on a file beside the catalog, naming its holder's pid.

The operating system drops the lock when its holder exits, however it exits (a
SIGKILL or a power cut leave no stale lock to clean up): `flock` on POSIX,
`msvcrt.locking` on Windows. The holder's pid is written after the first bytes
(Windows forbids reading a locked range), only to name it in messages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_PID_OFFSET = 16


class LockHeld(Exception):
    """Another process (or another open catalog in this one) holds the lock."""

    def __init__(self, path: Path | str, pid: int | None) -> None:
        super().__init__(f"{path} is locked by {'pid ' + str(pid) if pid else 'another process'}")
        self.path = path
        self.pid = pid


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the lock on `path` (created if needed) for the block, or raise LockHeld at once."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if not _try_lock(fd):
            raise LockHeld(path, _read_pid(fd))
        os.ftruncate(fd, _PID_OFFSET)
        os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, _PID_OFFSET, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
