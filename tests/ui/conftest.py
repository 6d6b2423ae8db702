"""Setup for every UI test: headless Qt, and settings and data folders that are the test's own.

QSettings would otherwise read and write the real user's MMA Studio settings, and "Try an
example" would write into the real user data folder; here both point into `tmp_path`.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

import pytest

from mma_studio.ui.app import configure_application_identity
from tests import user_folders
from tests.training_helpers import warm_up_engine


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path, monkeypatch, test_run_user_folders):
    """Per-test QSettings (INI files under tmp_path) and platformdirs data/config folders; the
    run-wide settings folder (tests/user_folders.py) is pointed at again afterwards."""
    settings_dir = tmp_path / "qsettings"
    configure_application_identity()
    user_folders.point_qsettings_at(settings_dir)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    yield settings_dir
    user_folders.point_qsettings_at(test_run_user_folders / "qsettings")


@pytest.fixture(scope="module")
def warm():
    """The engine, open_clip and the tiny model loaded once per module that asks for it."""
    warm_up_engine()
