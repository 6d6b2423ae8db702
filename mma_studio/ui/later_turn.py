"""Run a piece of GUI-thread work in a later turn of the event loop, after what is waiting.

Splitting a long slot into parts only helps if the window can paint and take input (and
timers fire) between the parts. In Qt 6, `QTimer.singleShot(0, fn)` is a queued call: a posted
event, handled in the same batch as the other posted events, before any timer. A QTimer of
interval 0 is a real timer: it fires once the queued events are handled, beside the other
due timers (measured: a 20 ms timer ticked between two 50 ms parts only this way; issue 12 §6).
"""

from __future__ import annotations

from collections.abc import Callable

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
