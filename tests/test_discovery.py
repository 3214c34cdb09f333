"""The walk: which files a scan sees, on a real temporary tree."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from lookalike.core.scan.discovery import walk


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for name in (
        "a.jpg",
        "B.PNG",
        "sub/c.jpeg",
        "sub/deep/d.heic",
        "notes.txt",
        ".hidden.jpg",
        ".cache/x.jpg",
        ".Trash-1000/files/x.jpg",
        "@eaDir/a.jpg/SYNOPHOTO_THUMB_XL.jpg",
        "$RECYCLE.BIN/x.jpg",
        "System Volume Information/x.jpg",
        "lost+found/x.jpg",
        "thumbs/t.jpg",
    ):
        _touch(root / name)
    (root / "link.jpg").symlink_to(root / "a.jpg")
    (root / "linked_dir").symlink_to(root / "sub")
    (root / "sub" / "loop").symlink_to(root)
    os.mkfifo(root / "pipe.jpg")
    (root / "folder.jpg").mkdir()
    return root


def _names(found, root: Path) -> list[str]:
    return sorted(os.path.relpath(f.path, root) for f in found)


def test_walk_lists_supported_regular_files_once_and_skips_the_rest(tree: Path) -> None:
    found = list(walk([tree]))
    assert _names(found, tree) == ["B.PNG", "a.jpg", "sub/c.jpeg", "sub/deep/d.heic", "thumbs/t.jpg"]
    for item in found:
        info = os.stat(item.path)
        assert os.path.isabs(item.path)
        assert (item.size, item.mtime_ns, item.inode, item.device) == (
            info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev,
        )
        assert item.root == str(tree)


def test_exclude_globs_and_skip_dirs(tree: Path) -> None:
    found = list(walk([tree], excludes=["*/thumbs", "*.PNG"], skip_dirs=[tree / "sub" / "deep"]))
    assert _names(found, tree) == ["a.jpg", "sub/c.jpeg"]


def test_a_root_is_walked_even_when_it_is_a_skip_dir(tree: Path) -> None:
    """The catalog may live in the very folder a person asks to scan."""
    assert len(list(walk([tree], skip_dirs=[tree]))) == 5


def test_overlapping_roots_yield_each_file_once(tree: Path) -> None:
    found = list(walk([tree, tree / "sub", tree]))
    assert len(found) == len({f.path for f in found}) == 5


def test_unreadable_folders_are_reported_not_raised(tree: Path, tmp_path: Path) -> None:
    problems: list[tuple[str, str]] = []
    found = list(walk([tmp_path / "unplugged", tree], on_error=lambda p, r: problems.append((p, r))))
    assert len(found) == 5
    assert problems == [(str(tmp_path / "unplugged"), "folder not found")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_permission_denied_folder_is_reported(tree: Path) -> None:
    locked = tree / "sub"
    locked.chmod(0)
    try:
        problems: list[tuple[str, str]] = []
        found = list(walk([tree], on_error=lambda p, r: problems.append((p, r))))
    finally:
        locked.chmod(0o755)
    assert _names(found, tree) == ["B.PNG", "a.jpg", "thumbs/t.jpg"]
    assert problems == [(str(locked), "permission denied")]


def test_skip_file_leaves_out_files_of_our_own(tree: Path) -> None:
    found = list(walk([tree], skip_file=lambda path: path == str(tree / "a.jpg")))
    assert _names(found, tree) == ["B.PNG", "sub/c.jpeg", "sub/deep/d.heic", "thumbs/t.jpg"]


def test_cancel_stops_the_walk_where_no_photo_is_found(tmp_path: Path) -> None:
    """The walk looks at the cancel between entries, not only when it yields a photo."""
    root = tmp_path / "photos"
    _touch(root / "a" / "first.jpg")
    for number in range(300):
        _touch(root / "b" / f"note{number:03}.txt")
    _touch(root / "z.jpg")
    cancel = threading.Event()

    def skip_and_cancel(path: str) -> bool:
        cancel.set()  # cancelled at the first photo, which is not listed: nothing is yielded after
        return True

    assert list(walk([root], skip_file=skip_and_cancel, cancel=cancel)) == []
    cancel.clear()
    assert _names(walk([root], cancel=cancel), root) == ["a/first.jpg", "z.jpg"]
