"""A fresh clone on a fresh machine: `make run`'s preflight of Qt's system libraries,
the README's package list, and a test run that leaves the clone as it was."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from lookalike.ui import preflight

REPO = Path(__file__).resolve().parent.parent
HIDDEN = "libxcb-cursor.so.0"  # the library the tests take away from the plugin
DT_FLAGS_1, DF_1_NODEFLIB = 0x6FFFFFFB, 0x800


def _real_plugin() -> Path:
    plugin = preflight.xcb_plugin()
    if not sys.platform.startswith("linux") or shutil.which("ldd") is None or plugin is None:
        pytest.skip("needs Linux, ldd and PySide6's xcb plugin")
    return plugin


def _ldd(path: Path) -> str:
    return subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=60).stdout


def _forbid_default_library_dirs(library: Path) -> None:
    """Set DF_1_NODEFLIB on an ELF64 library: the loader then looks for its dependencies only
    on its RUNPATH (and LD_LIBRARY_PATH), never in /usr/lib, so one left out there is really not found."""
    data = bytearray(library.read_bytes())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        pytest.skip("the plugin is not a little-endian ELF64 file")
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for header in range(phoff, phoff + phentsize * phnum, phentsize):
        if struct.unpack_from("<I", data, header)[0] != 2:  # PT_DYNAMIC
            continue
        offset, size = struct.unpack_from("<Q", data, header + 8)[0], struct.unpack_from("<Q", data, header + 32)[0]
        for entry in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, entry)
            if tag == DT_FLAGS_1:
                struct.pack_into("<Q", data, entry + 8, value | DF_1_NODEFLIB)
                library.write_bytes(data)
                return
    pytest.skip("the plugin has no DT_FLAGS_1 entry to set NODEFLIB in")


def _plugin_without(tmp_path: Path, hidden: str) -> Path:
    """A PySide6 tree holding a copy of the real xcb plugin whose loader finds every library
    the real one links to except `hidden`: ldd's own verdict, not a made-up one."""
    real = _real_plugin()
    qt = tmp_path / "PySide6" / "Qt"
    (qt / "plugins" / "platforms").mkdir(parents=True)
    (qt / "lib").mkdir()
    (tmp_path / "PySide6" / "__init__.py").write_text("")
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    shutil.copyfile(real, plugin)
    _forbid_default_library_dirs(plugin)
    # The copy's RUNPATH is $ORIGIN/../../lib, as in the wheel: offer every library found there.
    for name, target in re.findall(r"^\s*(\S+) => (/\S+)", _ldd(real), re.MULTILINE):
        if name != hidden:
            (qt / "lib" / name).symlink_to(target)
    assert re.search(rf"^\s*{re.escape(hidden)} => not found", _ldd(plugin), re.MULTILINE)
    return plugin


def test_preflight_names_the_missing_library_its_package_and_the_command(tmp_path: Path) -> None:
    plugin = _plugin_without(tmp_path, HIDDEN)
    sudo = "" if os.geteuid() == 0 else "sudo "

    debian = preflight.check(plugin, "debian")
    assert debian is not None and HIDDEN in debian.missing
    lines = debian.message().splitlines()
    assert f"  {HIDDEN} (package libxcb-cursor0)" in lines
    install = next(line for line in lines if line.startswith("Install them with: "))
    assert install.startswith(f"Install them with: {sudo}apt-get install -y ") and "libxcb-cursor0" in install.split()
    assert debian.install_command()[:3] == ["apt-get", "install", "-y"] and "libxcb-cursor0" in debian.install_command()

    fedora = preflight.check(plugin, "fedora")
    assert fedora is not None
    assert f"  {HIDDEN} (package xcb-util-cursor)" in fedora.message().splitlines()
    assert fedora.install_command()[:3] == ["dnf", "install", "-y"] and "xcb-util-cursor" in fedora.install_command()

    unknown_distro = preflight.check(plugin, None)
    assert unknown_distro is not None and unknown_distro.install_command() == []
    text = unknown_distro.message()
    assert "(on Debian/Ubuntu) with: " in text and "(on Fedora) with: " in text


