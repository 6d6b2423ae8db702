"""The Open Recent Folder list: dataset folders opened before, newest first, and the folder the
Open Folder dialog starts in.

Kept in the app's settings (QSettings), not in any project file; the window's File menu lists
them and the Data page adds to them (the projects' list is `ui/recent_projects.py`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from mma_studio.ui.settings_lists import stored_strings

LAST_FOLDER_KEY = "data/lastFolder"
RECENT_KEY = "data/recentFolders"
RECENT_MAX = 8


def recent_folders() -> list[Path]:
    """Dataset folders opened before, newest first, that still exist."""
    return [Path(v) for v in stored_strings(RECENT_KEY) if Path(v).is_dir()]


def remember_recent_folder(folder: Path) -> None:
    folders = [str(folder)] + [str(f) for f in recent_folders() if f != folder]
    QSettings().setValue(RECENT_KEY, folders[:RECENT_MAX])


def clear_recent_folders() -> None:
    QSettings().remove(RECENT_KEY)
