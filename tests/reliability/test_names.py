"""File names cannot forge output: text listings escape them, JSON keeps them exact.

A photo named with a newline, a fake "keep" line and an ANSI colour sequence is
scanned for real and listed by `dedupe` (plan), `duplicates` and `errors`; the
app's labels for it (a compare panel caption, a group tile) stay one line with no markup.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from lookalike.cli import main
from lookalike.core.catalog.store import Catalog
from lookalike.core.display import shown
from lookalike.core.engines.embedder import Embedder
from lookalike.core.paths import resources_dir
from lookalike.core.scan.pipeline import Scanner

FORGED = "copy.jpg\n  keep    FAKE \x1b[32m(in colour)\x1b[0m.jpg"


def test_shown_escapes_controls_and_marks_undecodable_bytes(record) -> None:  # type: ignore[no-untyped-def]
    name = os.fsdecode(b"caf\xe9\t\x1b[2J\xe2\x80\xae.jpg")  # a Latin-1 byte, a tab, ESC, a bidi override
    assert shown(name) == "caf\\xe9\\t\\x1b[2J\\u202e.jpg"
    assert shown("line\r\nnext\x7f\u2028") == "line\\r\\nnext\\x7f\\u2028"
    assert shown("Fotos/été 2024/ü.jpg") == "Fotos/été 2024/ü.jpg"  # plain names untouched
    assert shown(shown(name)) == shown(name)
    record("names", "core/display.shown: a tab, ESC, CR LF, DEL, U+2028, a bidi override, a byte that is not UTF-8", 7,
           "shown as \\t \\x1b \\r\\n \\x7f \\u2028 \\u202e \\xe9; accented names untouched")


@pytest.fixture
def forged_library(tmp_path: Path, embedder: Embedder) -> tuple[Path, Path]:
    """A photo, its smaller copy under a forging name, and an unreadable file under one: scanned."""
    photos = tmp_path / "Photos"
    photos.mkdir()
    with Image.open(resources_dir() / "samples" / "chelsea.jpg") as image:
        image.save(photos / "chelsea.jpg", quality=95)
        image.resize((image.width // 2, image.height // 2)).save(photos / FORGED, quality=85)
    (photos / "broken\n  FAKE error\x1b[31m.jpg").write_bytes(b"not a photo")
    shutil.copyfile(photos / "chelsea.jpg", photos / "exact copy.jpg")
    catalog_path = tmp_path / "catalog.sqlite"
    with Catalog(catalog_path) as catalog:
        Scanner(catalog, embedder, workers=1).run([photos])
    return catalog_path, photos


def _run(capsys: pytest.CaptureFixture[str], catalog_path: Path, *argv: str) -> str:
    capsys.readouterr()
    assert main(["--catalog", str(catalog_path), *argv]) == 0
    return capsys.readouterr().out


def test_dedupe_plan_shows_no_forged_line(forged_library: tuple[Path, Path], capsys: pytest.CaptureFixture[str], record) -> None:  # type: ignore[no-untyped-def]
    catalog_path, photos = forged_library
    out = _run(capsys, catalog_path, "dedupe")
    lines = out.splitlines()
    assert "\x1b" not in out
    assert [line.split()[:1] for line in lines if line.startswith("  keep")] == [["keep"]]  # one group, one keeper
    assert not any(line.lstrip().startswith("keep    FAKE") for line in lines)
    assert any(line.startswith("  remove") and "copy.jpg\\n  keep    FAKE \\x1b[32m(in colour)" in line for line in lines)

    plan = json.loads(_run(capsys, catalog_path, "dedupe", "--json"))
    removed = [m["path"] for g in plan["groups"] for m in g["remove"]]
    assert str(photos / FORGED) in removed  # JSON keeps the exact name
    record("names", "a copy named 'copy.jpg<newline>  keep    FAKE <ESC>[32m(in colour)...' in the `dedupe` plan", 1,
           "one line, shown as copy.jpg\\n  keep    FAKE \\x1b[32m...; no forged keep line, no escape reaches "
           "the terminal; --json keeps the exact name")


def test_listings_escape_names(forged_library: tuple[Path, Path], capsys: pytest.CaptureFixture[str], record) -> None:  # type: ignore[no-untyped-def]
    catalog_path, _ = forged_library
    for verb in (("duplicates",), ("errors",)):
        out = _run(capsys, catalog_path, *verb)
        assert "\x1b" not in out, verb
        assert not any(line.lstrip().startswith("FAKE") or line.lstrip().startswith("keep    FAKE") for line in out.splitlines())
    errors = json.loads(_run(capsys, catalog_path, "errors", "--json"))
    assert any(e["path"].endswith("broken\n  FAKE error\x1b[31m.jpg") for e in errors["errors"])
    record("names", "names with newlines and escape sequences in `duplicates` and `errors`", 2,
           "escaped in text, exact in JSON")


def test_app_labels_stay_one_line_without_markup(qtbot, tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    from lookalike.core.review.tiers import ReviewGroup, ReviewMember
    from lookalike.core.catalog.schema import File
    from lookalike.ui.compare_view import PhotoPanel
    from lookalike.ui import format as fmt
    from lookalike.ui.groups_view import member_tile

    fake_keep = "x.jpg\n<b style='color:green'>KEEP"  # a name holds no "/", so no closing tag
    file = File(id=1, path=str(tmp_path / fake_keep), size=10, mtime_ns=0, width=2, height=2)
    member = ReviewMember(file, 1.0, keep=False, reason="duplicate of a.jpg: smaller")
    panel = PhotoPanel()
    qtbot.addWidget(panel)
    panel.show_state(member, marked=False, current=False)
    assert "<b style" not in panel.caption.text() and "\n" not in panel.caption.text()
    assert "x.jpg\\n&lt;b style=&#x27;color:green&#x27;&gt;KEEP" in panel.caption.text()  # shown as text
    tile = member_tile(ReviewGroup("duplicate", 1, [member]), member, fmt.folder_labels([file.path])[0], marked=False, current=False)
    assert all("\n" not in line for line in [*tile.lines, tile.note])
    record("names", "the app: a name with a newline and HTML (a fake KEEP tag) in a compare caption and a group tile",
           2, "one line, the markup shown as text")
