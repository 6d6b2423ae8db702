"""The Train page's "Compare Methods…": a real comparison of mma-tiny in the worker, its table and chart."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mma_studio.ui.train.train_page import TrainPage
from tests.training_helpers import fast_values, make_state, scanned_dataset


@pytest.fixture
def page(qtbot, tmp_path, warm):
    state = make_state(scanned_dataset(tmp_path / "data", classes=6, per_class=8))
    page = TrainPage(state)
    page.cache_dir = tmp_path / "cache"
    qtbot.addWidget(page)
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(epochs=3, shots=3, val_per_class=2))
    yield page
    assert page.request_stop_and_wait(10_000)  # never leave a worker thread behind
    if page.comparison_dialog is not None:
        page.comparison_dialog.close()


def test_compare_methods_shows_every_method_with_the_winners_and_the_fallback_marked(qtbot, page):
    assert page.compare_button.isEnabled()
    qtbot.mouseClick(page.compare_button, Qt.MouseButton.LeftButton)
    view = page.comparison_dialog.view
    assert page.is_comparing() and page.state.busy and not page.train_button.isEnabled()
    qtbot.waitUntil(lambda: not page.is_comparing() and view.result is not None, timeout=120_000)
    assert not page.state.busy and page.train_button.isEnabled()

    labels = [view.table.item(row, 0).text() for row in range(view.table.rowCount())]
    assert labels == ["Zero-shot CLIP", "Linear probe †", "CLIP-Adapter", "Tip-Adapter †", "Tip-Adapter-F †", "MMA"]
    for column in range(1, 5):  # base, new, HM, all: the best mean of each column carries the star
        cells = [view.table.item(row, column) for row in range(view.table.rowCount())]
        cells = [c for c in cells if c.text() != "—"]  # "all" is not applicable to the Tip-Adapters
        starred = [c for c in cells if c.text().startswith("★")]
        assert starred and all(c.font().bold() for c in starred)
        best = max(float(c.text().lstrip("★ ").split(" ")[0]) for c in cells)
        assert all(float(c.text().lstrip("★ ").split(" ")[0]) == best for c in starred)
    assert "scored zero-shot" in view.footnotes.text()
    assert [view.table.item(row, 4).text() for row in (3, 4)] == ["—", "—"]
    assert "— in 'all' (Tip-Adapter, Tip-Adapter-F): not applicable" in view.footnotes.text()
    # the chart: base / new / HM bars for the five trained methods, zero-shot as three dashed lines
    assert len(view.chart.bars) == 3 and len(view.chart.reference_lines) == 3
    assert all(len(bars.opts["x"]) == 5 for bars in view.chart.bars)
    assert all(line.pen.style() == Qt.PenStyle.DashLine for line in view.chart.reference_lines)
    # nothing was exported or replaced: the page's own run is untouched
    assert page.last_run is None
    # messages name files and classes: shown as typed, never as markup
    from tests.ui.test_plain_text_names import walk

    view._on_failed("<font color=red>yak/001.png could not be read")
    assert view.status.text() == "Failed: <font color=red>yak/001.png could not be read"
    assert walk(page.comparison_dialog) == []


def test_a_comparison_can_be_cancelled_and_leaves_the_page_ready(qtbot, page):
    page.settings.set_values(fast_values(epochs=5000, shots=3, val_per_class=2))  # only cancel ends it
    page.compare_methods()
    view = page.comparison_dialog.view
    qtbot.waitUntil(lambda: "seed" in view.status.text(), timeout=60_000)
    qtbot.mouseClick(view.progress_row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_comparing(), timeout=30_000)
    assert view.result is None and "Cancelled" in view.status.text()
    assert not page.state.busy and page.compare_button.isEnabled()
