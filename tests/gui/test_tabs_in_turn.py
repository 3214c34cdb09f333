"""The review tabs regroup one after another, the tab in view first: on a million photos
each regroup takes seconds, and run together they delayed the groups on screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gui_helpers import scan, wait_idle

from lookalike.ui.main_window import MainWindow


def watch(window: MainWindow) -> list[tuple[str, list[str]]]:
    """(kind, the tabs still stale then) each time a tab shows its groups."""
    shown: list[tuple[str, list[str]]] = []
    for kind, page in window.pages.items():
        page.groupsChanged.connect(
            lambda _kind, _count, kind=kind: shown.append((kind, [k for k, p in window.pages.items() if p.stale]))
        )
    return shown


def test_the_tab_in_view_regroups_first_and_the_others_wait_their_turn(
    qtbot, make_window: Callable[[], MainWindow], samples: Path  # type: ignore[no-untyped-def]
) -> None:
    window = make_window()
    scan(qtbot, window, samples)
    assert window.pages["duplicate"].model.rowCount() > 0
    window.close()

    window = make_window()  # opening a scanned catalog: Duplicates is in view
    shown = watch(window)
    wait_idle(qtbot, window)
    assert [kind for kind, _ in shown] == ["duplicate", "burst", "similar"]
    assert shown[0][1] == ["burst", "similar"]  # the others had not started when its groups showed
    assert shown[1][1] == ["similar"]
    assert window.pages["duplicate"].model.rowCount() > 0

    shown.clear()
    window.tabs.setCurrentWidget(window.pages["similar"])
    window.session.changed()  # e.g. a scan finished: the tab in view goes first
    wait_idle(qtbot, window)
    assert [kind for kind, _ in shown] == ["similar", "duplicate", "burst"]
    assert shown[0][1] == ["duplicate", "burst"]


def test_settings_applied_regroup_each_tab_once(qtbot, window: MainWindow, samples: Path) -> None:  # type: ignore[no-untyped-def]
    """The slider reset by new settings and the catalog-changed signal used to regroup every
    tab twice (the first result thrown away)."""
    scan(qtbot, window, samples)
    shown = watch(window)
    window.session.apply_settings(window.session.settings)
    wait_idle(qtbot, window)
    assert sorted(kind for kind, _ in shown) == ["burst", "duplicate", "similar"]
