"""Packaging without building: the PyInstaller spec runs and collects what the bundle needs
(open_clip's model configs and BPE vocabulary, our resources), the scripts parse, the desktop
entry is complete; and the app and the CLI run with no stdout or stderr, as a windowed build
does on Windows and macOS (progress bars, logging and tracebacks must not crash there).

The bundle itself is built and smoke-tested by packaging/build_linux.sh (packaging/check_bundle.py).
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tests.image_factory import make_class_dataset, write_truncated

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "mma_studio" / "resources"
SPEC = PACKAGING / "mma-studio.spec"


# --------------------------------------------------------------------------- the spec


class _Recorder:
    """Stands in for PyInstaller's Analysis / PYZ / EXE / COLLECT / BUNDLE: records arguments."""

    calls: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.pure, self.scripts, self.binaries = [], [], []
        self.datas = list(kwargs.get("datas", []))
        _Recorder.calls.append((type(self).__name__, self))


def _stand_in(name: str) -> type:
    return type(name, (_Recorder,), {})


def _package_dir(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    return Path(next(iter(spec.submodule_search_locations)))


def _fake_hooks() -> types.ModuleType:
    """Enough of PyInstaller.utils.hooks to run the spec where PyInstaller is not installed."""
    hooks = types.ModuleType("PyInstaller.utils.hooks")

    def collect_data_files(package, includes=None, **_kwargs):
        base = _package_dir(package)
        found = []
        for path in base.rglob("*"):
            relative = path.relative_to(base).as_posix()
            if path.is_file() and any(fnmatch.fnmatch(relative, pattern) for pattern in includes or ["*"]):
                found.append((str(path), (Path(package) / Path(relative).parent).as_posix()))
        return found

    def collect_dynamic_libs(package, **_kwargs):
        base = _package_dir(package)
        return [
            (str(path), (Path(package) / path.relative_to(base).parent).as_posix())
            for pattern in ("*.so", "*.so.*", "*.dll", "*.dylib", "*.pyd")
            for path in base.rglob(pattern)
        ]

    hooks.collect_data_files = collect_data_files
    hooks.collect_dynamic_libs = collect_dynamic_libs
    hooks.collect_submodules = lambda package: [package]
    hooks.copy_metadata = lambda distribution: []
    return hooks


@pytest.fixture(scope="module")
def spec_run():
    """Execute the spec as PyInstaller would, with its build steps recorded instead of run."""
    _Recorder.calls = []
    namespace = {"SPECPATH": str(PACKAGING), "__file__": str(SPEC)}
    for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"):
        namespace[name] = _stand_in(name)
    saved = {name: sys.modules.get(name) for name in ("PyInstaller", "PyInstaller.utils", "PyInstaller.utils.hooks")}
    try:
        import PyInstaller.utils.hooks  # noqa: F401  (the real collectors, when installed)
    except ImportError:
        sys.modules["PyInstaller"] = types.ModuleType("PyInstaller")
        sys.modules["PyInstaller.utils"] = types.ModuleType("PyInstaller.utils")
        sys.modules["PyInstaller.utils.hooks"] = _fake_hooks()
    try:
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    calls: dict[str, list] = {}
    for kind, call in _Recorder.calls:
        calls.setdefault(kind, []).append(call)
    return namespace, calls


def test_spec_is_python_that_names_a_one_folder_build():
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= called  # COLLECT: one folder, not one file


def test_spec_collects_open_clip_data_and_our_resources(spec_run):
    namespace, calls = spec_run
    datas = calls["Analysis"][0].kwargs["datas"]
    by_destination: dict[str, set[str]] = {}
    for source, destination in datas:
        by_destination.setdefault(destination.replace("\\", "/"), set()).add(Path(source).name)
    # open_clip cannot build a model without its configs, nor tokenize without its vocabulary
    assert "bpe_simple_vocab_16e6.txt.gz" in by_destination["open_clip"]
    assert {"ViT-B-16.json", "ViT-B-32.json", "RN50.json"} <= by_destination["open_clip/model_configs"]
    # every resource the wheel ships, where `importlib.resources.files("mma_studio.resources")` finds it
    assert {"__init__.py", "mma-studio.desktop"} <= by_destination["mma_studio/resources"]
    assert {"__init__.py", "mma-tiny.json"} <= by_destination["mma_studio/resources/model_configs"]
    icons = {p.name for p in (RESOURCES / "icons").iterdir()}
    assert icons and icons <= by_destination["mma_studio/resources/icons"]
    assert "standalone_predict.py" in by_destination["mma_studio/core/export"]  # written beside ONNX exports
    for source, _destination in datas:
        assert Path(source).exists(), source  # files, or dist-info folders from copy_metadata


def test_spec_collects_torchvisions_operator_library(spec_run):
    """torchvision loads `_C_stable` (or `_C`) with torch.ops.load_library: analysis misses it."""
    import importlib.util

    _namespace, calls = spec_run
    libraries = {Path(source).name for source, _destination in calls["Analysis"][0].kwargs["binaries"]}
    folder = Path(importlib.util.find_spec("torchvision").origin).parent
    native = {
        p.name
        for p in folder.iterdir()
        if p.name.startswith(("_C", "image"))
        and ".so" in p.name
        or p.suffix in (".pyd", ".dll", ".dylib")
        and p.name.startswith(("_C", "image"))
    }
    assert native and native <= libraries


def test_spec_builds_the_launcher_with_the_app_and_cli_and_leaves_out_triton(spec_run):
    namespace, calls = spec_run
    analysis = calls["Analysis"][0]
    assert [Path(s).name for s in analysis.args[0]] == ["launcher.py"]
    assert "triton" in analysis.kwargs["excludes"]
    assert "torch.testing._internal" not in analysis.kwargs["excludes"]  # torch imports it
    hidden = analysis.kwargs["hiddenimports"]
    assert "mma_studio.cli" in hidden and "open_clip" in hidden
    names = [call.kwargs["name"] for call in calls["EXE"]]
    consoles = [call.kwargs["console"] for call in calls["EXE"]]
    if sys.platform.startswith("linux"):
        assert names == ["mma-studio"] and consoles == [True]
    else:
        assert names == ["mma-studio", "mma-studio-cli"] and consoles == [False, True]
    assert calls["COLLECT"][0].kwargs["name"] == "mma-studio"
    assert all(not call.kwargs.get("upx") for call in calls["EXE"] + calls["COLLECT"])


def test_launcher_calls_freeze_support_before_anything_else():
    tree = ast.parse((PACKAGING / "launcher.py").read_text(encoding="utf-8"))
    main_block = next(node for node in tree.body if isinstance(node, ast.If))
    first = main_block.body[0]
    assert isinstance(first, ast.Expr) and ast.unparse(first) == "multiprocessing.freeze_support()"
    assert "main()" in ast.unparse(main_block)


@pytest.mark.parametrize("script", ["build_linux.sh", "install-desktop-entry.sh"])
def test_shell_scripts_parse_and_are_executable(script):
    path = PACKAGING / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_build_script_uses_the_spec_and_copies_the_desktop_files():
    text = (PACKAGING / "build_linux.sh").read_text(encoding="utf-8")
    assert "mma-studio.spec" in text and "mma-studio.desktop" in text and "install-desktop-entry.sh" in text
    assert "check_bundle.py" in text


def test_desktop_entry_is_complete():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(RESOURCES / "mma-studio.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "MMA Studio"
    assert section["Exec"].split()[0] == "mma-studio" and section["Icon"] == "mma-studio"
    assert section["StartupWMClass"] == "mma-studio"  # matches QGuiApplication.setDesktopFileName
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert (RESOURCES / "icons" / f"mma-studio-{size}.png").is_file()
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(
            ["desktop-file-validate", str(RESOURCES / "mma-studio.desktop")], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_readme_covers_linux_macos_and_windows():
    text = (PACKAGING / "README.md").read_text(encoding="utf-8")
    for word in ("Linux", "macOS", "Windows", "pyinstaller", "build_linux.sh", "stdout"):
        assert word.lower() in text.lower(), word


# --------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip install .` would install, built from a copy of the sources (a stale build/
    folder in the checkout cannot leak into it), with setuptools' own output."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "mma_studio", source / "mma_studio", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", str(source), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    import zipfile

    (path,) = out.glob("mma_studio-*.whl")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    return types.SimpleNamespace(
        names=names,
        dist_info=dist_info,
        metadata=metadata,
        entry_points=entry_points,
        build_log=done.stdout + done.stderr,
    )


def test_the_wheel_holds_every_module_and_resource(wheel):
    package = ROOT / "mma_studio"
    sources = {p.relative_to(ROOT).as_posix() for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    assert sources - wheel.names == set()  # every sub-package, found by setuptools, none listed by hand
    data = {
        p.relative_to(ROOT).as_posix()
        for pattern in (
            "*.json",
            "*.safetensors",
            "*.md",
            "*.desktop",
            "icons/*.png",
            "icons/*.svg",
            "model_configs/*.json",
        )
        for p in RESOURCES.glob(pattern)
    }
    assert (
        "mma_studio/resources/icons/mma-studio.svg" in data
        and "mma_studio/resources/model_configs/mma-tiny.json" in data
    )
    assert data - wheel.names == set()
    assert not any(n.startswith(("tests/", "benchmarks/", "resources/")) or "__pycache__" in n for n in wheel.names)
    assert "is absent from the `packages` configuration" not in wheel.build_log


def test_the_wheel_has_a_spdx_license_its_file_and_both_entry_points(wheel):
    assert "License-Expression: MIT" in wheel.metadata
    assert "\nLicense: " not in wheel.metadata  # the deprecated free-text form
    assert f"{wheel.dist_info}/licenses/LICENSE" in wheel.names
    assert "Copyright (c)" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Author: MMA Studio contributors" in wheel.metadata and "Classifier: " in wheel.metadata
    assert "[console_scripts]\nmma-studio = mma_studio.cli:main" in wheel.entry_points
    assert "[gui_scripts]\nmma-studio-app = mma_studio.ui.app:run_app" in wheel.entry_points


def test_the_gui_entry_point_opens_the_window(qtbot, monkeypatch):
    """`mma-studio-app` calls run_app(): the main window is shown and the event loop runs."""
    from PySide6.QtWidgets import QApplication

    from mma_studio.ui import app as app_module
    from mma_studio.ui.main_window import MainWindow

    shown: list[MainWindow] = []
    monkeypatch.setattr(MainWindow, "show", lambda self: shown.append(self))
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)
    assert app_module.run_app() == 0
    assert len(shown) == 1
    qtbot.addWidget(shown[0])


def test_every_link_in_the_readme_stays_in_the_repository_or_is_public():
    """The README is also the package's page on an index: a link to a file outside the
    repository (the design notes of a workspace) would be dead there."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert "docs/ARCHITECTURE.md" in links
    for link in links:
        if link.startswith(("https://", "http://", "#")):
            continue
        target = (ROOT / link.split("#")[0]).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), link


# --------------------------------------------------------------------------- no stdout, no stderr


def _without_std_streams():  # runs in the child before exec: like a windowed program
    os.close(1)
    os.close(2)


def _child_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data-home"),
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def test_cli_trains_and_predicts_with_stdout_and_stderr_closed(tmp_path):
    data = tmp_path / "data"
    make_class_dataset(data, ["ant", "bee", "cat", "dog"], per_class=6)
    write_truncated(data / "cat" / "broken.jpg")  # a skipped file: the CLI reports it on stderr
    adapter = tmp_path / "adapter.safetensors"
    train = [
        "train",
        str(data),
        "-o",
        str(adapter),
        "--model",
        "mma-tiny",
        "--pretrained",
        "random",
        "--device",
        "cpu",
        "--shots",
        "2",
        "--val-per-class",
        "1",
        "--epochs",
        "2",
        "--patience",
        "0",
        "--cache-dir",
        str(tmp_path / "features"),
    ]
    commands = [
        train,
        ["predict", str(tmp_path / "missing.safetensors"), str(data / "ant")],  # an error
        ["predict", str(adapter), str(data / "ant"), "--top-k", "2"],
    ]
    # One interpreter for the three commands (torch is imported once), as the frozen app would run them.
    probe = (
        "import sys, json; assert sys.stdout is None and sys.stderr is None; "
        "from mma_studio.cli import main; "
        f"codes = [main(args) for args in {commands!r}]; "
        f"open({str(tmp_path / 'codes.json')!r}, 'w').write(json.dumps(codes))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=_child_env(tmp_path),
        cwd=tmp_path,
        preexec_fn=_without_std_streams,
        timeout=300,
    )
    assert result.returncode == 0
    assert json.loads((tmp_path / "codes.json").read_text()) == [0, 2, 0]  # the error is reported, not a crash
    assert adapter.is_file()


GUI_PROBE = r"""
import json, sys, time
assert sys.stdout is None and sys.stderr is None
import logging, warnings
from PySide6.QtCore import QTimer
from mma_studio.ui.app import create_application
from mma_studio.ui.workers.background_task import BackgroundTask
from mma_studio.ui.main_window import MainWindow

report = {}
app = create_application([])
window = MainWindow(defer_pages=True)
window.show()

def failing(on_progress, token):
    raise RuntimeError("a worker failure: its traceback goes to stderr, which does not exist")

task = BackgroundTask(failing)
task.failed.connect(lambda message: report.__setitem__("failed", message))
task.start()

def check():
    if window.train_page is None or window.data_page.backbone_chooser.is_loaded() is False or "failed" not in report:
        return
    logging.getLogger("mma_studio").warning("a log record with no stream to go to")
    warnings.warn("a warning with no stderr")
    print("print() without stdout")
    report["train_page"] = window.train_page is not None
    report["choices"] = len(window.data_page.backbone_chooser.entries())
    window.close()
    app.quit()

timer = QTimer()
timer.timeout.connect(check)
timer.start(50)
QTimer.singleShot(120_000, app.quit)
app.exec()
open(sys.argv[1], "w").write(json.dumps(report))
"""


def test_app_starts_and_reports_a_worker_failure_with_stdout_and_stderr_closed(tmp_path):
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-c", GUI_PROBE, str(report)],
        env=_child_env(tmp_path),
        cwd=tmp_path,
        preexec_fn=_without_std_streams,
        timeout=180,
    )
    assert result.returncode == 0
    data = json.loads(report.read_text())
    assert data["train_page"] and data["choices"] > 0 and "worker failure" in data["failed"]
