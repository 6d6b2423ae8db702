"""The first import of torch and open_clip must not hold the GIL for long stretches (issue 12
§6): the finder pauses garbage collection during heavy imports and loads torch's libraries
with the GIL released. Mechanisms are checked here; the gaps themselves are measured by
benchmarks/gui_responsiveness.py (no timing assertions in unit tests)."""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mma_studio.core.quiet_heavy_imports import (
    QuietHeavyImportFinder,
    install_quiet_heavy_imports,
    preload_torch_libraries,
)


@pytest.fixture
def fake_heavy_package(tmp_path, monkeypatch):
    """A package that records, while it executes, whether automatic collection was on."""
    package = tmp_path / "fake_heavy_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("import gc\nCOLLECTING_DURING_IMPORT = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = QuietHeavyImportFinder(packages=frozenset({"fake_heavy_pkg"}))
    sys.meta_path.insert(0, finder)
    yield "fake_heavy_pkg"
    sys.meta_path.remove(finder)
    sys.modules.pop("fake_heavy_pkg", None)
    gc.unfreeze()
    gc.enable()


def test_collection_is_paused_during_a_heavy_import_and_resumes_after(fake_heavy_package):
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    module = importlib.import_module(fake_heavy_package)
    assert module.COLLECTING_DURING_IMPORT is False
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen_before  # what the import made is out of the collector's way


def test_collection_stays_off_after_the_import_if_it_was_off_before(fake_heavy_package):
    gc.disable()
    importlib.import_module(fake_heavy_package)
    assert not gc.isenabled()


def test_other_imports_are_left_alone(tmp_path, monkeypatch):
    (tmp_path / "plain_light_mod.py").write_text("import gc\nCOLLECTING = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = QuietHeavyImportFinder(packages=frozenset({"something_else"}))
    sys.meta_path.insert(0, finder)
    try:
        assert importlib.import_module("plain_light_mod").COLLECTING is True
    finally:
        sys.meta_path.remove(finder)
        sys.modules.pop("plain_light_mod", None)


def test_a_missing_heavy_package_still_raises_module_not_found():
    finder = QuietHeavyImportFinder(packages=frozenset({"no_such_heavy_pkg_xyz"}))
    sys.meta_path.insert(0, finder)
    try:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("no_such_heavy_pkg_xyz")
        assert gc.isenabled()
    finally:
        sys.meta_path.remove(finder)


def test_installing_twice_adds_one_finder(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    install_quiet_heavy_imports()
    install_quiet_heavy_imports()
    assert sum(isinstance(f, QuietHeavyImportFinder) for f in sys.meta_path) == 1


def test_preloading_from_a_folder_without_torch_libraries_loads_nothing(tmp_path):
    assert preload_torch_libraries([]) == 0
    assert preload_torch_libraries([str(tmp_path)]) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="torch loads its DLLs itself on Windows")
def test_a_library_that_does_not_load_stops_the_preload_without_raising(tmp_path):
    (tmp_path / "lib").mkdir()
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    (tmp_path / "lib" / f"libtorch_global_deps{suffix}").write_bytes(b"not a shared library")
    (tmp_path / "lib" / f"libtorch{suffix}").write_bytes(b"not one either")
    assert preload_torch_libraries([str(tmp_path)]) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_in_a_fresh_process_torch_libraries_are_loaded_before_torch_runs_and_torch_works():
    script = textwrap.dedent(
        """
        import gc, importlib.util, sys, threading
        from mma_studio.core.quiet_heavy_imports import install_quiet_heavy_imports, preload_torch_libraries
        folders = importlib.util.find_spec("torch").submodule_search_locations
        assert preload_torch_libraries(folders) >= 2
        assert "torch" not in sys.modules
        assert "libtorch_cpu" in open("/proc/self/maps").read()
        install_quiet_heavy_imports()
        errors = []
        def load():
            try:
                import open_clip, torch
                assert float(torch.ones(3).sum()) == 3.0
                open_clip.get_tokenizer("ViT-B-32")
            except BaseException as exc:
                errors.append(repr(exc))
        worker = threading.Thread(target=load)
        worker.start()
        worker.join()
        assert not errors, errors
        assert gc.isenabled() and gc.get_freeze_count() > 100_000
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def test_a_loader_shared_by_many_modules_is_left_as_it_was(tmp_path, monkeypatch):
    """PyInstaller's frozen importer is one loader for every module: the wrapper must touch
    only the heavy module's execution and be gone afterwards."""
    import importlib.machinery

    for name in ("shared_heavy_pkg", "shared_light_mod"):
        (tmp_path / f"{name}.py").write_text("import gc\nCOLLECTING = gc.isenabled()\n")

    class SharedLoader:
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            source = (tmp_path / f"{module.__name__}.py").read_text()
            exec(compile(source, module.__name__, "exec"), module.__dict__)

    shared = SharedLoader()

    class SharedFinder:
        def find_spec(self, fullname, path, target=None):
            if fullname in ("shared_heavy_pkg", "shared_light_mod"):
                return importlib.machinery.ModuleSpec(fullname, shared)
            return None

    monkeypatch.setattr(
        sys, "meta_path", [QuietHeavyImportFinder(frozenset({"shared_heavy_pkg"})), SharedFinder(), *sys.meta_path]
    )
    try:
        assert importlib.import_module("shared_heavy_pkg").COLLECTING is False
        assert "exec_module" not in vars(shared)  # the wrapper is gone
        assert importlib.import_module("shared_light_mod").COLLECTING is True
    finally:
        sys.modules.pop("shared_heavy_pkg", None)
        sys.modules.pop("shared_light_mod", None)
        gc.unfreeze()
