"""The Train page driven like a user: buttons by object name, real runs of mma-tiny in the worker."""

from __future__ import annotations

import time

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton

from mma_studio.ui.app_state import AppState
from mma_studio.ui.train.train_page import TrainPage
from tests.image_factory import make_image
from tests.training_helpers import fast_values, hold_until_cancelled, make_state, scanned_dataset

LONG_RUN = {"epochs": 5000, "patience": 0}  # far longer than any test waits: only cancel ends it


@pytest.fixture
def page_factory(qtbot, tmp_path, warm):
    pages = []

    def build(state: AppState | None = None, **values) -> TrainPage:
        if state is None:
            state = make_state(scanned_dataset(tmp_path / "data", classes=6, per_class=8))
        page = TrainPage(state)
        page.cache_dir = tmp_path / "cache"
        qtbot.addWidget(page)
        page.resize(1200, 800)
        page.settings.ensure_loaded()
        page.settings.set_values(fast_values(**values))
        pages.append(page)
        return page

    yield build
    for page in pages:  # never leave a worker thread behind
        assert page.request_stop_and_wait(5000)


def run_to_end(qtbot, page: TrainPage, timeout_ms: int = 60_000) -> None:
    with qtbot.waitSignal(page.trainingStopped, timeout=timeout_ms):
        qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)


def start_and_wait_for_epochs(qtbot, page: TrainPage, epochs: int = 2) -> None:
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    assert page.is_training()
    qtbot.waitUntil(lambda: page.plots.point_count >= epochs, timeout=60_000)


def cancel_and_time_the_thread_end(qtbot, page: TrainPage) -> float:
    """Seconds from the Cancel click to the worker thread's end, stamped on that thread itself.

    Waits for the stamp as well as for the page: the page learns of the end through a queued
    call posted just before the stamp is taken, so it can see it first.
    """
    stamps: list[float] = []
    page._job.thread.finished.connect(
        lambda: stamps.append(time.perf_counter()), type=Qt.ConnectionType.DirectConnection
    )
    clicked = time.perf_counter()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_training() and bool(stamps), timeout=10_000)
    return stamps[0] - clicked


def test_main_controls_have_stable_object_and_accessible_names(page_factory):
    page = page_factory()
    for name in ("trainButton", "cancelButton", "pauseButton"):
        button = page.findChild(QPushButton, name)
        assert button is not None and button.accessibleName() == name
    for name, legend_name, y_label in (
        ("lossPlot", "lossLegend", "cross-entropy"),
        ("accuracyPlot", "accuracyLegend", "accuracy (%)"),
    ):
        plot = page.findChild(pg.PlotWidget, name)
        assert plot is not None and plot.accessibleName() == name
        item = plot.getPlotItem()
        assert item.getAxis("bottom").labelText == "epoch" and item.getAxis("left").labelText == y_label
        legend = page.findChild(QLabel, legend_name)
        assert legend is not None and "Best epoch" in legend.entries
    assert {"Base (val)", "New", "HM"} <= set(page.plots.accuracy_legend.entries)
    assert page.train_button.isEnabled()
    assert not page.cancel_button.isEnabled() and not page.pause_button.isEnabled()


def test_train_is_disabled_without_a_dataset_and_the_page_says_why(qtbot, warm, monkeypatch):
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    page = TrainPage(AppState())
    qtbot.addWidget(page)
    assert not page.train_button.isEnabled() and not page.train_action.isEnabled()
    assert "Data page" in page.ready_label.text()
    assert page.start_training() is False  # e.g. from a menu shortcut
    assert "Data page" in shown[0].informativeText()
    assert not page.is_training() and not page.state.busy


def test_training_runs_to_the_end_in_the_worker_and_the_plots_receive_points(qtbot, page_factory):
    page = page_factory(epochs=4)
    busy = []
    page.state.busyChanged.connect(busy.append)
    run_to_end(qtbot, page)
    assert page.last_error is None
    run = page.last_run
    assert run is not None and len(run.history) == 4 and not run.cancelled
    # the next redraw tick (50 ms); generous: a loaded machine may keep the GUI thread from a CPU
    qtbot.waitUntil(lambda: page.plots.drawn_point_count() == 4, timeout=10_000)
    for curve in page.plots._accuracy_curves.values():
        assert len(curve.getData()[0]) == 4
    figures = page.tiles.texts()
    assert figures["epoch"] == "4" and figures["best_epoch"] == str(run.best_epoch)
    assert figures["base"].endswith("%") and figures["loss"] != "—"
    assert "zero-shot" in page.tiles.base.detail.text()
    assert page.summary.isVisibleTo(page)
    assert page.summary.figure("base", "adapted").endswith("%")
    assert page.summary.figure("base", "zero_shot").endswith("%")
    assert busy == [True, False] and not page.state.busy
    assert page.train_button.isEnabled() and not page.cancel_button.isEnabled()
    assert page.progress.stage_label.text() == "Training complete"


