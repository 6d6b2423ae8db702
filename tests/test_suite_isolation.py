"""The suite's own guarantees (issue 13): it never writes into the user's folders, and a modal
dialog nobody answers fails a test at once instead of hanging the run.

The home-folder check runs the representative test below in a fresh pytest process whose HOME
is an empty folder and whose XDG variables are unset (so the app's defaults would land in that
HOME): after a full app run, the folder must still be empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests import dialog_guard, user_folders

REPO = Path(__file__).resolve().parent.parent
SUBPROCESS_TIMEOUT_S = 240  # a bound for the inner run, so a broken guard fails instead of hanging


def _inside(path: Path | str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if not p.is_dir())


def _file_states(folder: Path) -> dict[Path, tuple[int, int]]:
    """Each file's (modification time, size), to tell files this test wrote from earlier ones."""
    states = {}
    for path in _files_under(folder):
        stat = path.stat()
        states[path] = (stat.st_mtime_ns, stat.st_size)
    return states


def _pytest(args: list[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )


# --------------------------------------------------------------------------- user folders


def test_every_location_the_app_uses_is_in_the_test_runs_folder(test_run_user_folders):
    import platformdirs
    from PySide6.QtCore import QSettings

    from mma_studio.core.feature_cache import default_cache_root
    from mma_studio.core.hub_cache import hub_cache_dir
    from mma_studio.core.project_store import autosave_folder
    from mma_studio.core.run_store import default_run_store_dir
    from mma_studio.ui.data.data_page import default_example_dir

    locations = {
        "home": Path.home(),
        "~": Path(os.path.expanduser("~/.cache/clip")),
        "feature cache": default_cache_root(),
        "run store": default_run_store_dir(),
        "autosaved projects": autosave_folder(),
        "example dataset": default_example_dir(),
        "hub cache": hub_cache_dir(),
        "user data": platformdirs.user_data_path("MMA Studio", "MMA Studio"),
        "user cache": platformdirs.user_cache_path("mma-studio"),
        "user config": platformdirs.user_config_path("MMA Studio"),
        "settings": Path(QSettings("MMA Studio", "MMA Studio").fileName()),
    }
    for what, path in locations.items():
        assert _inside(path, test_run_user_folders), (what, path)
        assert not _inside(path, user_folders.REAL_HOME) or _inside(user_folders.REAL_HOME, test_run_user_folders), (
            what,
            path,
        )


def test_representative_app_run_writes_only_into_the_test_runs_folders(qtbot, tmp_path, test_run_user_folders):
    """The app as a user runs it, with every location at its default: scan, train (feature
    cache), keep the run (run store), close (autosave, settings). Everything lands under the
    test run's folder; run alone (below) with an empty HOME, the HOME stays empty."""
    from mma_studio.ui.app import configure_application_identity
    from mma_studio.ui.app_state import BackboneSelection
    from mma_studio.ui.main_window import MainWindow
    from tests.image_factory import make_class_dataset
    from tests.training_helpers import RANDOM_BACKBONE, fast_values, limit_torch_threads
    from tests.ui.drag_and_drop import drop

    limit_torch_threads()
    configure_application_identity()
    before = _file_states(test_run_user_folders)
    make_class_dataset(tmp_path / "data", [f"colour {i}" for i in range(4)], per_class=6)
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.data_page.scanFinished, timeout=60_000):
        drop(_drop_zone(window), [tmp_path / "data"])
    qtbot.waitUntil(lambda: not window.data_page.is_busy(), timeout=60_000)
    model, tag, label = RANDOM_BACKBONE
    window.state.set_backbone(BackboneSelection(model, tag, label, is_random=True))
    page = window.train_page
    assert page.cache_dir is None  # the default feature cache
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(epochs=2))
    with qtbot.waitSignal(page.trainingStopped, timeout=120_000):
        assert page.start_training()
    assert page.last_error is None and page.last_run is not None
    window.close()

    # New or changed files: earlier tests in the same run may have made the settings file already.
    written = set(_file_states(test_run_user_folders).items()) - set(before.items())
    written = {path for path, _state in written}
    where = {p.relative_to(test_run_user_folders).parts[0] for p in written}
    assert {"xdg-cache", "xdg-data", "qsettings"} <= where, sorted(map(str, written))
    assert any(p.suffix == ".safetensors" and "runs" in p.parts for p in written)  # the run store
    assert any("Autosaved" in p.parts for p in written)


