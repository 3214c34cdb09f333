"""The CLI and the app give the same groups, keepers and reasons for the same catalog (devset)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookalike.cli import main
from lookalike.ui.main_window import MainWindow

from gui_helpers import scan, wait_idle

pytestmark = pytest.mark.gui


def cli_groups(capsys: pytest.CaptureFixture[str], catalog: Path, verb: str, threshold: float) -> list[list[tuple]]:
    capsys.readouterr()
    assert main(["--catalog", str(catalog), verb, "--threshold", f"{threshold:.2f}", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    return [[(f["path"], f["keep"], f["reason"]) for f in g["files"]] for g in groups]


def app_groups(window: MainWindow, tab: str) -> list[list[tuple]]:
    groups = window.pages[tab].model.groups
    return [[(m.file.path, m.keep, m.reason) for m in g.members] for g in groups]


@pytest.mark.devset
def test_cli_and_app_list_the_same_groups_keepers_and_reasons(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, devset: Path, truth: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan(qtbot, window, devset)
    catalog = window.session.catalog.path
    # A person's "keep this one", given on the command line, holds in the app too.
    chosen = str(devset / truth["groups"][0][1])
    capsys.readouterr()
    assert main(["--catalog", str(catalog), "dedupe", "--keep", chosen]) == 0
    window.session.changed()
    wait_idle(qtbot, window)

    for tab, verb in (("duplicate", "duplicates"), ("similar", "similar")):
        shown = app_groups(window, tab)
        assert shown, tab
        assert cli_groups(capsys, catalog, verb, window.pages[tab].threshold) == shown, tab
    duplicates = app_groups(window, "duplicate")
    assert len(duplicates) == len(truth["groups"]) + len(truth["identical"])
    assert (chosen, True, "you chose to keep this one") in [m for g in duplicates for m in g]


@pytest.mark.devset
def test_keep_this_one_in_the_app_is_what_the_cli_keeps(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, devset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan(qtbot, window, devset)
    page = window.pages["duplicate"]
    group = next(g for g in page.model.groups if g.kind == "duplicate")
    chosen = next(m.file for m in group.members if not m.keep)
    window.review.keep_one(chosen.id, [m.file.id for m in group.members])
    qtbot.waitUntil(lambda: any(m.keep and m.file.id == chosen.id for g in page.model.groups for m in g.members), timeout=10_000)
    wait_idle(qtbot, window)
    kept = [(p, k, r) for g in app_groups(window, "duplicate") for p, k, r in g if p == chosen.path]
    assert kept == [(chosen.path, True, "you chose to keep this one")]
    assert kept[0] in [f for g in cli_groups(capsys, window.session.catalog.path, "duplicates", page.threshold) for f in g]
