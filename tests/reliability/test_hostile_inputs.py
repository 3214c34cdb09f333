"""Hostile inputs: damaged, crafted and mislabelled files never crash, hang or balloon a scan.

Decoding is tested directly for the many generated cases (fast), and through a
real scan for one of every crafted kind: each file ends up catalogued once,
usable or with a reason a person can read.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_files as hostile
from lookalike.core.catalog.store import Catalog
from lookalike.core.engines.embedder import Embedder
from lookalike.core.scan.images import ImageError, decode, open_upright, read_info
from lookalike.core.scan.pipeline import Scanner
from reliability_tools import hanging_reads, leases_work, make_photos, scan_command

SIZE = (224, 224)
#: Peak memory allowed to a process decoding every hostile file, bombs included
#: (generous: one 100 MP RGBA decode buffer is 400 MB; before the fix it took 2 GB).
PEAK_RSS_LIMIT_MB = 1500

EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same cases in every run: CI stays deterministic
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _decodes_or_explains(path: Path) -> str:
    """'ok' or the ImageError reason; any other exception fails the test."""
    try:
        decoded = decode(path, SIZE)
    except ImageError as exc:
        assert exc.reason and exc.reason.strip(), f"{path.name}: an error without a reason"
        return exc.reason
    assert decoded.pixels.shape == (*SIZE, 3)
    return "ok"


@st.composite
def _damage(draw: st.DrawFn, length: int) -> tuple[list[tuple[int, int]], int | None, tuple[int, bytes] | None]:
    """Byte overwrites, maybe a cut, maybe an inserted run of bytes."""
    edits = draw(st.lists(st.tuples(st.integers(0, length - 1), st.integers(0, 255)), min_size=1, max_size=16))
    cut = draw(st.none() | st.integers(1, length - 1))
    insert = draw(st.none() | st.tuples(st.integers(0, length), st.binary(min_size=1, max_size=64)))
    return edits, cut, insert


@pytest.mark.parametrize("fmt", sorted(hostile.FORMATS))
def test_mutated_bytes_are_decoded_or_explained(fmt: str, tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """Hypothesis-mutated bytes of a real photo"""
    original = hostile.base_files()[fmt]
    target = tmp_path / f"mutated{hostile.FORMATS[fmt]}"
    outcomes: list[str] = []

    @EXAMPLES
    @given(_damage(len(original)))
    def check(damage: tuple[list[tuple[int, int]], int | None, tuple[int, bytes] | None]) -> None:
        edits, cut, insert = damage
        data = bytearray(original)
        for offset, value in edits:
            data[offset] = value
        if insert is not None:
            data[insert[0] : insert[0]] = insert[1]
        target.write_bytes(bytes(data[:cut] if cut else data))
        outcomes.append(_decodes_or_explains(target))

    check()
    failed = sum(o != "ok" for o in outcomes)
    record(
        "hostile inputs",
        f"{fmt}: overwritten, inserted and cut bytes of a real photo (hypothesis)",
        len(outcomes),
        f"no crash; {failed} refused with a reason, {len(outcomes) - failed} still decodable",
    )


def test_truncated_at_every_marker_and_chunk(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """Truncation at every JPEG marker and PNG chunk boundary"""
    cases = {f"jpeg_{name}": (data, hostile.jpeg_marker_offsets(data)) for name, data in hostile.rich_jpegs().items()}
    png = hostile.chunked_png()
    cases["png_many_idat"] = (png, hostile.png_chunk_offsets(png))
    for name, (data, offsets) in cases.items():
        outcomes = []
        for cut, piece in hostile.truncations(data, offsets):
            path = tmp_path / f"{name}_{cut}{'.png' if name.startswith('png') else '.jpg'}"
            path.write_bytes(piece)
            outcomes.append(_decodes_or_explains(path))
            path.unlink()
        refused = sum(o != "ok" for o in outcomes)
        assert refused > 0  # most cuts lose image data, which must be said
        record(
            "hostile inputs",
            f"{name}: cut at each of its {len(offsets)} markers/chunks (+1, +2 bytes)",
            len(outcomes),
            f"no crash; {refused} refused as truncated or corrupt, {len(outcomes) - refused} decodable",
        )


def test_every_crafted_kind_is_catalogued_with_a_reason(tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """Crafted files in one scan: huge declared sizes, EXIF loops, 3000-frame GIF, bombs, non-images, wrong names"""
    folder = tmp_path / "hostile"
    made = hostile.write_hostile_set(folder, bomb_side=3000)
    make_photos(folder / "real", 3)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = Scanner(catalog, embedder).run([folder])
        rows = {Path(f.path).relative_to(folder).as_posix(): f for f in catalog.iter_files(("ok", "error"))}

    assert sorted(rows) == sorted([*made, *(f"real/{p.name}" for p in (folder / "real").iterdir())])
    usable = {name for name, what in made.items() if what in _USABLE}
    for name, row in rows.items():
        if name.startswith("real/") or name in usable:
            assert row.status == "ok", f"{name}: {row.error}"
        else:
            assert row.status == "error" and row.error, f"{name} ({made[name]}) was accepted as a photo"
    assert report.errors == len(made) - len(usable) and not report.unreadable
    kinds: dict[str, list[str]] = {}
    for name, what in made.items():
        kinds.setdefault(what, []).append(name)
    for what, names in kinds.items():
        reasons = sorted({rows[n].error or "decoded" for n in names})
        record("hostile inputs", what, len(names), "; ".join(_short(r) for r in reasons))


def test_review_screen_calls_on_every_crafted_kind(tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """read_info and full-size open_upright (compare view) on every crafted file"""
    folder = tmp_path / "hostile"
    made = hostile.write_hostile_set(folder, bomb_side=3000)
    refused = 0
    for name in sorted(made):
        for call in (read_info, open_upright):
            try:
                call(folder / name)
            except ImageError as exc:
                assert exc.reason.strip(), f"{call.__name__}({name}): an error without a reason"
                refused += 1
    record("hostile inputs", "review screen: read_info and full-size open_upright on each crafted file", 2 * len(made),
           f"no exception but ImageError ({refused} refused with a reason)")


#: Crafted kinds that are valid photos after all (their trap is in metadata or size).
_USABLE = {
    "valid photo, wrong extension",
    "EXIF IFDs pointing to themselves",
    "EXIF with 2000 nested IFDs",
    "GIF with 3000 frames",
    "3000x3000 RGBA PNG of zeros",
}


def _short(reason: str) -> str:
    return reason if len(reason) <= 70 else reason[:67] + "..."


@pytest.mark.devset
def test_devset_broken_files(devset: Path, truth: dict, tmp_path: Path, embedder: Embedder, record) -> None:  # type: ignore[no-untyped-def]
    """The devset's broken/ files"""
    folder = tmp_path / "broken"
    shutil.copytree(devset / "broken", folder)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = Scanner(catalog, embedder).run([folder])
        errors = dict(catalog.errors())
    expected = {str(tmp_path / name) for name in truth["broken"]}
    assert set(errors) == expected and all(errors.values())
    assert report.errors == len(expected) and report.embedded == 0
    record("hostile inputs", "devset broken/ (0 bytes, text, truncated, header only, 30000x30000, bad CRC, random .heic)",
           len(expected), "; ".join(sorted({_short(r) for r in errors.values()})))