def _drop_zone(window):
    from PySide6.QtWidgets import QWidget

    return window.findChild(QWidget, "dataDropZone")


def test_a_run_of_the_suite_leaves_an_empty_home_folder_empty(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in user_folders.FOLDERS and not k.startswith("XDG_")}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    test = f"{Path(__file__).relative_to(REPO)}::test_representative_app_run_writes_only_into_the_test_runs_folders"
    done = _pytest(["-q", test], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert _files_under(home) == []


@pytest.mark.real_user_folders
def test_a_test_marked_real_user_folders_sees_the_real_home(test_run_user_folders):
    assert os.environ.get("HOME") == user_folders.real_environment()["HOME"]
    assert not _inside(Path.home(), test_run_user_folders) or user_folders.real_environment()["HOME"] is None


# --------------------------------------------------------------------------- modal dialogs


@pytest.mark.parametrize(
    "call",
    [
        lambda W: W.QMessageBox.question(None, "Quit?", "Really?"),
        lambda W: W.QMessageBox.warning(None, "Careful", "Something"),
        lambda W: W.QMessageBox(W.QMessageBox.Icon.Information, "Note", "text").exec(),
        lambda W: W.QDialog().exec(),
        lambda W: W.QFileDialog.getOpenFileName(None, "Open", ""),
        lambda W: W.QFileDialog.getExistingDirectory(None, "Folder", ""),
        lambda W: W.QInputDialog.getItem(None, "Pick", "one", ["a", "b"], 0, False),
    ],
    ids=["question", "warning", "messagebox-exec", "dialog-exec", "open-file", "folder", "input-item"],
)
def test_a_modal_dialog_raises_instead_of_blocking(qapp, call):
    from PySide6 import QtWidgets

    started = time.monotonic()
    with pytest.raises(dialog_guard.UnansweredDialog, match="nobody answers"):
        call(QtWidgets)
    assert time.monotonic() - started < 60  # it returned: it did not wait for a click
    assert len(dialog_guard.take_opened()) == 1  # recorded (and cleared, so this test passes)


def test_a_test_may_answer_a_dialog_itself(qapp, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: QMessageBox.StandardButton.Yes)
    assert QMessageBox.question(None, "Quit?", "Really?") == QMessageBox.StandardButton.Yes


INNER_TESTS = '''
    import pytest
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox, QWidget


    class AsksOnClose(QWidget):
        """Like MainWindow during training: closing asks first."""

        def closeEvent(self, event):
            if QMessageBox.question(self, "Training Is Running", "Stop it and quit?") != QMessageBox.StandardButton.Yes:
                event.ignore()


    @pytest.fixture
    def window(qtbot):
        window = AsksOnClose()
        qtbot.addWidget(window)  # pytest-qt closes it after the test, before this fixture ends
        yield window


    def test_closed_in_teardown(window):
        window.show()


    def test_asked_in_a_slot(qtbot):
        QTimer.singleShot(0, lambda: QMessageBox.warning(None, "Slot", "from the event loop"))
        qtbot.wait(50)


    @pytest.mark.qt_no_exception_capture
    def test_asked_in_a_slot_without_exception_capture(qtbot):
        QTimer.singleShot(0, lambda: QMessageBox.critical(None, "Quiet", "swallowed"))
        qtbot.wait(50)
'''


def test_dialogs_in_teardown_and_in_slots_fail_their_test_and_the_run_goes_on(tmp_path):
    """The hang of issue 13: a window whose closeEvent asks a question, closed by pytest-qt in
    teardown. Each case fails fast with the guard's message; the run ends."""
    inner = tmp_path / "test_inner_dialogs.py"
    inner.write_text(textwrap.dedent(INNER_TESTS))
    report = tmp_path / "report.xml"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    done = _pytest(
        [
            "-q",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(REPO),
            "-c",
            str(REPO / "pyproject.toml"),
            f"--junitxml={report}",
            str(inner),
        ],
        env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    failed: dict[str, str] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        for problem in (*case.iter("failure"), *case.iter("error")):
            failed[case.get("name")] = (
                failed.get(case.get("name"), "") + (problem.get("message") or "") + (problem.text or "")
            )
    assert set(failed) == {
        "test_closed_in_teardown",
        "test_asked_in_a_slot",
        "test_asked_in_a_slot_without_exception_capture",
    }, output[-3000:]
    assert "Training Is Running" in failed["test_closed_in_teardown"]
    for name, text in failed.items():
        assert "nobody answer" in text, (name, text[-2000:])
        assert "Timeout" not in text
