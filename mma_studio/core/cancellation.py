"""A thread-safe cancel/pause flag shared by the engine, the CLI and the Qt workers.

Long work (extraction, training, prediction over folders) calls `token.check()` between
batches; the caller sets the flag from any thread. Paused work blocks inside `check()` until
it is resumed or cancelled, so pause costs no CPU.
"""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised inside long work when the user asked it to stop."""


class CancelToken:
    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # wake a paused worker so it can see the cancel

    def pause(self) -> None:
        if not self._cancelled.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def check(self) -> None:
        """Raise `Cancelled` if cancelled; block while paused."""
        while not self._running.wait(timeout=0.05):
            pass
        if self._cancelled.is_set():
            raise Cancelled()


def check(token: CancelToken | None) -> None:
    """`token.check()` that accepts no token (work that cannot be cancelled)."""
    if token is not None:
        token.check()
