"""The Demo page driven like a user: real drops, the class list editor, adapter files (good and
broken), folder to CSV with cancel, paste. One real mma-tiny run (random weights) trained once."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QPushButton

from mma_studio.core.collector_pause import collector_paused
from mma_studio.ui.app_state import AppState
from mma_studio.ui.demo.demo_page import DemoPage
from tests.image_factory import class_color, make_image
from tests.ui.drag_and_drop import drop
from tests.ui.trained_run import train_small_run

CLASSES = ["red apple", "green leaf", "blue sky", "yellow sun", "violet grape", "orange fruit"]
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished TrainingRun of mma-tiny (random weights) on six colour classes, with its data."""
    home = tmp_path_factory.mktemp("demo")
    _scan, run = train_small_run(home, classes=CLASSES, per_class=6, epochs=3)
    return run, home / "data"


@pytest.fixture
def page(qtbot, trained):
    page = DemoPage(AppState())
    qtbot.addWidget(page)
    page.resize(1180, 760)
    yield page
    assert page.stop_and_wait(5000)


def with_run(qtbot, page: DemoPage, run) -> DemoPage:
    with qtbot.waitSignal(page.modelChanged, timeout=WAIT_MS):
        page.use_training_run(run)
    return page


def reference_prediction(run, image_path: Path, names: list[str], top_k: int):
    """What the engine's own predict path says for this image and class list."""
    from mma_studio.core.images import load_rgb_image
    from mma_studio.core.predict import Classifier

    classifier = Classifier(run.backbone, run.to_adapter_file(), names, check_backbone=False)
    return classifier.classify_images([load_rgb_image(image_path)], top_k)[0]


def test_a_dropped_image_shows_zero_shot_and_adapter_bars_as_the_engine_predicts(qtbot, page, trained):
    run, root = trained
    with_run(qtbot, page, run)
    assert page.model.source == "run" and page.model.classifier.backbone is run.backbone  # not loaded again
    assert page.class_editor.class_names() == list(run.prompt_names)
    image = sorted((root / "blue sky").iterdir())[0]
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        drop(page, [image])
    expected = reference_prediction(run, image, list(run.prompt_names), 5)
    adapter, zero = page.results.adapter_bars.rows(), page.results.zero_shot_bars.rows()
    assert [r.label for r in adapter] == expected.labels and [r.label for r in zero] == expected.zero_shot_labels
    assert [r.probability for r in adapter] == pytest.approx(expected.probabilities, abs=1e-5)
    assert [r.probability for r in zero] == pytest.approx(expected.zero_shot_probabilities, abs=1e-5)
    assert len(adapter) == 5 and all(a.probability >= b.probability for a, b in zip(adapter, adapter[1:]))
    roles = dict(zip(run.prompt_names, run.to_adapter_file().roles))
    assert all(row.role == roles[row.label] for row in adapter + zero)
    assert page.image_view.has_image() and page.last_result.source_name == image.name
    assert "blue sky" not in page.error_text()


def test_editing_the_class_list_updates_the_results(qtbot, page, trained):
    run, root = trained
    with_run(qtbot, page, run)
    image = sorted((root / "red apple").iterdir())[0]
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        page.classify_path(image)
    before = {r.label: r.probability for r in page.results.adapter_bars.rows()}

    page.results.top_k_spin.setValue(10)  # every class on screen
    qtbot.waitUntil(lambda: len(page.results.adapter_bars.rows()) == len(run.prompt_names), timeout=WAIT_MS)
    page.class_editor.name_edit.setText("crimson cherry, a photo of a dog")
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        qtbot.mouseClick(page.class_editor.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=WAIT_MS)
    names = list(run.prompt_names) + ["crimson cherry", "a photo of a dog"]
    assert page.last_result.class_names == names
    rows = page.results.adapter_bars.rows()
    assert {r.label for r in rows} == set(names) and {r.label: r.role for r in rows}["crimson cherry"] == "added"
    expected = reference_prediction(run, image, names, 10)
    assert [r.probability for r in rows] == pytest.approx(expected.probabilities, abs=1e-5)
    assert rows[0].probability != pytest.approx(before[rows[0].label]) or rows[0].label not in before

    page.class_editor.list.item(0).setSelected(True)  # remove the first class
    removed = page.class_editor.list.item(0).text()
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        qtbot.mouseClick(page.class_editor.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=WAIT_MS)
    assert removed not in page.results.adapter_bars.labels() and removed not in page.last_result.class_names
    assert sum(r.probability for r in page.results.adapter_bars.rows()) == pytest.approx(1.0, abs=1e-4)

    assert page.class_editor.rename("crimson cherry", "red apple") is False  # a duplicate is refused
    assert "already" in page.class_editor.note.text()
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        qtbot.mouseClick(page.class_editor.reset_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=WAIT_MS)
    assert page.last_result.class_names == list(run.prompt_names)