def test_make_runs_preflight_exits_1_with_the_message_and_skips_offscreen(tmp_path: Path) -> None:
    """`python -m lookalike.ui.preflight` as `make run` calls it (without --install), finding the
    broken plugin as PySide6's, in a fresh process."""
    _plugin_without(tmp_path, HIDDEN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO / "desktop")])}

    def run(platform: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "lookalike.ui.preflight"]
        return subprocess.run(command, env={**env, "QT_QPA_PLATFORM": platform}, capture_output=True, text=True, timeout=60)

    broken = run("xcb")
    assert broken.returncode == 1 and broken.stdout == ""
    assert "Qt cannot open windows on X11" in broken.stderr and f"  {HIDDEN}" in broken.stderr
    assert re.search(r"^Install them.* with: (sudo )?(apt-get|dnf) install -y ", broken.stderr, re.MULTILINE)
    for platform in ("offscreen", "wayland"):
        skipped = run(platform)
        assert (skipped.returncode, skipped.stderr) == (0, "")


def test_a_plugin_cut_off_from_its_qt_libraries_says_reinstall_pyside6(tmp_path: Path) -> None:
    plugin = tmp_path / "libqxcb.so"  # no ../../lib beside it: Qt's own libraries are not found
    shutil.copyfile(_real_plugin(), plugin)
    finding = preflight.check(plugin, "debian")
    assert finding is not None and "libQt6XcbQpa.so.6" in finding.bundled
    text = finding.message()
    assert "  libQt6XcbQpa.so.6 (part of PySide6)" in text.splitlines()
    assert "pip install --force-reinstall PySide6-Essentials" in text


def test_preflight_only_where_qt_would_load_xcb() -> None:
    assert preflight.needs_check({}, "linux")
    assert preflight.needs_check({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert preflight.needs_check({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux")
    assert not preflight.needs_check({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not preflight.needs_check({"QT_QPA_PLATFORM": "wayland"}, "linux")
    assert not preflight.needs_check({}, "darwin") and not preflight.needs_check({}, "win32")


@pytest.mark.parametrize(
    ("os_release", "distro"),
    [
        ('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', "debian"),
        ("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "debian"),
        ('ID=fedora\nVERSION_ID=40\n', "fedora"),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "fedora"),
        ("ID=arch\n", None),
    ],
)
def test_distro_from_os_release(tmp_path: Path, os_release: str, distro: str | None) -> None:
    (tmp_path / "os-release").write_text(os_release)
    assert preflight.detect_distro(tmp_path / "os-release") == distro
    assert preflight.detect_distro(tmp_path / "absent") is None


def _readme_command(prefix: str) -> list[str]:
    """The package names of the README command that starts with `prefix` (continuation lines joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return line.removeprefix(prefix).split()


def test_readme_and_ci_install_the_preflights_packages() -> None:
    assert _readme_command("sudo apt-get install -y ") == preflight.packages("debian")
    assert _readme_command("sudo dnf install -y ") == preflight.packages("fedora")
    assert "lookalike.ui.preflight --packages debian" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    listed = subprocess.run(
        [sys.executable, "-m", "lookalike.ui.preflight", "--packages", "debian"],
        env={**os.environ, "PYTHONPATH": str(REPO / "desktop")}, capture_output=True, text=True, timeout=60,
    )
    assert listed.returncode == 0 and listed.stdout.split() == preflight.packages("debian")


def test_a_whole_reliability_run_writes_its_table_to_build_not_docs(tmp_path: Path) -> None:
    """pytest writes the table at the end of any session that covered the whole reliability suite
    (a collection is enough); only LOOKALIKE_RELIABILITY_REPORT (make reliability-report) aims it at docs/."""
    docs = REPO / "docs" / "reliability.md"
    before = docs.read_bytes()
    built = REPO / "build" / "reliability.md"
    built.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "LOOKALIKE_RELIABILITY_REPORT"}
    command = [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "tests/reliability"]

    assert subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=300).returncode == 0
    assert docs.read_bytes() == before
    assert built.read_text(encoding="utf-8").startswith("# Reliability and security\n")

    asked = tmp_path / "reliability.md"
    env["LOOKALIKE_RELIABILITY_REPORT"] = str(asked)
    assert subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=300).returncode == 0
    assert docs.read_bytes() == before and "| Area | What was tried |" in asked.read_text(encoding="utf-8")
