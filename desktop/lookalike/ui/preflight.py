"""Before the app starts: can Qt's X11 (xcb) platform plugin load on this machine?

When a system library that `libqxcb.so` links against is missing, Qt aborts with a
message that can name the wrong package (it blames libxcb-cursor0 for any failure
of the plugin). This check asks the dynamic loader itself (`ldd` on the plugin),
names each missing library with the package that holds it, prints the command that
installs them, and with `--install` runs it (directly as root, or through sudo
after saying so).

It imports no Qt (it only locates PySide6's files), so it runs before anything
could abort, from `make run` (`python -m lookalike.ui.preflight --install`) and
from the app's launcher. `--packages debian|fedora` prints the package list that
`.ci/run` installs: this table is the one place that names them.

Usage: python -m lookalike.ui.preflight [--install] [--packages debian|fedora]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Distro = str  # one of DISTROS
DISTROS = ("debian", "fedora")

#: soname -> (Debian/Ubuntu package, Fedora package): the system libraries Qt loads to
#: open windows (the xcb plugin's own links, and EGL/GL, fontconfig, D-Bus and GLib,
#: which Qt needs even offscreen). Deeper dependencies come with these packages.
SYSTEM_LIBRARIES: dict[str, tuple[str, str]] = {
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
}

#: Libraries PySide6 ships beside Qt: when one is missing the wheel is damaged, not the system.
_BUNDLED = re.compile(r"^lib(Qt6|icu|pyside6|shiboken6)", re.IGNORECASE)
#: "libfoo.so.1 => not found" in ldd's output.
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def packages(distro: Distro, sonames: Sequence[str] | None = None) -> list[str]:
    """The packages of `distro` that hold `sonames` (default: every library in the table), each once."""
    column = DISTROS.index(distro)
    chosen = SYSTEM_LIBRARIES if sonames is None else [s for s in sonames if s in SYSTEM_LIBRARIES]
    return list(dict.fromkeys(SYSTEM_LIBRARIES[s][column] for s in chosen))


def install_command(distro: Distro, names: Sequence[str]) -> list[str]:
    """The command, without sudo, that installs `names` on `distro`."""
    return [*(["apt-get"] if distro == "debian" else ["dnf"]), "install", "-y", *names]


def missing_sonames(ldd_output: str) -> list[str]:
    """The libraries ldd could not find, each once, in the order ldd met them."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


@dataclass(frozen=True)
class Finding:
    """What stops the plugin loading, and what would fix it."""

    plugin: Path
    missing: list[str]
    distro: Distro | None

    @property
    def bundled(self) -> list[str]:
        return [s for s in self.missing if _BUNDLED.match(s)]

    @property
    def unknown(self) -> list[str]:
        return [s for s in self.missing if s not in SYSTEM_LIBRARIES and not _BUNDLED.match(s)]

    def install_command(self) -> list[str]:
        """What installs the missing system libraries on this machine's distro; empty when unknown or none."""
        if self.distro is None:
            return []
        names = packages(self.distro, self.missing)
        return install_command(self.distro, names) if names else []

    def message(self) -> str:
        """Lines for a person: which libraries are missing, and the command for each kind of fix."""
        lines = [
            f"lookalike: Qt cannot open windows on X11: its plugin {self.plugin.name} needs libraries this system lacks:",
            *(f"  {soname}{self._note(soname)}" for soname in self.missing),
        ]
        # On an unrecognised distro, both commands: the person knows which one is theirs.
        for distro in (self.distro,) if self.distro else DISTROS:
            names = packages(distro, self.missing)
            if names:
                where = "" if self.distro else f" (on {'Debian/Ubuntu' if distro == 'debian' else 'Fedora'})"
                command = " ".join(install_command(distro, names))
                lines.append(f"Install them{where} with: {'' if _is_root() else 'sudo '}{command}")
        if self.bundled:
            lines.append(
                "The Qt libraries are part of PySide6; reinstall it with: "
                f"{sys.executable} -m pip install --force-reinstall PySide6-Essentials"
            )
        for soname in self.unknown:
            hint = f"dnf provides '*/{soname}'" if self.distro == "fedora" else f"apt-file search {soname}"
            lines.append(f"Find the package that provides {soname} with: {hint}")
        return "\n".join(lines)

    def _note(self, soname: str) -> str:
        if _BUNDLED.match(soname):
            return " (part of PySide6)"
        if soname in SYSTEM_LIBRARIES and self.distro:
            return f" (package {packages(self.distro, [soname])[0]})"
        return ""