_MEMORY_PROBE = textwrap.dedent(
    """
    import json, resource, shutil, sys, tempfile
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import hostile_files as hostile
    from lookalike.core.scan.images import ImageError, decode

    def peak_mb():
        # VmHWM is this process's own peak; ru_maxrss also counts the parent's
        # memory at fork/exec time (Linux), so it is only the fallback.
        try:
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    folder = Path(tempfile.mkdtemp())
    made = hostile.write_hostile_set(folder, bomb_side=10_000)
    before = peak_mb()
    for name in sorted(made):
        try:
            decode(folder / name, (224, 224))
        except ImageError:
            pass
    print(json.dumps({"files": len(made), "before_mb": before, "peak_mb": peak_mb()}))
    shutil.rmtree(folder)
    """
)


def test_peak_memory_of_decoding_hostile_files_is_bounded(record) -> None:  # type: ignore[no-untyped-def]
    """Peak RSS while decoding every crafted file, a 10000x10000 RGBA bomb included"""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=240, check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["peak_mb"] < PEAK_RSS_LIMIT_MB, seen
    print("memory probe:", seen, file=sys.stderr)
    record("hostile inputs", "peak memory (VmHWM, else getrusage) of a fresh process decoding every crafted file",
           seen["files"], f"below the {PEAK_RSS_LIMIT_MB} MB bound (a 100 MP RGBA bomb took 2 GB before the fix)")


