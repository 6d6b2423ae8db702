"""Run a piece of GUI-thread work in a later turn of the event loop, after what is waiting.

Splitting a long slot into parts only helps if the window can paint and take input (and
timers fire) between the parts. In Qt 6, `QTimer.singleShot(0, fn)` is a queued call: a posted
event, handled in the same batch as the other posted events, before any timer. A QTimer of
interval 0 is a real timer: it fires once the queued events are handled, beside the other
due timers (measured: a 20 ms timer ticked between two 50 ms parts only this way; issue 12 §6).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer


def run_in_a_later_turn(context: QObject, fn: Callable[[], None]) -> QTimer:
    """Call `fn` once, after the events now queued (paints included) and due timers; never if
    `context` is deleted first. The timer is returned (`stop()` cancels the call)."""
    timer = QTimer(context)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(fn)
    timer.timeout.connect(timer.deleteLater)
    timer.start()
    return timer


class TurnByTurn:
    """Work in steps, one step per later turn of the event loop (`run_in_a_later_turn`), so the
    window paints and takes input between them. `start` drops the steps of an earlier start
    not yet run; `finish` runs the rest at once (the result is needed now); `cancel` drops them."""

    def __init__(self, context: QObject) -> None:
        self._context = context
        self._steps: deque[Callable[[], None]] = deque()
        self._timer: QTimer | None = None

    def start(self, steps: Iterable[Callable[[], None]]) -> None:
        self.cancel()
        self._steps.extend(steps)
        self._schedule()

    def pending(self) -> bool:
        return bool(self._steps)

    def finish(self) -> None:
        steps = list(self._steps)
        self.cancel()
        for step in steps:
            step()

    def cancel(self) -> None:
        self._steps.clear()
        if self._timer is not None:
            self._timer.stop()
            self._timer.deleteLater()
            self._timer = None

    def _schedule(self) -> None:
        if self._steps and self._timer is None:
            self._timer = run_in_a_later_turn(self._context, self._run_next)

    def _run_next(self) -> None:
        self._timer = None
        if self._steps:
            self._steps.popleft()()
        self._schedule()  # (a step that started anew has scheduled its own: not twice)
