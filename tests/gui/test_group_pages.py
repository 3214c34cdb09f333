"""The group list at scale: it shows the first page of groups with only those keepers
chosen, fetches more as it scrolls, regroups at a new threshold the same way, and adds up
"could free" in the background, all matching core's full evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from generated_photos import copied_pictures
from gui_helpers import scan, wait_idle
from lookalike.core.paths import resources_dir
from lookalike.core.review.keeprules import human_bytes
from lookalike.core.review.tiers import picture_groups
from lookalike.ui.groups_view import GroupsModel, GroupsPage
from lookalike.ui.main_window import MainWindow

pytestmark = pytest.mark.gui

ORIGINALS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "hubble_deep_field.jpg", "rocket.jpg")
#: Groups per page here: a few, so that 17 groups take several pages.
PAGE = 3


def pending_when_shown(page: GroupsPage) -> list[int]:
    """Groups whose keeper was still unchosen each time the list showed a new grouping."""
    seen: list[int] = []
    page.model.modelReset.connect(lambda: seen.append(page.model.pages.pending) if page.model.pages else None)
    return seen


def scroll_to_end(qtbot, page: GroupsPage) -> None:  # type: ignore[no-untyped-def]
    """Scroll down as a person would until the list fetches no more."""
    bar = page.list.verticalScrollBar()
    for _ in range(100):
        if not page.model.canFetchMore():
            return
        bar.setValue(bar.maximum())
        qtbot.wait(20)


def test_list_fetches_pages_as_it_scrolls(qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(GroupsModel, "PAGE", PAGE)
    window.resize(640, 420)  # a few groups fill the list, so it does not fetch them all at once
    page = window.pages["duplicate"]
    shown = pending_when_shown(page)
    copied_pictures(tmp_path / "photos", [resources_dir() / "samples" / name for name in ORIGINALS])
    scan(qtbot, window, tmp_path / "photos")
    session = window.session
    expected = picture_groups(session.catalog, session.model_id, page.threshold, session.settings)
    assert len(expected) > 3 * PAGE
    assert shown and 0 < shown[-1] < len(expected)  # shown before every keeper was chosen
    assert f"<b>{len(expected)}</b> groups \u00b7 {sum(len(g.members) for g in expected)} photos" in page.count_label.text()
    total = human_bytes(sum(g.reclaimable for g in expected))
    qtbot.waitUntil(lambda: f"could free {total}" in page.count_label.text(), timeout=10_000)

    fetched = page.model.rowCount()
    assert fetched < len(expected)
    assert [g.representative_id for g in page.model.groups] == [g.representative_id for g in expected[:fetched]]
    scroll_to_end(qtbot, page)
    assert page.model.rowCount() == len(expected) > fetched
    assert [g.representative_id for g in page.model.groups] == [g.representative_id for g in expected]
    assert [[m.keep for m in g.members] for g in page.model.groups] == [[m.keep for m in g.members] for g in expected]

    page.slider.setValue(page.slider.value() - 10)  # regroup: again only the first page's keepers
    qtbot.waitUntil(lambda: len(shown) > 1 and not page.busy(), timeout=10_000)
    wait_idle(qtbot, window)
    regrouped = picture_groups(session.catalog, session.model_id, page.threshold, session.settings)
    assert 0 < shown[-1] and page.model.rowCount() < len(regrouped)
    assert [g.representative_id for g in page.model.groups] == [g.representative_id for g in regrouped[: page.model.rowCount()]]
