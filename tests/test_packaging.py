"""The cheap parts of packaging: the self test, the build recipe's inputs, the .deb layout.

The real PyInstaller build takes minutes and is not run here: `make package` and
`make deb-smoke` (packaging/build.sh, packaging/smoke.sh) do that. These tests
catch what breaks those silently: a selftest that no longer passes from the
source tree, a spec that no longer parses or misses the model, a control file
without its library dependencies, a menu entry that points nowhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from lookalike import __version__
from lookalike.core import selftest
from lookalike.core.engines.manifest import DEFAULT_MODEL

REPO = Path(__file__).resolve().parent.parent
PACKAGING = REPO / "packaging"
#: System libraries Qt's xcb platform plugin needs that a .deb must pull in.
QT_SYSTEM_LIBS = {"libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libgl1", "libfontconfig1", "libdbus-1-3"}


def _load(path: Path, name: str) -> ModuleType:
    """Import a packaging script by path (a module named `packaging` would shadow pip's)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lookalike(*args: str) -> list[str]:
    """The command line of `lookalike ARGS` through the bundle's own entry script."""
    return [sys.executable, str(PACKAGING / "launch_cli.py"), *args]


def _user_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: no PYTHONPATH, a fresh HOME, no display."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LOOKALIKE_", "QT_"))}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("DISPLAY", None)
    return env


# --- lookalike selftest -------------------------------------------------------------