def test_loading_an_adapter_file_shows_its_metadata_and_reuses_the_backbone(qtbot, page, trained, tmp_path):
    run, root = trained
    path = run.save(tmp_path / "colours.safetensors")
    with_run(qtbot, page, run)
    with qtbot.waitSignal(page.modelChanged, timeout=WAIT_MS):
        page.load_adapter_file(path)
    assert page.model.source == "file" and page.model.path == path
    assert page.model.classifier.backbone is run.backbone  # same weights: not loaded a second time
    fields = page.adapter_info.fields
    assert "mma-tiny" in fields["backbone"] and fields["random_weights"] == "yes"
    for name, role in zip(run.prompt_names, run.to_adapter_file().roles):
        assert f"{name} ({role})" in fields["classes"]
    assert fields["templates"] == "a photo of a {}." and "zero-shot: Base" in fields["metrics"]
    assert fields["created"][:4].isdigit() and str(path) in fields["source"]
    assert "colours.safetensors" in page.summary_label.text()
    assert page.use_run_button.isVisible() or not page.isVisible()  # the run is one click away
    assert "random weights" in page.adapter_info.label.text()


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", "not a safetensors file"),
        (b"", "empty"),
        (None, "not an MMA Studio adapter file"),  # a real safetensors file without our metadata
    ],
)
def test_a_broken_adapter_file_is_refused_in_one_line_and_the_page_stays_usable(
    qtbot, page, trained, tmp_path, content, reason
):
    run, root = trained
    with_run(qtbot, page, run)
    path = tmp_path / "broken.safetensors"
    if content is None:
        import torch
        from safetensors.torch import save_file

        save_file({"weight": torch.zeros(2, 2)}, str(path), metadata={"format": "pt"})
    else:
        path.write_bytes(content)
    page.load_adapter_file(path)
    qtbot.waitUntil(lambda: bool(page.error_text()) and not page.is_busy(), timeout=WAIT_MS)
    assert reason in page.last_error and "\n" not in page.last_error
    assert page.model.source == "run"  # the adapter it had is kept
    with collector_paused():  # a list of raw pointers: no collection may free one meanwhile
        boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "demoErrorBox" and w.isVisible()]
    assert boxes and reason in boxes[-1].informativeText()
    for box in boxes:
        box.close()
    image = sorted((root / "yellow sun").iterdir())[0]
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        page.classify_path(image)  # still classifies
    assert page.results.adapter_bars.rows()


def test_an_unreadable_image_is_reported_and_the_previous_result_stays(qtbot, page, trained, tmp_path):
    run, root = trained
    with_run(qtbot, page, run)
    good = sorted((root / "green leaf").iterdir())[0]
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        page.classify_path(good)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    page.classify_path(broken)
    qtbot.waitUntil(lambda: bool(page.error_text()) and not page.is_busy(), timeout=WAIT_MS)
    assert page.last_result.source_name == good.name and page.results.adapter_bars.rows()


def test_folder_to_csv_writes_one_row_per_image(qtbot, page, trained, tmp_path):
    run, root = trained
    with_run(qtbot, page, run)
    out = tmp_path / "predictions.csv"
    with qtbot.waitSignal(page.folderFinished, timeout=WAIT_MS) as finished:
        assert page.classify_folder(root, out)
    assert finished.args == [True]
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    images = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    assert sorted(r["path"] for r in rows) == images
    assert all(r["label_1"] in run.prompt_names and 0 < float(r["probability_1"]) <= 1 for r in rows)
    assert "predictions.csv" in page.folder_result.text()


