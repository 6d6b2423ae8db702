"""The Open Recent Project list: project files opened or saved before, newest first.

Kept in the app's settings (QSettings), not in any project file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from mma_studio.ui.settings_lists import stored_strings

RECENT_PROJECTS_KEY = "projects/recent"
LAST_PROJECT_DIR_KEY = "projects/lastFolder"
RECENT_MAX = 10


def recent_projects() -> list[Path]:
    """Project files opened or saved before, newest first, that still exist."""
    return [Path(v) for v in stored_strings(RECENT_PROJECTS_KEY) if Path(v).is_file()]


def remember_recent_project(path: Path) -> None:
    path = Path(path).absolute()
    paths = [str(path)] + [str(p) for p in recent_projects() if p.absolute() != path]
    QSettings().setValue(RECENT_PROJECTS_KEY, paths[:RECENT_MAX])


def forget_recent_project(path: Path) -> None:
    paths = [str(p) for p in recent_projects() if p != Path(path)]
    QSettings().setValue(RECENT_PROJECTS_KEY, paths)


def clear_recent_projects() -> None:
    QSettings().remove(RECENT_PROJECTS_KEY)


REOPEN_LAST_KEY = "projects/reopenLastAtLaunch"


def reopen_last_project_enabled() -> bool:
    """Whether the app opens the most recent project at launch (on unless turned off)."""
    value = QSettings().value(REOPEN_LAST_KEY, True)
    return value not in (False, "false", "0", 0)


def set_reopen_last_project(enabled: bool) -> None:
    QSettings().setValue(REOPEN_LAST_KEY, bool(enabled))
