"""Stable names on widgets: the object name (stylesheets, tests) doubles as the accessible name
(screen readers, UI automation), with an optional tooltip that is also its description."""

from __future__ import annotations


def named(widget, name: str, tip: str = ""):
    """`widget`, named `name` for Qt and for assistive technology; returns it for chaining."""
    widget.setObjectName(name)
    widget.setAccessibleName(name)
    if tip:
        widget.setToolTip(tip)
        widget.setAccessibleDescription(tip)
    return widget