def test_cancel_stops_the_worker_within_a_second_and_keeps_the_best_adapter(qtbot, page_factory):
    page = page_factory(**LONG_RUN)
    start_and_wait_for_epochs(qtbot, page, 3)
    # A cancelled run still arrives as a run: the page announces it a turn later and only then
    # ends the job (buttons, busy), so `is_training()` turns False a turn before that; wait for
    # the page's own "stopped" before checking the controls.
    with qtbot.waitSignal(page.trainingStopped, timeout=10_000):
        latency = cancel_and_time_the_thread_end(qtbot, page)
    print(f"\nCancel click -> worker thread finished: {latency * 1000:.0f} ms")
    assert latency < 1.0
    assert page.last_run is not None and page.last_run.cancelled
    assert page.plots.point_count < 5000
    assert "Stopped by you" in page.summary.outcome.text()
    assert page.progress.bar.value() < page.progress.bar.maximum()  # stopped part-way, not "complete"
    assert page.train_button.isEnabled() and not page.state.busy


def test_cancel_during_feature_extraction_stops_cleanly(qtbot, page_factory, tmp_path, monkeypatch):
    from mma_studio.core import backbone as backbone_module

    state = make_state(scanned_dataset(tmp_path / "many", classes=8, per_class=40))
    page = page_factory(state, **LONG_RUN)
    # Extraction takes ~0.2 s here: a click that a loaded machine delays past it would land in
    # training. The encoder waits for the cancel (or the test's end), so the click lands mid-extraction.
    encode = backbone_module.Backbone.encode_images
    give_up_at = time.monotonic() + 60

    def encode_once_cancelled(self, pixels):
        hold_until_cancelled(page, give_up_at)
        return encode(self, pixels)

    monkeypatch.setattr(backbone_module.Backbone, "encode_images", encode_once_cancelled)
    qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.stage == "extract", timeout=60_000)
    latency = cancel_and_time_the_thread_end(qtbot, page)
    print(f"\nCancel during extraction -> worker thread finished: {latency * 1000:.0f} ms")
    assert latency < 1.0
    assert page.plots.point_count == 0
    assert page.notice_banner.isVisibleTo(page) and "Cancelled" in page.notice_banner.label.text()
    assert page.train_button.isEnabled()


def test_pause_holds_the_run_and_resume_continues_it(qtbot, page_factory):
    page = page_factory(**LONG_RUN)
    epoch_times: list[float] = []
    start_and_wait_for_epochs(qtbot, page, 2)
    # Stamped on the worker thread as it emits: the bound is on the worker's last epoch, not on
    # when a loaded machine lets the GUI thread handle the queued event.
    page._job.worker.epoch.connect(
        lambda _event: epoch_times.append(time.perf_counter()), type=Qt.ConnectionType.DirectConnection
    )
    clicked = time.perf_counter()
    qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    assert page.pause_button.text() == "Resume" and page._job.paused
    assert "paused" in page.progress.stage_label.text()
    qtbot.wait(1200)
    held = page.plots.point_count
    last_before_hold = max([t for t in epoch_times if t >= clicked], default=clicked)
    print(f"\nPause click -> last epoch event: {(last_before_hold - clicked) * 1000:.0f} ms")
    assert last_before_hold - clicked < 1.0
    qtbot.wait(500)
    assert page.plots.point_count == held, "epochs kept coming while paused"
    assert page.is_training()

    qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    assert page.pause_button.text() == "Pause" and not page._job.paused
    qtbot.waitUntil(lambda: page.plots.point_count > held, timeout=30_000)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_training(), timeout=10_000)


