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


def test_turn_by_turn_runs_one_step_per_turn_and_a_new_start_drops_the_old_steps(qtbot):
    from mma_studio.ui.later_turn import TurnByTurn

    context = QObject()
    steps = TurnByTurn(context)
    order: list[str] = []
    ticks = QTimer()
    ticks.setInterval(0)
    ticks.timeout.connect(lambda: order.append("tick"))  # a due timer: it fires between steps

    steps.start([lambda: order.append("a1"), lambda: order.append("a2")])
    assert order == [] and steps.pending()
    steps.start([lambda: order.append("b1"), lambda: order.append("b2")])  # a1, a2 never run
    ticks.start()
    qtbot.waitUntil(lambda: not steps.pending(), timeout=2000)
    ticks.stop()
    ran = [entry for entry in order if entry != "tick"]
    assert ran == ["b1", "b2"]
    assert order.index("tick", order.index("b1")) < order.index("b2")  # the window's turn between

    order.clear()
    steps.start([lambda: order.append("c1"), lambda: order.append("c2")])
    steps.finish()  # needed now: the rest at once, and nothing again later
    assert order == ["c1", "c2"] and not steps.pending()
    steps.start([lambda: order.append("d1")])
    steps.cancel()
    qtbot.wait(30)
    assert order == ["c1", "c2"]


def test_a_step_that_starts_anew_is_not_followed_twice(qtbot):
    from mma_studio.ui.later_turn import TurnByTurn

    steps = TurnByTurn(QObject())
    order: list[str] = []
    steps.start([lambda: steps.start([lambda: order.append("again")]), lambda: order.append("dropped")])
    qtbot.waitUntil(lambda: not steps.pending(), timeout=2000)
    qtbot.wait(30)
    assert order == ["again"]
