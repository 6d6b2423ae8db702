"""Suite-wide test setup: every test runs headless, in folders of its own, and cannot hang.

- Qt reads QT_QPA_PLATFORM when the first QApplication is built, so it is set here, before any
  test module (or pytest-qt) can create one.
- Home, data, cache, config, settings and Hugging Face folders point into one temporary folder
  for the whole run (tests/user_folders.py), set in `pytest_configure`: before any test module
  is imported, because some libraries read them at import.
- A modal dialog nobody answers fails the test instead of blocking it (tests/dialog_guard.py);
  pytest-timeout ends a test that still hangs (pyproject.toml), printing every thread's stack.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests import dialog_guard, user_folders

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_RUN_FOLDER: Path | None = None


def pytest_configure(config):
    global _RUN_FOLDER
    if _RUN_FOLDER is None:
        _RUN_FOLDER = Path(tempfile.mkdtemp(prefix="mma-studio-tests-"))
        user_folders.point_user_folders_at(_RUN_FOLDER)


def pytest_unconfigure(config):
    if _RUN_FOLDER is not None:
        shutil.rmtree(_RUN_FOLDER, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def test_run_user_folders() -> Path:
    """The folder that holds this run's home, data, cache, config and settings folders (every
    location the app uses: platformdirs, QSettings, run store, autosave, feature cache, the
    Hugging Face cache); a test's own `tmp_path` is still the place for its files."""
    assert _RUN_FOLDER is not None and Path.home() == _RUN_FOLDER / "home", "pytest_configure did not run"
    return _RUN_FOLDER


@pytest.fixture(scope="session", autouse=True)
def _modal_dialogs_fail():
    """For the whole run: a modal dialog nobody answers raises instead of blocking."""
    with pytest.MonkeyPatch.context() as patcher:
        dialog_guard.install(patcher)
        yield


@pytest.fixture(autouse=True)
def _no_unanswered_dialog(_modal_dialogs_fail):
    """Fail the test that opened one, even where the exception was swallowed (a Qt slot)."""
    dialog_guard.take_opened()
    yield
    opened = dialog_guard.take_opened()
    if opened:
        pytest.fail(f"modal dialogs nobody answered: {', '.join(opened)} (see tests/dialog_guard.py)")


@pytest.fixture(autouse=True)
def _real_user_folders_when_marked(request, monkeypatch):
    """`@pytest.mark.real_user_folders`: the original environment for this test only."""
    if request.node.get_closest_marker("real_user_folders") is None:
        yield
        return
    for name, value in user_folders.real_environment().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    yield


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (`pytestmark = pytest.mark.usefixtures(...)`):
    the machine is shared, and several tests compare runs that must not depend on it."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