# --- the per-file time limit ---------------------------------------------------------------


@pytest.fixture
def hang_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    make_photos(folder, 3)
    if sys.platform != "linux" or not leases_work(folder):
        pytest.skip("needs Linux file leases to make a read hang")
    (folder / "stuck.jpg").write_bytes((folder / "photo_0_000.jpg").read_bytes()[::-1])
    return folder


def test_a_decode_that_hangs_is_given_up_and_the_scan_goes_on(
    hang_folder: Path, tmp_path: Path, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """A file whose read hangs (a held file lease, like a stalled network disk)"""
    stuck = hang_folder / "stuck.jpg"
    with hanging_reads(stuck), Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = Scanner(catalog, embedder, workers=1, decode_timeout=1.0).run([hang_folder])
        assert catalog.errors() == [(str(stuck), "took too long to decode (over 1 s)")]
        assert (report.embedded, report.errors, report.stalled) == (3, 1, False)
        again = Scanner(catalog, embedder, workers=1, decode_timeout=1.0).run([hang_folder])
        assert (again.unchanged, again.errors) == (4, 1)  # not retried while unchanged: no second wait
    record("hostile inputs", "scan with a file whose read never returns (decode_timeout 1 s)", 1,
           "recorded as 'took too long to decode'; the other photos were read")


def test_the_cli_exits_while_a_decode_is_still_stuck(hang_folder: Path, tmp_path: Path, record) -> None:  # type: ignore[no-untyped-def]
    """`lookalike scan --decode-timeout 1` with a file whose read never returns"""
    with hanging_reads(hang_folder / "stuck.jpg"):
        # The lease keeps the read blocked for 45 s: a process that joined its
        # decode threads at exit would outlive the timeout below.
        done = subprocess.run(
            scan_command(tmp_path / "catalog.sqlite", hang_folder, "--decode-timeout", "1"),
            capture_output=True, text=True, timeout=40,
        )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["errors"], report["embedded"]) == (1, 3)
    record("hostile inputs", "CLI scan exits with a decode still blocked", 1, "exit 0; the stuck thread does not hold the process")


def test_a_disk_where_every_read_hangs_stops_the_scan_instead_of_piling_up_threads(
    tmp_path: Path, embedder: Embedder, record  # type: ignore[no-untyped-def]
) -> None:
    """Many files in a row whose reads hang (a disk that stopped answering)"""
    folder = tmp_path / "dead-disk"
    photos = make_photos(folder, 7)
    if sys.platform != "linux" or not leases_work(folder):
        pytest.skip("needs Linux file leases to make a read hang")
    with _all_hanging(photos), Catalog(tmp_path / "catalog.sqlite") as catalog:
        report = Scanner(catalog, embedder, workers=1, decode_timeout=0.5).run([folder])
        errors = catalog.errors()
        assert report.stalled and not report.cancelled
        assert 0 < len(errors) < len(photos)  # gave up on a few, left the rest for the next scan
        assert all(reason.startswith("took too long") for _, reason in errors)
        assert catalog.roots()[0].last_scan_at is None
    record("hostile inputs", "7 files whose reads all hang, 1 decode thread", len(photos),
           f"scan stopped after {len(errors)} timeouts (report.stalled) instead of stranding a thread per file")


def _all_hanging(paths: list[Path]):  # type: ignore[no-untyped-def]
    from contextlib import ExitStack

    stack = ExitStack()
    for path in paths:
        stack.enter_context(hanging_reads(path))
    return stack
