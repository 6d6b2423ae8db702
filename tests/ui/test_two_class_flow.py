"""A two-class dataset (the classic "cats vs dogs" project) trains by default: both classes are
base, there are no new classes, and every page says "—" for the new-class figures instead of
failing or showing a made-up number."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt

from mma_studio.core.split import default_roles
from mma_studio.ui import MainWindow
from tests.training_helpers import fast_values, make_state, scanned_dataset


def test_two_classes_are_both_base_by_default():
    assert default_roles(["dog", "cat"]) == (["cat", "dog"], [])
    assert default_roles(["a", "b", "c"]) == (["a", "b"], ["c"])
    assert default_roles(["a", "b", "c"], base_ratio=0.2) == (["a", "b"], ["c"])  # never one base class


@pytest.mark.filterwarnings("error::RuntimeWarning")  # e.g. pyqtgraph's "All-NaN slice" for an empty curve
def test_a_two_class_dataset_trains_evaluates_and_demos_in_the_app(qtbot, tmp_path, warm):
    state = make_state(scanned_dataset(tmp_path / "data", classes=2, per_class=8))
    assert state.data.base_classes == ["colour 00", "colour 01"] and state.data.new_classes == []
    window = MainWindow(state)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    page = window.train_page
    page.cache_dir = tmp_path / "cache"
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(epochs=4))
    window.show_page(1)
    assert page.train_button.isEnabled(), page.ready_label.text()

    with qtbot.waitSignal(page.trainingStopped, timeout=60_000):
        qtbot.mouseClick(page.train_button, Qt.MouseButton.LeftButton)

    assert page.last_error is None
    run = page.last_run
    assert run is not None and run.split.new == [] and len(run.history) == 4
    new_accuracy = run.adapted.headline()["new"]
    assert new_accuracy is None or math.isnan(new_accuracy)
    assert page.summary.figure("new", "adapted") == "—" and page.summary.figure("base", "adapted").endswith("%")
    qtbot.waitUntil(lambda: page.plots.drawn_point_count() == 4, timeout=10_000)  # the next 50 ms redraw tick
    new_x, _ = page.plots._accuracy_curves["new"].getData()
    base_x, _ = page.plots._accuracy_curves["val"].getData()
    assert (new_x is None or len(new_x) == 0) and len(base_x) == 4  # no empty curve of NaNs is drawn

    evaluate = window.evaluate_page
    assert evaluate.has_run() and window.sidebar.item(2).flags() & Qt.ItemIsEnabled
    tiles = evaluate.tiles.texts()
    assert tiles["new"][1] == "—" and tiles["hm"][1] == "—" and tiles["base"][1].endswith("%")
    window.show_page(2)
    assert window.current_page() is evaluate

    demo = window.demo_page  # the run's adapter, ready to try on the two classes
    qtbot.waitUntil(lambda: demo.class_editor.class_names() == ["colour 00", "colour 01"], timeout=30_000)
    window.close()
