"""Every label tells the truth about the current state (issue 12 §4): one test per defect a
returning user met — a stale "not saved", a "Train an adapter…" beside an adapter in use, a
"Ready" over a page that cannot train, two epoch numbers, a speed while paused, early-stopping
words that did not describe the rule, added class names dropped, a health summary that
contradicts its own button, per-class columns with two meanings, and losses to zero-shot
CLIP shown only in colour."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mma_studio.core.events import EpochEvent, Progress
from mma_studio.ui.app_state import AppState
from mma_studio.ui.demo.demo_page import DemoPage
from mma_studio.ui.evaluate.comparison_tiles import ComparisonTiles
from mma_studio.ui.evaluate.evaluate_page import EvaluatePage
from mma_studio.ui.evaluate.per_class_table import COLUMN_INDEX, COLUMNS, PerClassTable
from mma_studio.ui.train.run_progress import RunProgress
from mma_studio.ui.train.settings_panel import describe_values, early_stopping_words
from tests.image_factory import make_class_dataset
from tests.ui.trained_run import train_small_run

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_small_run(tmp_path_factory.mktemp("truthful"))


@pytest.fixture
def demo(qtbot, trained):
    page = DemoPage(AppState())
    qtbot.addWidget(page)
    page.resize(1180, 760)
    yield page
    assert page.stop_and_wait(5000)


def use_run(qtbot, page: DemoPage, run) -> None:
    with qtbot.waitSignal(page.modelChanged, timeout=WAIT_MS):
        page.use_training_run(run)


def epoch(n: int, of: int = 100, **extra) -> EpochEvent:
    values = {
        "epoch": n,
        "epochs": of,
        "train_loss": 0.5,
        "val_acc": 0.8,
        "new_acc": 0.6,
        "hm": 0.69,
        "best_epoch": n,
        "is_best": True,
        "samples_per_s": 749.0,
        "eta_s": 2.0,
    }
    values.update(extra)
    return EpochEvent(**values)


# --------------------------------------------------------------------------- Demo


def test_after_export_the_demo_names_the_saved_file_not_not_saved_yet(qtbot, demo, trained, tmp_path):
    _scan, run = trained
    use_run(qtbot, demo, run)
    assert "not saved as a file yet" in demo.adapter_info.fields["source"]
    saved = run.save(tmp_path / "colours-mma.safetensors")
    demo.note_export(run, saved)
    assert "not saved" not in demo.adapter_info.fields["source"]
    assert str(saved) in demo.adapter_info.fields["source"]


def test_a_reopened_project_s_exported_run_is_named_as_saved(qtbot, demo, trained, tmp_path):
    _scan, run = trained
    saved = run.save(tmp_path / "kept.safetensors")
    demo.export_lookup = lambda r: saved if r is run else None  # what the project's run records say
    use_run(qtbot, demo, run)
    assert "kept.safetensors" in demo.adapter_info.fields["source"]


def test_with_an_adapter_and_no_image_the_demo_never_says_train_an_adapter(qtbot, demo, trained):
    _scan, run = trained
    assert demo.results.hint.text().startswith("Train an adapter")  # true before: no adapter
    use_run(qtbot, demo, run)
    assert demo.summary_label.text().startswith("Classifying with")
    assert "Train an adapter" not in demo.results.hint.text()
    assert "Drop, open or paste" in demo.results.hint.text()


def test_loading_an_adapter_file_keeps_the_class_names_the_user_added(qtbot, demo, trained, tmp_path):
    _scan, run = trained
    use_run(qtbot, demo, run)
    demo.class_editor.add_names(["violet", "teal", "olive"])
    messages = []
    demo.statusMessage.connect(lambda text, _ms: messages.append(text))
    path = run.save(tmp_path / "file.safetensors")
    with qtbot.waitSignal(demo.modelChanged, timeout=WAIT_MS):
        demo.load_adapter_file(path)
    names = demo.class_editor.class_names()
    assert names[: len(run.prompt_names)] == list(run.prompt_names)
    assert names[len(run.prompt_names) :] == ["violet", "teal", "olive"]
    assert any("kept" in m and "violet" in m for m in messages)  # and it says so


def test_the_demo_says_when_the_adapter_loses_an_image_zero_shot_got_right(qtbot, demo, trained):
    scan, run = trained
    use_run(qtbot, demo, run)
    names = list(run.prompt_names)
    image = sorted((Path(scan.root) / names[0]).iterdir())[0]
    demo.image_path = image
    demo._image_name = image.name
    from mma_studio.core.predict import Prediction

    wrong = names[1]
    prediction = Prediction(
        path=str(image),
        labels=[wrong, names[0]],
        probabilities=[0.6, 0.4],
        zero_shot_labels=[names[0], wrong],
        zero_shot_probabilities=[0.7, 0.3],
    )
    demo._show_result(
        SimpleNamespace(image=None, preview=None, source_name=image.name, prediction=prediction, class_names=names)
    )
    assert demo.results.hint.text().startswith("Worse than zero-shot CLIP on this image")
    agreeing = Prediction(
        path=str(image),
        labels=[names[0]],
        probabilities=[0.9],
        zero_shot_labels=[names[0]],
        zero_shot_probabilities=[0.8],
    )
    demo._show_result(
        SimpleNamespace(image=None, preview=None, source_name=image.name, prediction=agreeing, class_names=names)
    )
    assert "Worse" not in demo.results.hint.text()


def test_the_adapter_card_says_worse_than_zero_shot_beside_its_figures(qtbot, demo, trained):
    _scan, run = trained
    use_run(qtbot, demo, run)
    summary = run.to_adapter_file().summary()["metrics"]
    worse = [
        k
        for k in ("base", "new", "hm", "all")
        if isinstance(summary["adapted"].get(k), float) and summary["adapted"][k] - summary["zero_shot"][k] <= -0.0005
    ]
    said = "worse than zero-shot" in demo.adapter_info.fields["metrics"]
    assert said == bool(worse)


# --------------------------------------------------------------------------- Train


def test_the_empty_train_page_does_not_say_ready_over_empty_axes(qtbot):
    from mma_studio.ui.train.train_page import TrainPage

    page = TrainPage(AppState())
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.plots.flush()
    assert not page.train_button.isEnabled()
    assert page.progress.stage_label.text() == "Not ready to train"
    assert "Ready" not in page.ready_label.text()
    assert all(note.isVisible() for note in page.plots.empty_notes)  # the axes say what will appear
    page.plots.add_epoch(epoch(1))
    page.plots.flush()
    assert not any(note.isVisible() for note in page.plots.empty_notes)


def test_header_and_tile_show_the_same_epoch(qtbot):
    from mma_studio.ui.train.train_page import TrainPage

    page = TrainPage(AppState())
    qtbot.addWidget(page)
    for n in range(1, 35):
        page._on_epoch(epoch(n))
    page._on_progress(Progress("train", 30, 100, rate=749.0, eta_s=2.0, message="epoch 30"))  # a late event
    page._refresh_figures()
    assert page.tiles.texts()["epoch"] == "34"
    assert page.progress.detail_label.text() == "epoch 34 of 100"


def test_paused_shows_no_speed_and_no_time_left(qtbot):
    progress = RunProgress()
    qtbot.addWidget(progress)
    progress.show_epoch(epoch(5))
    assert "samples/s" in progress.speed_label.text() and "left" in progress.speed_label.text()
    progress.set_paused(True)
    assert progress.speed_label.text() == ""
    progress.show_epoch(epoch(6))  # an event already on its way when the pause began
    progress.show_progress(Progress("train", 6, 100, rate=749.0, eta_s=2.0))
    assert progress.speed_label.text() == "" and progress.stage_label.text().endswith("(paused)")
    progress.set_paused(False)
    progress.show_epoch(epoch(7))
    assert "samples/s" in progress.speed_label.text()


def test_early_stopping_words_name_the_rule_of_every_preset():
    from mma_studio.core.run_defaults import PRESETS

    for name, preset in PRESETS.items():
        training = preset["training"]
        words = describe_values({"shots": 16, **preset, "training": training})
        patience, steps = training["patience"], training.get("min_patience_steps", 0)
        assert early_stopping_words(patience, steps) in words, name
        assert f"below its best for {patience} epochs" in words and f"at least {steps} training steps" in words


def test_the_engine_does_what_the_words_say_a_tie_with_the_best_is_not_below_it():
    """Validation that stays at its best never stops the run ("below its best for N epochs")."""
    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.training import TrainConfig, fit_features

    torch.manual_seed(0)
    dim = 32
    text = torch.nn.functional.normalize(torch.eye(3, dim) * 5 + 0.01 * torch.randn(3, dim), dim=-1)
    labels = torch.arange(3).repeat(8)
    images = text[labels] + 0.01 * torch.randn(len(labels), dim)  # each image sits on its class: 100% from the start
    config = TrainConfig(epochs=12, patience=2, min_patience_steps=0, batch_size=256)
    result = fit_features(
        images,
        labels,
        text,
        val_image_features=images,
        val_labels=labels,
        config=config,
        adapter_config=AdapterConfig(embed_dim=dim),
    )
    assert [e.val_acc for e in result.history] == [1.0] * 12  # flat at its best...
    assert not result.finished.stopped_early and result.finished.epochs_run == 12  # ...so it never stopped


# --------------------------------------------------------------------------- Data: health report


def test_health_summary_never_says_no_problems_beside_skipped_files(qtbot, tmp_path, monkeypatch):
    from mma_studio.ui.data.data_page import DataPage
    from tests.image_factory import write_truncated

    state = AppState()
    state.set_sample_needs(1, 1)  # no "too few images" advice: only the skipped file is news
    page = DataPage(state)
    qtbot.addWidget(page)
    root = tmp_path / "d"
    make_class_dataset(root, ["cat", "dog"], per_class=3)
    broken = write_truncated(root / "cat" / "broken.jpg")
    page.open_folder(root)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=WAIT_MS)

    def shown() -> str:
        return " ".join(
            label.text() for label in page.warnings.findChildren(type(page.summary)) if label.isVisibleTo(page.warnings)
        )

    assert "No problems found" not in shown() and "1 file could not be read" in shown()

    dialog = page.health_report_dialog()
    qtbot.addWidget(dialog)
    assert dialog.open_button.isEnabled()  # a row is selected from the start
    opened = []
    monkeypatch.setattr("mma_studio.ui.data.health_report.QDesktopServices.openUrl", lambda url: opened.append(url))
    dialog.open_button.click()
    assert opened and Path(opened[0].toLocalFile()) == broken.parent

    page._state.rename_class("dog", "puppy")  # kept through the rescan
    broken.unlink()  # fixed outside the app
    assert dialog.rescan_button.isEnabled()
    dialog.rescan_button.click()
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=WAIT_MS)
    assert page._state.data.scan.skipped == [] and page._state.display_name("dog") == "puppy"
    assert "No problems found" in shown() and "could not be read" not in shown()


# --------------------------------------------------------------------------- Evaluate


def test_per_class_columns_have_one_definition_each_and_say_it(qtbot, trained):
    titles = [c.title for c in COLUMNS]
    assert len(set(titles)) == len(titles) and "Recall" not in titles and "Accuracy" not in titles
    assert "in its group" in COLUMNS[COLUMN_INDEX["accuracy"]].title
    assert (
        "among all" in COLUMNS[COLUMN_INDEX["recall"]].title and "among all" in COLUMNS[COLUMN_INDEX["precision"]].title
    )
    table = PerClassTable()
    qtbot.addWidget(table)
    model = table.model()
    from PySide6.QtCore import Qt

    for column, spec in enumerate(COLUMNS):
        assert model.headerData(column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) == spec.tooltip
        assert len(spec.tooltip) > 20


def test_per_class_rows_and_tiles_say_when_the_adapter_is_worse_than_zero_shot(qtbot):
    from mma_studio.core.metrics import ClassMetrics

    def metrics(accuracy):
        return [
            ClassMetrics(
                name="ant", display_name="ant", role="new", count=4, accuracy=accuracy, precision=0.5, recall=0.5
            )
        ]

    table = PerClassTable()
    qtbot.addWidget(table)
    table.set_metrics(metrics(0.25), metrics(0.75))
    from PySide6.QtCore import Qt

    cell = table.model().index(0, COLUMN_INDEX["change"])
    assert cell.data().endswith("▼") and "Worse than zero-shot" in cell.data(Qt.ItemDataRole.ToolTipRole)
    table.set_metrics(metrics(0.75), metrics(0.25))
    assert "▼" not in table.model().index(0, COLUMN_INDEX["change"]).data()

    tiles = ComparisonTiles()
    qtbot.addWidget(tiles)
    tiles.show_reports(
        {"base": 0.8, "new": 0.7, "hm": 0.75, "all": 0.6}, {"base": 0.9, "new": 0.6, "hm": 0.72, "all": 0.6}
    )
    assert tiles.tiles["new"].worse and tiles.tiles["new"].detail.text().startswith("Worse than zero-shot CLIP")
    assert not tiles.tiles["base"].worse and "Worse" not in tiles.tiles["base"].detail.text()


def test_the_evaluate_page_notice_names_the_figures_where_the_adapter_loses(qtbot, trained):
    scan, run = trained
    page = EvaluatePage(AppState())
    qtbot.addWidget(page)
    page.set_run(run)
    before, after = run.zero_shot.headline(), run.adapted.headline()
    losing = [k for k in before if isinstance(after[k], float) and after[k] - before[k] <= -0.0005]
    text = page.notice_label.text()
    assert ("worse than zero-shot CLIP" in text) == bool(losing)
    assert page.notice.isHidden() == (not text)
    for key in losing:
        assert page.tiles.tiles[key].worse