def test_cancel_while_paused_stops_at_once(qtbot, page_factory):
    page = page_factory(**LONG_RUN)
    start_and_wait_for_epochs(qtbot, page, 2)
    qtbot.mouseClick(page.pause_button, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    with qtbot.waitSignal(page.trainingStopped, timeout=10_000):  # the controls follow a turn later
        latency = cancel_and_time_the_thread_end(qtbot, page)
    assert latency < 1.0
    assert page.pause_button.text() == "Pause" and not page.pause_button.isChecked()


def test_worker_error_shows_a_message_and_the_app_stays_usable(qtbot, page_factory, tmp_path, monkeypatch):
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    state = make_state(scanned_dataset(tmp_path / "small", sizes={"apple": 2, "banana": 8, "cherry": 8, "date": 8}))
    page = page_factory(state, shots=4, val_per_class=2)
    # The page says so before a run (see the test below); here the engine's own check fails
    # in the worker, as it would for any error the page cannot foresee.
    monkeypatch.setattr(page, "_too_few_images_reason", lambda: None)
    page._update_controls()
    run_to_end(qtbot, page)
    assert len(shown) == 1
    box = shown[0]
    assert box.text() == "The dataset cannot be split for training"
    assert "apple" in box.informativeText() and "SplitError" in box.detailedText()
    assert page.error_banner.isVisibleTo(page) and "cannot be split" in page.error_banner.label.text()
    assert page.last_run is None and page.last_error[0] == box.text()
    assert page.train_button.isEnabled() and not page.state.busy and not page.is_training()

    # the user fixes the settings and trains again on the same page
    page.settings.set_values({"shots": 1, "val_per_class": 1, "training": {"epochs": 2}})
    run_to_end(qtbot, page)
    assert page.last_run is not None and page.error_banner.isHidden()


def test_a_rename_that_resolves_a_name_collision_lets_the_app_train(qtbot, page_factory, tmp_path, monkeypatch):
    """`golden_retriever` and `golden-retriever` read the same in the prompt: the run is refused
    before any work, naming both folders; once the user renames one, the same page trains and
    the adapter holds the new name."""
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    root = tmp_path / "dogs"
    state = make_state(scanned_dataset(root, sizes={"golden_retriever": 6, "golden-retriever": 6, "dog": 6, "eel": 6}))
    page = page_factory(state, epochs=2)
    run_to_end(qtbot, page)
    assert page.last_run is None and len(shown) == 1
    said = f"{shown[0].text()} {shown[0].informativeText()}"
    assert str(root / "golden_retriever") in said and str(root / "golden-retriever") in said

    state.rename_class("golden-retriever", "golden retriever puppy")
    run_to_end(qtbot, page)
    assert page.last_error is None and page.last_run is not None
    assert {"golden retriever", "golden retriever puppy"} <= set(page.last_run.prompt_names)
    assert page.last_run.to_adapter_file().class_names == page.last_run.prompt_names  # it can be saved


def test_images_that_turn_unreadable_after_the_scan_are_reported_not_fatal(qtbot, page_factory, tmp_path):
    scan = scanned_dataset(tmp_path / "data", classes=4, per_class=8)
    broken = scan.classes[0].images[-1]
    broken.write_bytes(b"not an image any more")  # e.g. a sync client replaced it after the scan
    page = page_factory(make_state(scan), epochs=2)
    run_to_end(qtbot, page)
    assert page.last_run is not None and page.last_error is None
    assert page.notice_banner.isVisibleTo(page)
    assert broken.name in page.notice_banner.label.text() and "could not be read" in page.notice_banner.label.text()


def test_a_run_whose_features_could_not_be_cached_says_so(qtbot, page_factory, monkeypatch):
    import errno
    import warnings

    from mma_studio.core import feature_cache

    def no_space(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_cache.os, "fsync", no_space)
    page = page_factory(epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run_to_end(qtbot, page)
    assert page.last_run is not None and page.last_error is None
    text = page.notice_banner.label.text()
    assert page.notice_banner.isVisibleTo(page) and "not cached" in text and "No space left" in text


def test_skipped_images_and_run_warnings_share_the_banner_until_the_next_clean_run(
    qtbot, page_factory, tmp_path, monkeypatch
):
    import errno
    import warnings

    from mma_studio.core import feature_cache

    scan = scanned_dataset(tmp_path / "data", classes=4, per_class=8)
    broken = scan.classes[1].images[-1]
    broken.write_bytes(b"")  # emptied after the scan

    def no_space(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_cache.os, "fsync", no_space)
    page = page_factory(make_state(scan), epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run_to_end(qtbot, page)
    run = page.last_run
    assert run is not None and page.last_error is None and run.failed_images and run.warnings
    lines = page.notice_banner.label.text().splitlines()
    assert page.notice_banner.isVisibleTo(page)
    assert "could not be read" in lines[0] and broken.name in lines[0]  # the skipped image first
    assert lines[1:] == list(run.warnings)  # then each warning of the run, as the engine words it

    monkeypatch.undo()  # space on the disk again
    make_image(broken, color=(10, 10, 10))  # and the image readable again: nothing to report
    run_to_end(qtbot, page)
    assert page.last_run is not run and not page.last_run.warnings
    assert not page.notice_banner.isVisibleTo(page)


def test_request_stop_and_wait_ends_a_running_job(qtbot, page_factory):
    page = page_factory(**LONG_RUN)
    start_and_wait_for_epochs(qtbot, page, 1)
    job = page._job
    # The page hears of the end through queued events, and ends the job (buttons) a turn after
    # the cancelled run is announced: `trainingStopped`, not `is_training()`, marks that.
    with qtbot.waitSignal(page.trainingStopped, timeout=10_000):
        started = time.perf_counter()
        assert page.request_stop_and_wait(5000)
        print(f"\nrequest_stop_and_wait returned after {(time.perf_counter() - started) * 1000:.0f} ms")
        assert job.thread.isFinished()
    assert not page.is_training() and not page.state.busy and page.train_button.isEnabled()


def test_closing_the_main_window_mid_training_stops_the_worker_cleanly(qtbot, tmp_path, warm, monkeypatch):
    from mma_studio.ui.main_window import MainWindow

    state = make_state(scanned_dataset(tmp_path / "data", classes=6, per_class=8))
    window = MainWindow(state)
    qtbot.addWidget(window)
    page = window.train_page
    page.cache_dir = tmp_path / "cache"
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(**LONG_RUN))
    window.show()
    asked = []
    monkeypatch.setattr(window, "confirm_stop_training", lambda: asked.append(True) or True)
    start_and_wait_for_epochs(qtbot, page, 2)
    job = page._job
    started = time.perf_counter()
    assert window.close()
    print(f"\nclose() mid-training returned after {(time.perf_counter() - started) * 1000:.0f} ms")
    assert asked == [True]
    assert job.thread.isFinished() and not job.thread.isRunning()
    qtbot.waitUntil(lambda: not page.is_training(), timeout=5_000)
    assert not state.busy


def test_presets_show_the_engines_numbers_and_edits_make_custom_settings(page_factory):
    from mma_studio.core.pipeline import PRESETS, RunSettings, apply_preset

    page = page_factory()
    panel = page.settings
    for name in ("Fast", "Balanced", "Best"):
        panel.preset_buttons[name].click()
        expected = apply_preset(RunSettings(), name)
        values = panel.values()
        assert values["training"]["epochs"] == expected.training.epochs == PRESETS[name]["training"]["epochs"]
        assert values["training"]["min_patience_steps"] == expected.training.min_patience_steps
        assert values["augment_views"] == expected.augment_views
        assert panel.current_preset() == name and panel.preset_buttons[name].isChecked()
        assert name in panel.summary_label.text()
    panel.epochs.setValue(panel.epochs.value() + 1)
    assert panel.current_preset() == "Custom"
    assert not any(button.isChecked() for button in panel.preset_buttons.values())
    assert panel.summary_label.text().startswith("Custom")


def test_advanced_settings_reach_the_run(qtbot, page_factory):
    page = page_factory(epochs=2)
    panel = page.settings
    panel.advanced_toggle.click()
    assert panel.advanced.isVisibleTo(page)
    panel.adapt.setCurrentIndex(panel.adapt.findData("image"))
    panel.blend.setValue(0.3)
    panel.heads.setValue(2)
    panel.bottleneck_dim.setValue(8)
    panel.learning_rate.setValue(2e-3)
    panel.seed.setValue(5)
    run_to_end(qtbot, page)
    settings = page.last_run.settings
    assert (settings.adapter.adapt, settings.adapter.blend, settings.adapter.heads) == ("image", 0.3, 2)
    assert settings.adapter.bottleneck_dim == 8 and settings.training.lr == 2e-3
    assert settings.seed == 5 and settings.training.seed == 5 and settings.training.epochs == 2


def test_bottleneck_not_divisible_by_heads_is_refused_before_starting(qtbot, page_factory, monkeypatch):
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    page = page_factory()
    page.settings.heads.setValue(3)
    page.settings.bottleneck_dim.setValue(16)
    assert page.start_training() is False
    assert not page.is_training() and "divisible" in shown[0].informativeText()


def test_train_waits_for_the_engine_only_until_the_settings_are_loaded(qtbot, tmp_path, warm):
    state = make_state(scanned_dataset(tmp_path / "data", classes=4, per_class=6))
    page = TrainPage(state)
    qtbot.addWidget(page)
    page._engine_loading = True  # as right after the first show, while the import thread runs
    page._update_controls()
    assert not page.train_button.isEnabled() and "Loading" in page.ready_label.text()
    page.settings.ensure_loaded()  # loaded another way (e.g. by a script) before the thread reports
    page.settings.set_values(fast_values(epochs=1))
    assert page.train_button.isEnabled()
    with qtbot.waitSignal(page.trainingStopped, timeout=60_000):
        assert page.start_training()


def test_saved_values_apply_once_the_engine_is_loaded(qtbot):
    from mma_studio.ui.train.settings_panel import SettingsPanel

    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.set_values({"shots": 5, "training": {"epochs": 17}})
    assert panel.values() == {"shots": 5, "training": {"epochs": 17}}  # held until the engine loads
    panel.ensure_loaded()
    assert panel.shots.value() == 5 and panel.epochs.value() == 17
    # every field the saved dict lacks comes from the default preset, not from empty widgets
    from mma_studio.core.pipeline import RunSettings, apply_preset
    from mma_studio.ui.train.settings_panel import settings_to_values

    expected = settings_to_values(apply_preset(RunSettings(), "Balanced"))
    values = panel.values()
    assert values["training"] == {**expected["training"], "epochs": 17}
    assert values["adapter"] == expected["adapter"]
    assert (values["val_per_class"], values["seed"], values["device"]) == (
        expected["val_per_class"],
        expected["seed"],
        expected["device"],
    )
    assert panel.current_preset() == "Custom"


def test_shot_settings_reach_the_data_pages_advice(page_factory):
    page = page_factory()
    page.settings.shots.setValue(7)
    page.settings.val_per_class.setValue(3)
    assert (page.state.shots, page.state.val_per_class) == (7, 3)


def test_too_few_images_are_said_before_training_with_a_one_click_fix(qtbot, page_factory, tmp_path):
    state = make_state(scanned_dataset(tmp_path / "small", classes=4, per_class=10))
    page = page_factory(state)
    page.settings.set_values({"shots": 16, "val_per_class": 4})
    assert not page.train_button.isEnabled()
    text = page.ready_label.text()
    assert "needs 20 images" in text and "'colour 00' has 10" in text and "'colour 01' has 10" in text
    assert page.fit_sizes_button.isVisibleTo(page) and page.fit_sizes_button.text() == "Use 6 Shots + 2 Validation"

    qtbot.mouseClick(page.fit_sizes_button, Qt.MouseButton.LeftButton)
    assert (page.settings.values()["shots"], page.settings.values()["val_per_class"]) == (6, 2)
    assert (state.shots, state.val_per_class) == (6, 2)  # the Data page's advice follows
    assert page.train_button.isEnabled() and not page.fit_sizes_button.isVisibleTo(page)
    assert page.ready_label.text().startswith("Ready")
    run_to_end(qtbot, page)
    assert page.last_error is None and page.last_run is not None


def test_a_class_too_small_for_any_shots_gets_no_fix_button(page_factory, tmp_path):
    state = make_state(scanned_dataset(tmp_path / "tiny", sizes={"ant": 1, "bee": 6, "cat": 6}))
    state.set_roles(["ant", "bee"], ["cat"])
    page = page_factory(state)
    page.settings.set_values({"shots": 4, "val_per_class": 2})
    assert not page.train_button.isEnabled() and "'ant' has 1" in page.ready_label.text()
    assert "make them new classes" in page.ready_label.text() and not page.fit_sizes_button.isVisibleTo(page)


def test_a_run_that_fails_to_start_keeps_the_previous_runs_curves_and_results(qtbot, page_factory, monkeypatch):
    """Issue 12 §1: a backbone that cannot load must not wipe what the last run showed."""
    from mma_studio.ui.app_state import BackboneSelection

    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    page = page_factory(epochs=2)
    run_to_end(qtbot, page)
    previous = page.last_run
    points = page.plots.point_count
    assert previous is not None and points > 0 and page.summary.isVisibleTo(page)

    page.state.set_backbone(BackboneSelection("no-such-model", "random:0", "Broken"))
    monkeypatch.setattr(page, "_not_ready_reason", lambda: None)  # the engine itself refuses it
    with qtbot.waitSignal(page.trainingStopped, timeout=60_000):
        assert page.start_training()
    assert page.last_error is not None  # the failure is reported …
    assert page.last_run is previous  # … and the previous run is still the page's run
    assert page.plots.point_count == points and page.summary.isVisibleTo(page)
