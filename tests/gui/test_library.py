"""The library sidebar: counts per folder, and removing a folder from the library."""

from __future__ import annotations

from pathlib import Path

from lookalike.ui.main_window import MainWindow
from gui_helpers import scan


def test_removing_a_folder_forgets_its_photos(qtbot, window: MainWindow, samples: Path, confirm: list[str]) -> None:  # type: ignore[no-untyped-def]
    scan(qtbot, window, samples)
    library = window.library
    qtbot.waitUntil(lambda: "10 photos" in library.list.item(0).text(), timeout=10_000)
    assert window.pages["duplicate"].model.rowCount() > 0

    library.list.item(0).setSelected(True)
    library.remove_button.click()
    assert "10 photos" in confirm[-1] and "Nothing on disk is touched" in confirm[-1]
    qtbot.waitUntil(lambda: window.session.catalog.root_counts() == {}, timeout=10_000)
    qtbot.waitUntil(lambda: window.pages["duplicate"].model.rowCount() == 0, timeout=10_000)
    assert library.folders == [] and (samples / "coffee.jpg").is_file()