@pytest.mark.gui
def test_selftest_command_passes_from_the_source_tree(tmp_path: Path) -> None:
    result = subprocess.run(
        _lookalike("selftest", "--json", "--device", "cpu"),
        cwd=tmp_path, env=_user_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert result.stdout.strip(), f"exit {result.returncode} (a negative one is a signal): {result.stderr[-2000:]}"
    report = json.loads(result.stdout)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert result.returncode == 0 and report["ok"], failed or result.stderr[-2000:]
    names = [c["name"] for c in report["checks"]]
    assert names == ["model", "embedder", "samples", "scan", "duplicates", "codes", "window"]
    assert not (tmp_path / "home" / ".local" / "share" / "Lookalike").exists(), "selftest wrote user data"


@pytest.mark.gui
def test_startup_time_reports_seconds(tmp_path: Path) -> None:
    result = subprocess.run(
        _lookalike("selftest", "--startup-time", "--json"),
        cwd=tmp_path, env=_user_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert result.stdout.strip(), f"exit {result.returncode} (a negative one is a signal): {result.stderr[-2000:]}"
    data = json.loads(result.stdout)
    assert result.returncode == 0 and data["ok"], result.stderr[-2000:]
    assert 0 < data["startup_seconds"] < 120
    assert data["platform"] == "offscreen"


def test_plain_cli_entry_point_starts(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "lookalike", "--help"], cwd=tmp_path, env=_user_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"


def test_version_option_prints_the_package_version(tmp_path: Path) -> None:
    result = subprocess.run(_lookalike("--version"), cwd=tmp_path, env=_user_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"lookalike {__version__}"


@pytest.mark.gui
def test_no_arguments_opens_the_window_and_keeps_running(tmp_path: Path) -> None:
    """There is no quit hook: the app must open its catalog (the window is being built)
    and still be running ~3 s later, rather than exit with an error."""
    catalog = tmp_path / "catalog.sqlite"
    env = {**_user_env(tmp_path), "QT_QPA_PLATFORM": "offscreen", "LOOKALIKE_CATALOG": str(catalog)}
    process = subprocess.Popen(_lookalike(), cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not catalog.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert catalog.exists(), "the app never opened its catalog"
        time.sleep(3)
        assert process.poll() is None, f"exit {process.returncode}: {process.stderr.read()[-2000:]}"  # type: ignore[union-attr]
    finally:
        process.kill()
        process.communicate()


@pytest.mark.gui
def test_gui_launcher_does_not_search_for_its_own_path(qapp, qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The windowed entry script must not pass argv[0] on as a photo to search for."""
    from PySide6.QtCore import QSettings, QTimer

    from lookalike.ui.main_window import MainWindow

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    searched: list[list[str]] = []
    monkeypatch.setattr(MainWindow, "search_by_image", lambda _self, paths: searched.append(paths))
    monkeypatch.setattr(sys, "argv", [str(PACKAGING / "launch_gui.py")])
    QTimer.singleShot(0, qapp.quit)  # leave the event loop as soon as it starts
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(PACKAGING / "launch_gui.py"), run_name="__main__")
    for window in qapp.topLevelWidgets():
        if isinstance(window, MainWindow):
            qtbot.addWidget(window)  # closed after the test
    assert exited.value.code == 0
    assert searched == []


def test_selftest_fails_with_a_reason_when_the_model_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models", models, ignore=shutil.ignore_patterns("*.py"))
    onnx = models / f"{DEFAULT_MODEL}.onnx"  # the one the self-test loads
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"\0")
    monkeypatch.setenv("LOOKALIKE_MODELS_DIR", str(models))
    checks: list[selftest.Check] = []
    selftest.run_core_checks(selftest.Selftest(on_check=checks.append), device="cpu")
    assert [(c.name, c.ok) for c in checks] == [("model", False), ("embedder", False), ("codes", True)]
    assert "sha256" in checks[0].detail and "not run" in checks[1].detail


def test_group_expectations_accept_tiers_and_reject_misses() -> None:
    def groups(*sets: set[str]) -> list[frozenset[str]]:
        return [frozenset(s) for s in sets]

    good = {
        "identical": groups({"astronaut.jpg", "astronaut (copy).jpg"}),
        "duplicate": groups({"chelsea.jpg", "chelsea_small.jpg"}, {"coffee.jpg", "coffee_cropped.jpg"},
                            {"rocket_rotated.jpg", "rocket.jpg"}),
        # The greyscale copy may sit with whichever rocket the duplicate tier kept.
        "similar": groups({"rocket_rotated.jpg", "rocket_gray.png"}),
    }
    assert selftest.expectation_problems(good) == []
    missing_crop = {**good, "duplicate": good["duplicate"][:1] + good["duplicate"][2:]}
    assert any("coffee" in p for p in selftest.expectation_problems(missing_crop))
    false_group = {**good, "similar": good["similar"] + groups({"hubble_deep_field.jpg", "coffee.jpg"})}
    assert any("hubble" in p for p in selftest.expectation_problems(false_group))
    identical_as_duplicate = {**good, "identical": [], "duplicate": good["duplicate"] + good["identical"]}
    assert any("identical copy" in p for p in selftest.expectation_problems(identical_as_duplicate))


def test_process_age_is_read_from_the_kernel() -> None:
    age = selftest.process_age()
    if sys.platform.startswith("linux"):
        assert age is not None and 0 <= age < 3600
    else:
        assert age is None


# --- build inputs ---------------------------------------------------------------------


def test_cpu_variant_swaps_onnxruntime_gpu_for_onnxruntime() -> None:
    requirements = _load(PACKAGING / "requirements.py", "lookalike_pkg_requirements")
    cpu = requirements.requirements("cpu")
    names = [requirements.requirement_name(r) for r in cpu]
    assert "onnxruntime" in names and "onnxruntime-gpu" not in names
    assert "pyside6-essentials" in names and "pillow-heif" in names and "rawpy" in names
    assert all(";" not in r or "onnxruntime" not in r for r in cpu), "the runtime must not be left to a marker"
    if sys.platform != "darwin":
        assert "onnxruntime-gpu" in [requirements.requirement_name(r) for r in requirements.requirements("gpu")]
    with pytest.raises(ValueError):
        requirements.requirements("tpu")


class _Recorder:
    """Stands in for one PyInstaller spec class and remembers how it was called."""

    def __init__(self, log: dict, name: str) -> None:
        self.log, self.name = log, name

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.log.setdefault(self.name, []).append((args, kwargs))
        return SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[], zipfiles=[])


def test_spec_parses_and_bundles_the_model_resources_and_every_module() -> None:
    log: dict[str, list] = {}
    namespace = {name: _Recorder(log, name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace.update(SPECPATH=str(PACKAGING), __file__=str(PACKAGING / "lookalike.spec"))
    exec(compile((PACKAGING / "lookalike.spec").read_text(), "lookalike.spec", "exec"), namespace)

    (scripts,), analysis = log["Analysis"][0]
    assert Path(scripts[0]).name == "launch_cli.py"
    datas = {(Path(src).relative_to(REPO).as_posix(), dest) for src, dest in analysis["datas"]}
    assert ("models/efficientnet_lite0.onnx", "models") in datas
    assert ("models/efficientnet_lite0.json", "models") in datas
    assert ("resources/samples/copies/rocket_gray.png", "resources/samples/copies") in datas
    assert ("resources/samples/LICENSES.md", "resources/samples") in datas
    hidden = set(analysis["hiddenimports"])
    assert {"lookalike.cli", "lookalike.commands.selftest", "lookalike.ui.app", "lookalike.core.scan.pipeline"} <= hidden
    assert "torch" in analysis["excludes"]
    if sys.platform.startswith("linux"):
        assert [kw["name"] for _, kw in log["EXE"]] == ["lookalike"]
        assert log["COLLECT"][0][1]["name"] == "lookalike"


def test_spec_drops_unwanted_qt_plugins_only() -> None:
    namespace = {name: _Recorder({}, name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace.update(SPECPATH=str(PACKAGING))
    exec(compile((PACKAGING / "lookalike.spec").read_text(), "lookalike.spec", "exec"), namespace)
    binaries = [("PySide6/Qt/plugins/platforms/libqxcb.so", "/x/libqxcb.so", "BINARY")]
    assert namespace["drop_plugins"](binaries, namespace["UNWANTED_QT_PLUGINS"]) == binaries


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh", "linux/make_deb.sh", "linux/make_tarball.sh",
                                    "linux/stage_share.sh", "linux/install.sh"])
def test_shell_scripts_parse(script: str) -> None:
    shell = "sh" if script == "linux/install.sh" else "bash"  # install.sh runs on any /bin/sh
    if not shutil.which(shell):
        pytest.skip(f"no {shell}")
    subprocess.run([shell, "-n", str(PACKAGING / script)], check=True)


# --- Linux desktop integration and the .deb --------------------------------------------


def _control_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_control_template_has_the_required_fields_and_qt_libraries() -> None:
    fields = _control_fields((PACKAGING / "linux" / "control.in").read_text())
    for name in ("Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Depends", "Description"):
        assert name in fields, name
    assert fields["Architecture"] == "amd64"
    depends = {d.split()[0] for d in fields["Depends"].split(",")}
    assert QT_SYSTEM_LIBS <= depends


def _desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line and not line.startswith("#"))


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_staged_menu_entry_runs_the_installed_command(tmp_path: Path) -> None:
    subprocess.run(["bash", str(PACKAGING / "linux" / "stage_share.sh"), str(tmp_path), "/usr/bin/lookalike"], check=True)
    entry = _desktop_entry(tmp_path / "applications" / "lookalike.desktop")
    assert entry["Type"] == "Application" and entry["Name"]
    assert entry["Exec"] == "/usr/bin/lookalike"  # no %F: arguments would be read as CLI verbs
    assert entry.get("Icon")


@pytest.mark.skipif(not (shutil.which("dpkg-deb") and shutil.which("bash")), reason="needs dpkg-deb")
def test_make_deb_lays_out_opt_usr_bin_and_the_menu(tmp_path: Path) -> None:
    """A fake bundle (a shell script) goes through the real make_deb.sh in a second."""
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "lookalike").write_text("#!/bin/sh\necho lookalike 9.9\n")
    (bundle / "lookalike").chmod(0o755)
    deb = tmp_path / "out.deb"
    env = {**os.environ, "DEB_COMPRESSION": "gzip"}
    subprocess.run(["bash", str(PACKAGING / "linux" / "make_deb.sh"), str(bundle), "9.9", "lookalike-gpu", str(deb)],
                   check=True, env=env, capture_output=True)
    fields = _control_fields(subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True).stdout)
    assert fields["Package"] == "lookalike-gpu" and fields["Version"] == "9.9"
    assert fields["Conflicts"] == "lookalike" and fields["Provides"] == "lookalike"
    assert QT_SYSTEM_LIBS <= {d.split()[0] for d in fields["Depends"].split(",")}
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "./opt/lookalike/lookalike" in listing
    assert "./usr/bin/lookalike -> /opt/lookalike/lookalike" in listing
    assert "./usr/share/applications/lookalike.desktop" in listing
    assert "root/root" in listing  # owned by root, not by whoever built it


def test_ci_workflow_builds_on_three_oses() -> None:
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "package.yml").read_text())
    runners = {name: job["runs-on"] for name, job in workflow["jobs"].items()}
    assert set(runners) == {"linux", "windows", "macos"}
    assert any("smoke.sh" in step.get("run", "") for step in workflow["jobs"]["linux"]["steps"])
