"""The GUI thread stays responsive while the worker extracts features and trains (issue 6, item 4).

A 10 ms timer ticks on the GUI thread through a whole run of mma-tiny (model load, feature
extraction of a few hundred images into an empty cache, hundreds of millisecond-long epochs
that flood the page with events). The largest gap between ticks is how long a user's click
would have waited. The plots must redraw from their timer at no more than 20 Hz, however
fast the epochs come. Figures are printed. The bounds apply to what the program causes: the
GUI thread's own work between two ticks (250 ms) and its waits for the GIL a worker holds (1 s
with that work: on a loaded machine a holder sits preempted, which is the machine's doing).
Time the GUI thread spent waiting for a CPU is measured (Linux schedstat) and reported, not
counted, and so is the raw gap: with other processes on the CPUs it measures them, not us
(issue 13 §2). Issue 6's tighter 100 ms target belongs to a quiet-machine benchmark.
"""

from __future__ import annotations

import time

from mma_studio.ui.train.live_plots import MAX_REDRAW_HZ
from mma_studio.ui.train.train_page import TrainPage
from tests.training_helpers import TickRecorder, fast_values, make_state, scanned_dataset

MAX_GUI_WORK_S = 0.25  # the GUI thread's own CPU time between two ticks
# GUI-thread work + blocked (GIL, locks), without waiting for a CPU. Blocked includes the time
# the worker holding the GIL sat preempted on a loaded machine, so this bound catches a hog only.
MAX_OWN_STALL_S = 1.0


def test_gui_ticks_and_plot_redraws_stay_bounded_through_extraction_and_training(qtbot, tmp_path, warm):
    state = make_state(scanned_dataset(tmp_path / "data", classes=8, per_class=30))
    page = TrainPage(state)
    qtbot.addWidget(page)
    page.cache_dir = tmp_path / "cache"  # empty: every image is decoded and encoded
    page.resize(1200, 800)
    page.show()
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(epochs=300, shots=4, val_per_class=4, patience=0))

    stage_started: dict[str, float] = {}
    show_progress = page.progress.show_progress

    def record_stage(progress) -> None:
        stage_started.setdefault(progress.stage, time.perf_counter())
        show_progress(progress)

    page.progress.show_progress = record_stage
    recorder = TickRecorder(10)
    recorder.start()
    started = time.perf_counter()
    with qtbot.waitSignal(page.trainingStopped, timeout=120_000):
        assert page.start_training()
    qtbot.waitUntil(lambda: page.plots.drawn_point_count() == 300, timeout=10_000)  # the last redraw tick
    ended = time.perf_counter()
    recorder.stop()

    assert page.last_error is None and page.last_run is not None
    epochs = len(page.last_run.history)
    assert epochs == 300
    duration = ended - started
    gap = recorder.max_gap_s()
    own_stall = recorder.max_own_stall_s()
    worst = recorder.worst_gap()
    redraws = [t for t in page.plots.redraw_times if started <= t <= ended]
    intervals = [b - a for a, b in zip(redraws, redraws[1:])]
    rate = len(redraws) / duration
    stages = ", ".join(f"{stage} at {at - started:.2f}s" for stage, at in stage_started.items())
    print(
        f"\nrun {duration:.2f}s ({stages}); {epochs} epochs -> {epochs / duration:.0f} epoch events/s"
        f"\nGUI thread: {len(recorder.ticks)} ticks of a 10 ms timer, largest gap {gap * 1000:.0f} ms"
        f" (working {worst['working'] * 1000:.0f} ms, waiting for a CPU {worst['waiting_for_cpu'] * 1000:.0f} ms,"
        f" blocked {worst['blocked'] * 1000:.0f} ms); largest stall of our own {own_stall * 1000:.0f} ms"
        f"\nplots: {len(redraws)} redraws, {rate:.1f} Hz on average,"
        f" shortest interval {min(intervals) * 1000 if intervals else float('nan'):.0f} ms"
    )
    assert "extract" in stage_started and "train" in stage_started
    assert recorder.max_working_s() < MAX_GUI_WORK_S
    assert own_stall < MAX_OWN_STALL_S
    assert rate <= MAX_REDRAW_HZ
    # PreciseTimer may fire a millisecond early; never two redraws within one 50 ms period
    assert not intervals or min(intervals) >= 0.9 / MAX_REDRAW_HZ
    assert len(redraws) < epochs  # buffered: many epochs per redraw
    assert page.plots.drawn_point_count() == epochs  # and no point lost


def test_a_burst_of_epoch_events_is_drawn_once_by_the_timer_not_per_event(qtbot):
    from mma_studio.core.events import EpochEvent, ZeroShotEvent
    from mma_studio.ui.train.live_plots import LivePlots

    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.show()
    qtbot.waitUntil(lambda: not plots._dirty, timeout=1000)  # the initial empty draw
    before = plots.redraw_count
    plots.add_zero_shot(ZeroShotEvent(0.5, 0.4, 0.44))
    for epoch in range(1, 501):
        plots.add_epoch(EpochEvent(epoch, 500, 1.0 / epoch, 0.6, 0.45, 0.51, epoch, True, 1000.0, 0.0))
    assert plots.redraw_count == before  # nothing drawn while the events arrive
    assert plots.drawn_point_count() == 0 and plots.point_count == 500
    qtbot.waitUntil(lambda: plots.drawn_point_count() == 500, timeout=1000)
    assert plots.redraw_count == before + 1  # one redraw for the whole burst
    qtbot.wait(3 * 1000 // MAX_REDRAW_HZ)
    assert plots.redraw_count == before + 1 and not plots._timer.isActive()  # idle: the timer stops


def test_a_curve_at_100_percent_is_drawn_below_the_frame_not_on_it(qtbot):
    from mma_studio.core.events import EpochEvent, ZeroShotEvent
    from mma_studio.ui.train.live_plots import LivePlots

    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.add_zero_shot(ZeroShotEvent(1.0, None, None))
    for epoch in (1, 2):
        plots.add_epoch(EpochEvent(epoch, 2, 0.1, 1.0, None, None, epoch, True, 1000.0, 0.0))
    plots.flush()
    low, high = plots.accuracy_plot.getPlotItem().viewRange()[1]
    assert 90 <= low < 100 < high <= 102
