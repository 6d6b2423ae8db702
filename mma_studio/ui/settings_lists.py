"""A list of strings kept in the app's settings (QSettings), read back as a list.

QSettings gives a one-item list back as a lone string, and an empty one as nothing at all: the
recent folders, the recent projects and the remembered weights files all read through here.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings


def stored_strings(key: str) -> list[str]:
    """The strings stored under `key`, in order; [] when there are none."""
    value = QSettings().value(key, [])
    if isinstance(value, str):
        value = [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, (list, tuple)) else []
