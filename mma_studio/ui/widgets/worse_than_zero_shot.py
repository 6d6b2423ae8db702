"""One rule for "the adapter did worse than zero-shot", shared by the Evaluate page (table,
tiles, notice) and the adapter panel the Demo shows, so every place says it about the same
figures. It lives below the pages: a shared widget must not import a page's module."""

from __future__ import annotations


def is_worse(change: float | None) -> bool:
    """Worse than zero-shot by at least 0.05 points (what the one-decimal text can show): the
    rule for the table's ▼, the tiles' and the page's notice."""
    return change is not None and change <= -0.0005
