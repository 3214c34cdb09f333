"""What the app does as it starts: photos passed by "Open with", and crash recovery."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from lookalike.core.catalog.store import Catalog, CatalogRecovered
from lookalike.core.catalog.schema import Batch, JournalEntry
from lookalike.ui.app import open_window


def test_photos_given_at_start_are_searched(qtbot, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    catalog = tmp_path / "catalog.sqlite"
    window = open_window(["--catalog", str(catalog)])
    assert window is not None
    qtbot.addWidget(window)
    window.add_folders([str(samples)])
    qtbot.waitUntil(lambda: not window.scanning(), timeout=120_000)
    window.close()

    query = samples / "copies" / "coffee_cropped.jpg"
    window = open_window(["--catalog", str(catalog), str(query)])
    assert window is not None
    qtbot.addWidget(window)
    search = window.search
    qtbot.waitUntil(lambda: bool(search.results), timeout=60_000)
    matches = search.results[0].matches
    assert Path(matches[0][0].path).name == "coffee_cropped.jpg"
    assert Path(matches[1][0].path).name == "coffee.jpg"
    window.close()


def test_opening_the_app_settles_an_interrupted_deletion(qtbot, make_window, tmp_path: Path, samples: Path) -> None:  # type: ignore[no-untyped-def]
    photo = samples / "coffee.jpg"
    with Catalog(tmp_path / "catalog.sqlite") as catalog, catalog.session() as session:
        batch = Batch(created_at=time.time(), mode="trash", status="open")
        session.add(batch)
        session.flush()
        stat = photo.stat()
        session.add(JournalEntry(batch_id=batch.id, source=str(photo), size=stat.st_size,
                                 mtime_ns=stat.st_mtime_ns, state="planned", updated_at=time.time()))
    make_window()  # a crash left the batch open: the app reconciles it with the disk
    with Catalog(tmp_path / "catalog.sqlite") as catalog, catalog.session() as session:
        entry = session.scalars(select(JournalEntry)).one()
        assert entry.state == "skipped" and "interrupted" in (entry.reason or "")
        assert session.scalars(select(Batch)).one().status != "open"
    assert photo.is_file()


def test_a_damaged_catalog_is_reported_in_a_dialog(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    catalog = tmp_path / "catalog.sqlite"
    catalog.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    with pytest.warns(CatalogRecovered):
        window = open_window(["--catalog", str(catalog)])
    assert window is not None
    qtbot.addWidget(window)
    dialogs = [w for w in window.findChildren(QMessageBox) if w.isVisible()]
    assert len(dialogs) == 1 and "was damaged" in dialogs[0].text()
    assert list(tmp_path.glob("catalog.sqlite.corrupt-*"))
    window.close()
