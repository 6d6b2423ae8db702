"""`run_in_a_later_turn`: a real zero timer, so queued events (paints, queued signals) and due
timers run before it, which `QTimer.singleShot(0)` (a queued call in Qt 6) does not allow."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from mma_studio.ui.later_turn import run_in_a_later_turn


def test_runs_once_later_after_what_is_queued(qtbot):
    context = QObject()
    order: list[str] = []
    run_in_a_later_turn(context, lambda: order.append("later"))
    QTimer.singleShot(0, lambda: order.append("queued"))  # queued after, handled before
    assert order == []
    qtbot.waitUntil(lambda: "later" in order, timeout=2000)
    qtbot.wait(30)
    assert order == ["queued", "later"]


def test_a_due_timer_fires_between_two_parts(qtbot):
    """The point of it: a timer that is due when the first part ends fires before the second."""
    import time

    context = QObject()
    order: list[str] = []
    due = QTimer()
    due.setSingleShot(True)
    due.setInterval(1)
    due.timeout.connect(lambda: order.append("timer"))

    def first_part() -> None:
        due.start()
        time.sleep(0.02)  # the timer is due before this part returns
        order.append("first")
        run_in_a_later_turn(context, lambda: order.append("second"))

    QTimer.singleShot(0, first_part)
    qtbot.waitUntil(lambda: "second" in order, timeout=2000)
    assert order == ["first", "timer", "second"]


def test_never_runs_once_its_context_is_gone(qtbot):
    context = QObject()
    called: list[bool] = []
    run_in_a_later_turn(context, lambda: called.append(True))
    context.deleteLater()
    qtbot.wait(50)
    assert called == []