def test_folder_to_csv_cancel_stops_after_the_batch_in_hand_and_writes_nothing(qtbot, page, trained, tmp_path):
    run, _root = trained
    with_run(qtbot, page, run)
    folder = tmp_path / "many"
    for i in range(6 * 64):  # six batches of the engine's 64 images
        make_image(folder / f"{i:04d}.png", size=(8, 8), color=class_color(i % 6))
    classifier = page.model.classifier
    original = classifier.classify_images

    batches: list[int] = []
    clicked = threading.Event()

    def slow(images, top_k=5, names=None):  # a slow model: each batch takes a while
        batches.append(len(images))
        if len(batches) >= 2:  # in hand until the click, however late a loaded machine lets it come
            clicked.wait(WAIT_MS / 1000)
        time.sleep(0.3)
        return original(images, top_k, names)

    classifier.classify_images = slow
    out = tmp_path / "cancelled.csv"
    page.classify_folder(folder, out)
    cancel = page.findChild(QPushButton, "demoCancelButton")
    try:
        qtbot.waitUntil(lambda: page.progress.value() >= 64, timeout=WAIT_MS)  # one batch done
        assert cancel.isEnabled() and "Classifying" in page.progress.format()
        with qtbot.waitSignal(page.folderFinished, timeout=WAIT_MS) as finished:
            qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
            in_hand = len(batches)
            clicked.set()
    finally:
        clicked.set()  # never leave the worker waiting (a failed step above)
    # Stopped at the next batch boundary (not by a stopwatch: a loaded machine may take longer
    # for the one batch in hand): at most that batch ran after the click, of the six.
    assert len(batches) <= in_hand + 1 < 6
    assert finished.args == [False] and not out.exists()
    assert "Cancelled" in page.folder_result.text()


def test_paste_classifies_the_clipboard_image(qtbot, page, trained):
    run, _root = trained
    with_run(qtbot, page, run)
    image = QImage(40, 30, QImage.Format.Format_ARGB32)
    image.fill(QColor(30, 90, 220, 255))
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        qtbot.mouseClick(page.paste_button, Qt.MouseButton.LeftButton)
    assert page.last_result.image.size == (40, 30) and page.last_result.image.getpixel((0, 0)) == (30, 90, 220)
    assert page.last_result.source_name == "Pasted image" and page.results.adapter_bars.rows()


def test_an_adapter_file_dropped_anywhere_on_the_window_opens_in_the_demo(qtbot, trained, tmp_path):
    from mma_studio.ui.main_window import MainWindow

    run, _root = trained
    path = run.save(tmp_path / "dropped.safetensors")
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1180, 780)
    assert window.current_page() is window.data_page
    with qtbot.waitSignal(window.demo_page.modelChanged, timeout=WAIT_MS):
        drop(window.data_page.drop_zone, [path])  # the Data page's drop zone would refuse it
    assert window.current_page() is window.demo_page
    assert (
        window.demo_page.model.path == path and "dropped.safetensors" in window.demo_page.adapter_info.fields["source"]
    )
    assert window.data_page.error_text() == ""
    window.train_page.runFinished.emit(run)  # a finished run reaches the demo (a file is loaded: it waits)
    assert "Use its adapter" in window.demo_page.notice_banner.text()
    assert window.close()


def test_ctrl_v_pastes_on_the_page_but_not_inside_the_class_name_field(qtbot, page, trained):
    run, _root = trained
    with_run(qtbot, page, run)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page, timeout=5000)
    image = QImage(16, 16, QImage.Format.Format_RGB32)
    image.fill(QColor(220, 40, 40))
    QGuiApplication.clipboard().setImage(image)
    page.image_view.setFocus()
    with qtbot.waitSignal(page.classified, timeout=WAIT_MS):
        qtbot.keyClick(page.image_view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert page.last_result.image.size == (16, 16)

    QGuiApplication.clipboard().setText("tabby cat")
    page.class_editor.name_edit.setFocus()
    qtbot.keyClick(page.class_editor.name_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert page.class_editor.name_edit.text() == "tabby cat" and page.error_text() == ""
