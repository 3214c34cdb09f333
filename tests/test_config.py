"""Settings files: what carries over from an earlier version and what does not."""

from __future__ import annotations

import json
from pathlib import Path

from lookalike.core.config import SIMILAR_THRESHOLD, Settings, load_settings, save_settings


def test_a_similar_threshold_saved_for_the_raw_cosine_is_not_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"similar_threshold": 0.62, "duplicate_threshold": 0.93}), encoding="utf-8")
    loaded = load_settings(path)
    assert (loaded.similar_threshold, loaded.duplicate_threshold) == (SIMILAR_THRESHOLD, 0.93)


def test_a_similar_threshold_saved_for_the_scene_score_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(similar_threshold=0.54), path)
    assert load_settings(path).similar_threshold == 0.54
