"""One review model for the CLI and the app: what a bulk selection takes, what can be undone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookalike.cli import main
from lookalike.core.removal import trash
from lookalike.core.catalog.store import Catalog
from lookalike.core.config import Settings
from lookalike.core.engines.embedder import Embedder
from lookalike.core.review.tiers import DifferentShots, all_but_keepers, view_groups
from lookalike.core.scan.pipeline import Scanner

@pytest.fixture
def sampled(detailed_samples: Path, tmp_path: Path, embedder: Embedder) -> Catalog:
    """The samples (copies) and a detail of coffee.jpg (a different shot of its subject)."""
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        Scanner(catalog, embedder, workers=2).run([detailed_samples])
        yield catalog


def test_bulk_selection_of_copies_takes_every_copy_but_the_keepers(sampled: Catalog, embedder: Embedder) -> None:
    groups = view_groups(sampled, embedder.model_id, "duplicate", settings=Settings())
    selection = all_but_keepers(groups)
    expected = {m.file.id: m.file.size for g in groups for m in g.members if not m.keep}
    assert sorted(selection.file_ids) == sorted(expected) and selection.size == sum(expected.values())
    assert selection.size == sum(g.reclaimable for g in groups) > 0
    assert not selection.different_shots and "copies" in selection.description


def test_bulk_selection_of_different_shots_needs_an_explicit_choice(sampled: Catalog, embedder: Embedder) -> None:
    groups = view_groups(sampled, embedder.model_id, "similar", settings=Settings())
    assert groups and all(g.reclaimable == 0 and not g.copies for g in groups)
    with pytest.raises(DifferentShots) as refused:
        all_but_keepers(groups)
    assert "different shots, not copies" in str(refused.value)
    selection = all_but_keepers(groups, different_shots=True)
    assert selection.different_shots and "different shots" in selection.description
    assert sorted(selection.file_ids) == sorted(m.file.id for g in groups for m in g.members if not m.keep)


def test_dedupe_of_similar_groups_asks_for_different_shots(
    sampled: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--catalog", str(sampled.path), "dedupe", "--kind", "similar"]
    capsys.readouterr()
    assert main([*argv, "--apply"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "different shots, not copies" in err and "--different-shots" in err
    assert all(Path(f.path).exists() for f in sampled.iter_files())
    assert main([*argv, "--different-shots", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["groups"]


@pytest.mark.parametrize("can_restore", [True, False])
def test_dedupe_promises_undo_only_where_this_system_can(
    sampled: Catalog, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, can_restore: bool
) -> None:
    """macOS and Windows keep the trash's bookkeeping private (trash.CAN_RESTORE is False there)."""
    monkeypatch.setattr(trash, "CAN_RESTORE", can_restore)
    argv = ["--catalog", str(sampled.path), "dedupe", "--kind", "identical", "--apply", "--mode", "trash"]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert ("`lookalike undo` puts them back" in out) is can_restore
    assert ("restore them from the Trash yourself" in out) is not can_restore
    assert trash.undoable("trash") is can_restore and trash.undoable("quarantine") and not trash.undoable("permanent")