def needs_check(env: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Only Linux loads the xcb plugin, and not when QT_QPA_PLATFORM names only other platforms
    (offscreen for tests, wayland, ...); Qt tries xcb when the variable is unset."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    return not chosen or "xcb" in re.split(r"[;:,\s]+", chosen)


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, found without importing Qt (None if PySide6 or the plugin is absent)."""
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def detect_distro(os_release: Path = Path("/etc/os-release")) -> Distro | None:
    """debian (Ubuntu, Mint, ...) or fedora (RHEL, ...) from os-release's ID and ID_LIKE; else None."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    ids: list[str] = []
    for key in ("ID", "ID_LIKE"):
        match = re.search(rf"^{key}=\"?([^\"\n]*)\"?$", text, re.MULTILINE)
        if match:
            ids += match.group(1).lower().split()
    if any(name in ("debian", "ubuntu") for name in ids):
        return "debian"
    if any(name in ("fedora", "rhel", "centos") for name in ids):
        return "fedora"
    return None


def check(plugin: Path, distro: Distro | None) -> Finding | None:
    """Ask the loader (ldd) what `plugin` lacks. None when nothing is missing, or when ldd
    cannot tell (no ldd, not a glibc system): then Qt's own message is all there is."""
    if shutil.which("ldd") is None:
        return None
    try:
        result = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    missing = missing_sonames(result.stdout)
    return Finding(plugin, missing, distro) if missing else None


def _is_root() -> bool:
    """As root an install needs no sudo (which a container may not even have)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def install(finding: Finding) -> bool:
    """Run the install command: as root directly, else through sudo after saying so. True if it succeeded."""
    command = finding.install_command()
    if not command:
        return False
    if not _is_root():
        if shutil.which("sudo") is None:
            return False
        print(f"lookalike: installing them with sudo (it may ask for your password): sudo {' '.join(command)}",
              file=sys.stderr, flush=True)
        command = ["sudo", *command]
    if subprocess.run(command).returncode == 0:
        return True
    if finding.distro != "debian":
        return False
    # A fresh machine or container may have no package lists yet: fetch them once and retry.
    update = [*command[: command.index("apt-get")], "apt-get", "update"]
    return subprocess.run(update).returncode == 0 and subprocess.run(command).returncode == 0


def warn_if_missing() -> Finding | None:
    """Say on stderr what the xcb plugin lacks, before Qt aborts with its own, misleading, message.

    The launcher only warns (a Wayland session can open windows without xcb); `make run`
    (main) also fails, or installs."""
    plugin = xcb_plugin()
    finding = check(plugin, detect_distro()) if plugin is not None and needs_check() else None
    if finding is not None:
        print(finding.message(), file=sys.stderr, flush=True)
    return finding


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lookalike.ui.preflight",
        description="Check that Qt's X11 platform plugin can load; say (and optionally install) what is missing.",
    )
    parser.add_argument("--install", action="store_true", help="install the missing system packages (as root, or with sudo)")
    parser.add_argument("--packages", choices=DISTROS, help="print the system packages the app needs, and exit")
    args = parser.parse_args(argv)
    if args.packages:
        print(" ".join(packages(args.packages)))
        return 0
    finding = warn_if_missing()
    if finding is None:
        return 0
    if not (args.install and install(finding)):
        return 1
    finding = check(finding.plugin, finding.distro)
    if finding is not None:  # what no package of ours provides is still missing
        print(finding.message(), file=sys.stderr)
        return 1
    print("lookalike: the missing libraries are installed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
