"""The test run's own home, data, cache, config and settings folders: nothing a test does may
land in the user's real ones (`~/.cache/mma-studio`, `~/.local/share/MMA Studio`, QSettings).

`point_user_folders_at(root)` runs once, from `pytest_configure`, before any test module is
imported: huggingface_hub reads `HF_HOME` when it is first imported, Qt fixes the settings
path at the first `QSettings`, and platformdirs (feature cache, run store, autosave, example
data) reads the XDG variables and `HOME` at every call. Environment variables rather than
patched functions, so that the CLI and the app started in a subprocess by a test inherit them.

A test that must see the real locations says so with `@pytest.mark.real_user_folders`
(tests/conftest.py gives it the original environment for its duration).
"""

from __future__ import annotations

import os
from pathlib import Path

# Each variable and the folder it gets under the test run's root. HOME covers what derives from
# it (platformdirs on macOS, `~/.cache/clip`, torch's hub folder); the XDG variables cover
# platformdirs and Qt on Linux; HF_* the Hugging Face hub cache wherever the user moved it.
FOLDERS = {
    "HOME": "home",
    "USERPROFILE": "home",
    "XDG_DATA_HOME": "xdg-data",
    "XDG_CACHE_HOME": "xdg-cache",
    "XDG_CONFIG_HOME": "xdg-config",
    "XDG_STATE_HOME": "xdg-state",
    "APPDATA": "appdata-roaming",
    "LOCALAPPDATA": "appdata-local",
    "HF_HOME": "huggingface",
    "HF_HUB_CACHE": "huggingface/hub",
    "TORCH_HOME": "torch",
}
# Set by a user to move a cache: removed, so they cannot point a test back at the real one.
REMOVED = ("HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE", "TRANSFORMERS_CACHE", "XDG_DATA_DIRS_OVERRIDE")

REAL_ENVIRONMENT: dict[str, str | None] = {}
REAL_HOME: Path = Path.home()


def point_user_folders_at(root: Path) -> None:
    """Point every location the app reads or writes at folders under `root` (created here)."""
    global REAL_HOME
    REAL_HOME = Path.home()
    for name in (*FOLDERS, *REMOVED):
        REAL_ENVIRONMENT.setdefault(name, os.environ.get(name))
    for name, folder in FOLDERS.items():
        path = root / folder
        path.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(path)
    for name in REMOVED:
        os.environ.pop(name, None)
    point_qsettings_at(root / "qsettings")


def point_qsettings_at(folder: Path) -> None:
    """INI files under `folder` for every QSettings the app creates (the native format would
    use the registry on Windows and plists on macOS, which `setPath` cannot move)."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))


def real_environment() -> dict[str, str | None]:
    """The variables as they were before the test run moved them (None: was not set)."""
    return dict(REAL_ENVIRONMENT)
