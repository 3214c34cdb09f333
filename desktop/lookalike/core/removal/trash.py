"""The system trash: files go there through Send2Trash; on Linux we can bring them back.

Send2Trash does not say where a file landed. On freedesktop systems (Linux, BSD)
each trashed file has `info/<name>.trashinfo` beside `files/<name>` recording the
original path, so we find it by that record, and restoring is moving it back and
dropping the record. macOS and Windows keep that bookkeeping private: there the
user restores from the Trash or Recycle Bin, and `CAN_RESTORE` is False.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import unquote

from lookalike.core.removal.filemove import is_inside, move_file

CAN_RESTORE = sys.platform not in ("darwin", "win32")
CANNOT_RESTORE_REASON = (
    "this system's trash cannot be restored by Lookalike; restore the file from the Trash yourself"
)


def undoable(mode: str) -> bool:
    """Whether Lookalike can bring back what a removal in `mode` (trash, quarantine,
    permanent) removes, on this system: the one answer the CLI and the app give."""
    return mode == "quarantine" or (mode == "trash" and CAN_RESTORE)


#: The longest file name most file systems take (bytes); a trashed file's record is its
#: name plus ".trashinfo", so a longer name than NAME_MAX - 10 cannot be trashed as it is.
NAME_MAX = 255
_INFO_SUFFIX = b".trashinfo"


def send_to_trash(path: Path, size: int | None = None) -> Path | None:
    """Trash `path`; return the trashed file's new path where it can be known, else None."""
    from send2trash import send2trash  # imported late: it reads XDG_DATA_HOME when imported

    if CAN_RESTORE and len(os.fsencode(path.name)) > NAME_MAX - len(_INFO_SUFFIX):
        _trash_long_name(path)
    else:
        send2trash(str(path))
    return locate(path, size) if CAN_RESTORE else None


def trash_file(path: Path) -> Path | None:
    """Trash one regular file a person chose (a scan problem, say), never a folder or a link:
    a mistaken click must not take a whole folder with it. Raises OSError with the reason."""
    if path.is_symlink() or not path.is_file():
        raise OSError(f"{path} is not a file (only single files can be moved to the trash here)")
    return send_to_trash(path, path.stat().st_size)


def _trash_long_name(path: Path) -> None:
    """Trash a file whose name leaves no room for ".trashinfo" (Send2Trash fails with
    "File name too long"): the same trash Send2Trash would choose, under a shortened
    name; the record keeps the full original path, so undo and file managers restore
    it under its own name."""
    from send2trash import plat_other as freedesktop

    source = os.fsencode(path)
    if freedesktop.get_dev(source) == freedesktop.get_dev(os.path.realpath(os.path.expanduser(b"~"))):
        topdir, trash_dir = freedesktop.XDG_DATA_HOME, freedesktop.HOMETRASH_B
    else:
        topdir = freedesktop.find_mount_point(source)
        trash_dir = freedesktop.find_ext_volume_trash(topdir)
    files, info = os.path.join(trash_dir, b"files"), os.path.join(trash_dir, b"info")
    freedesktop.check_create(files)
    freedesktop.check_create(info)
    stem, ext = os.path.splitext(os.path.basename(source))
    room = NAME_MAX - len(_INFO_SUFFIX) - len(ext) - 8  # 8: " " and a counter
    stem = stem[:room].decode("utf-8", "ignore").encode("utf-8") if _is_utf8(stem) else stem[:room]
    for counter in range(1, 10**6):
        name = stem + (b" %d" % counter if counter > 1 else b"") + ext
        record = os.path.join(info, name + _INFO_SUFFIX)
        try:
            with open(record, "x") as handle:  # "x": never over another trashed file's record
                handle.write(freedesktop.info_for(source, topdir))
        except FileExistsError:
            continue
        if os.path.lexists(os.path.join(files, name)):
            os.unlink(record)
            continue
        try:
            os.rename(source, os.path.join(files, name))
        except OSError:
            os.unlink(record)
            raise
        return


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def restore(trashed: Path, original: Path, expected_hash: str | None) -> None:
    """Move a trashed file back to `original` (never over an existing file) and drop its record."""
    move_file(trashed, original, expected_hash)
    _info_file(trashed).unlink(missing_ok=True)


def holds(trashed: Path, original: Path) -> bool:
    """Whether `trashed` lies in the files folder of a trash that `original` may have gone to.

    Undo moves back whatever the journal names: only a file really in the trash
    may be brought into the photo folders.
    """
    return any(is_inside(trashed, trash / "files") for trash, _ in _trash_dirs(original))


def locate(original: Path, size: int | None = None) -> Path | None:
    """The most recently trashed file that came from `original` (and has `size`), or None."""
    wanted = os.path.normpath(os.path.abspath(original))
    best: tuple[int, Path] | None = None
    for trash, topdir in _trash_dirs(original):
        info_dir = trash / "info"
        try:
            entries = list(os.scandir(info_dir))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".trashinfo"):
                continue
            trashed = trash / "files" / entry.name[: -len(".trashinfo")]
            if _original_path(Path(entry.path), topdir) != wanted:
                continue
            try:
                found_size = trashed.lstat().st_size
                stamp = entry.stat().st_mtime_ns
            except OSError:
                continue
            if size is not None and found_size != size:
                continue
            if best is None or stamp > best[0]:
                best = (stamp, trashed)
    return best[1] if best else None


def _info_file(trashed: Path) -> Path:
    return trashed.parent.parent / "info" / f"{trashed.name}.trashinfo"


def _original_path(info: Path, topdir: Path) -> str | None:
    """The `Path=` of a .trashinfo, made absolute (relative ones are under the trash's top)."""
    try:
        text = info.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Path="):
            value = unquote(line[len("Path=") :].strip(), errors="surrogateescape")
            return os.path.normpath(os.path.join(topdir, value))
    return None


def _trash_dirs(original: Path) -> list[tuple[Path, Path]]:
    """(trash folder, folder its relative paths start from) for every trash `original` may be in."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    homes = [data_home]
    # Send2Trash fixes the home trash when first imported; look there too if the
    # environment moved since (tests give each case its own home).
    loaded = sys.modules.get("send2trash.plat_other")
    if loaded is not None:
        homes.append(Path(os.fsdecode(loaded.XDG_DATA_HOME)))
    found = [(home / "Trash", home) for home in dict.fromkeys(homes)]
    top = _mount_point(original.parent)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    found += [(top / ".Trash" / str(uid), top), (top / f".Trash-{uid}", top)]
    return found


def _mount_point(folder: Path) -> Path:
    path = Path(os.path.realpath(folder))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path
