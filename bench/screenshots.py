"""Screenshots of the real app at 1920x1080 and 1280x800: library + duplicates, bursts, compare, search, similar,
explore, problems; then the decisions list and settings.

Runs the window on a fresh catalog of the devset (../shared/data/devset), or of the
bundled samples where the devset is absent, scanning it the way a person would,
and writes PNGs to docs/screenshots/ (NAME.png at 1280x800, NAME-1920x1080.png at full HD). Uses Xvfb when it is installed and no display
is set, else Qt's offscreen platform. Nothing of the user's is read or written: a
throwaway home holds the catalog, settings and thumbnail cache.

    python bench/screenshots.py [--out docs/screenshots] [--photos FOLDER]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEVSET = Path(os.environ.get("LOOKALIKE_DEVSET", REPO.parent / "shared" / "data" / "devset"))
#: Window sizes shot, with the suffix of their file names; the Xvfb screen fits the largest.
SIZES = ((1920, 1080, "-1920x1080"), (1280, 800, ""))


def start_display() -> subprocess.Popen | None:
    """An Xvfb server for the window when none is available; offscreen rendering otherwise."""
    if os.environ.get("DISPLAY") or not shutil.which("Xvfb"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        return None
    display = ":97"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{max(w for w, _, _ in SIZES)}x{max(h for _, h, _ in SIZES)}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return server


def private_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="lookalike-shots-"))
    for name, sub in (("HOME", ""), ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        os.environ[name] = str(home / sub)
    os.environ.pop("LOOKALIKE_CATALOG", None)
    return home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--photos", type=Path, help="folder to scan (default: the devset, else the samples)")
    args = parser.parse_args()
    server = start_display()
    home = private_home()
    try:
        return shoot(args.out, args.photos, home)
    finally:
        if server is not None:
            server.terminate()
        shutil.rmtree(home, ignore_errors=True)


def shoot(out: Path, photos: Path | None, home: Path) -> int:
    # Imported here: Qt must see the display chosen above.
    from PIL import Image
    from PySide6.QtCore import QEventLoop

    from lookalike.core.paths import resources_dir
    from lookalike.ui.app import create_app
    from lookalike.ui.main_window import MainWindow
    from lookalike.ui.settings_dialog import SettingsDialog

    source = photos or (DEVSET if (DEVSET / "truth.json").is_file() else resources_dir() / "samples")
    library = home / "Pictures" / source.name
    shutil.copytree(source, library, ignore=shutil.ignore_patterns("*.py", "*.md", "*.json"))
    out.mkdir(parents=True, exist_ok=True)

    app = create_app([])

    def settle(seconds: float = 0.0, until=lambda: True, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
        """Run the event loop until `until()` holds (and at least `seconds`)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if time.monotonic() - start >= seconds and until():
                return
        raise TimeoutError("the window did not settle")

    def idle() -> bool:
        return not window.scanning() and not window.session.runner.busy() and not any(p.busy() for p in window.pages.values())

    def save(widget, name: str) -> None:  # type: ignore[no-untyped-def]
        settle(1.0, idle)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")

    window = MainWindow(home / "catalog.sqlite")
    window.resize(*SIZES[0][:2])
    window.show()
    window.add_folders([str(library)])
    settle(1.0, idle)
    page = window.pages["duplicate"]
    original = Path(page.model.groups[0].members[0].file.path)
    query = home / "query" / f"{original.stem}_from_phone.jpg"
    query.parent.mkdir()
    with Image.open(original) as image:
        image.convert("RGB").resize((image.width * 3 // 5, image.height * 3 // 5)).save(query, quality=70)

    for width, height, suffix in SIZES:
        window.resize(width, height)
        window.problems_dock.hide()
        window.tabs.setCurrentWidget(page)
        page.list.select(0, 1)
        page.list.scrollToTop()
        save(window, f"library-duplicates{suffix}")

        row = max(range(len(page.model.groups)), key=lambda r: (3 <= len(page.model.groups[r].members) <= 4, -r))
        window.open_compare("duplicate", row)
        window.compare.current = next(i for i, m in enumerate(page.model.groups[row].members) if not m.keep)
        window.compare.toggle_mark()
        save(window, f"compare{suffix}")
        window.session.marks.clear()

        window.tabs.setCurrentWidget(window.pages["burst"])
        save(window, f"bursts{suffix}")

        window.tabs.setCurrentWidget(window.pages["similar"])
        save(window, f"similar{suffix}")

        window.search_by_image([str(query)])
        settle(1.0, lambda: idle() and window.search.model.rowCount() > 0)
        save(window, f"search{suffix}")

        window.tabs.setCurrentWidget(window.explore)
        window.explore.setCurrentWidget(window.explore.clusters)
        settle(3.0, idle)  # the clusters, then their thumbnails
        save(window, f"explore-clusters{suffix}")
        window.explore.setCurrentWidget(window.explore.map)
        settle(1.0, lambda: idle() and window.explore.map.canvas.layout_ is not None)
        window.explore.map.canvas.scale(1.6, 1.6)
        settle(2.0, idle)
        save(window, f"explore-map{suffix}")
        window.explore.setCurrentWidget(window.explore.albums)
        window.explore.albums.find_pairs()
        settle(0.5, lambda: idle() and not window.explore.albums.loading)
        if window.explore.albums.found.topLevelItemCount():
            window.explore.albums.pick_pair(window.explore.albums.found.topLevelItem(0))
        save(window, f"explore-albums{suffix}")

        window.problems_dock.show()
        window.tabs.setCurrentWidget(page)
        save(window, f"problems{suffix}")

    # Edit > Decisions, after a "not a duplicate" and a "keep this one" (last: they change the groups).
    window.resize(*SIZES[-1][:2])
    window.problems_dock.hide()
    window.tabs.setCurrentWidget(page)
    page.list.select(len(page.model.groups) - 1)
    window.not_duplicate()
    settle(1.0, idle)
    page.list.select(0, 1)
    window.keep_current()
    settle(1.0, idle)
    window.review.show_decisions()
    settle(1.0, lambda: idle() and window.review.decisions_dialog.tree.topLevelItemCount() == 2)
    save(window.review.decisions_dialog, "decisions")
    window.review.decisions_dialog.close()

    dialog = SettingsDialog(window.session, window.session.catalog.path, window)
    dialog.show()
    settle(0.5, lambda: "ExecutionProvider" in dialog.provider.text())
    save(dialog, "settings")
    dialog.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
