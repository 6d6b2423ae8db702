"""Issue 12 §3: a backbone whose weights are not on this computer says so before Train. The
chooser marks it; Train stays disabled with the reason and two fixes (Download, Choose Weights
File…); a failed download is one message in plain words, in view, with no modal box."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from mma_studio.core.model_configs import resources_dir
from mma_studio.ui.main_window import MainWindow
from tests.training_helpers import fast_values, scanned_dataset

LIST_TIMEOUT_MS = 60_000


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network in tests, and nothing in this cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    boxes: list = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: boxes.append(box))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: boxes.append(box) or 0)
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.boxes = boxes
    chooser = window.data_page.backbone_chooser
    with qtbot.waitSignal(chooser.choicesLoaded, timeout=LIST_TIMEOUT_MS):
        chooser.ensure_loaded()
    scan = scanned_dataset(tmp_path / "data", classes=4, per_class=6)
    window.state.set_scan(scan, scan.class_names[:2], scan.class_names[2:])
    yield window
    window.projects.stop_and_wait(5000)
    window.data_page.stop_and_wait(5000)
    if window.train_page is not None:
        window.train_page.request_stop_and_wait(5000)


def choose_missing(window):
    chooser = window.data_page.backbone_chooser
    target = next(e for e in chooser.entries() if e.kind == "pretrained" and not e.downloaded)
    assert chooser.select(target.model, target.pretrained)
    return target


def test_missing_weights_disable_train_with_the_reason_and_two_fixes(qtbot, window):
    target = choose_missing(window)
    page = window.ensure_train_page()
    assert not page.train_button.isEnabled()
    reason = page.ready_label.text()
    assert target.label in reason and "not on this computer" in reason
    assert page.download_weights_button.isVisibleTo(page) and page.download_weights_button.isEnabled()
    assert page.choose_weights_button.isVisibleTo(page)
    texts = [
        window.data_page.backbone_chooser.combo.itemText(i)
        for i in range(window.data_page.backbone_chooser.combo.count())
    ]
    assert any(target.label in text and "not downloaded" in text for text in texts)  # the chooser marks it

    chooser = window.data_page.backbone_chooser
    with qtbot.waitSignal(chooser.downloadFinished, timeout=30_000):
        page.download_weights_button.click()
    qtbot.waitUntil(lambda: not chooser.is_downloading())
    message = page.ready_label.text()
    assert target.label in message and "offline" in message and "--pretrained" not in message
    assert not page.train_button.isEnabled() and page.choose_weights_button.isVisibleTo(page)
    assert window.boxes == []  # one message, in view: no modal duplicate


def test_choosing_a_weights_file_enables_train(qtbot, window, monkeypatch):
    choose_missing(window)
    page = window.ensure_train_page()
    chooser = window.data_page.backbone_chooser
    weights = resources_dir() / "mma-tiny-shapes.safetensors"
    monkeypatch.setattr(chooser, "ask_weights_file", lambda: str(weights))
    monkeypatch.setattr(chooser, "ask_architecture", lambda path: "mma-tiny")
    page.choose_weights_button.click()
    assert window.state.backbone.pretrained == f"file:{weights.resolve()}"
    assert not window.state.weights_missing and not page.choose_weights_button.isVisibleTo(page)
    assert "not on this computer" not in page.ready_label.text()


def test_a_load_failure_during_training_is_said_once_in_plain_words():
    from mma_studio.core.backbone import BackboneLoadError
    from mma_studio.ui.workers.training_worker import describe_error

    error = BackboneLoadError(
        "ViT-B-16",
        "openai",
        "the weights are not downloaded and the model hub https://huggingface.co is unreachable (timed out)",
        hint="use a local weights file instead: --pretrained /path/to/weights.safetensors",
    )
    title, message = describe_error(error)
    assert "ViT-B-16" in message and "cannot reach" in message and "--pretrained" not in message


def test_a_finished_download_enables_train(qtbot, window, monkeypatch):
    from mma_studio.ui.data import backbone_chooser

    def fake_download(model, pretrained, label):
        def run(on_progress, token):
            from mma_studio.core.events import Progress

            on_progress(Progress("download", 1, 2, message=f"Downloading {label}"))
            return True

        return run

    monkeypatch.setattr(backbone_chooser, "_download_task", fake_download)
    choose_missing(window)
    page = window.ensure_train_page()
    chooser = window.data_page.backbone_chooser
    assert not page.train_button.isEnabled()
    with qtbot.waitSignal(chooser.downloadFinished, timeout=30_000) as finished:
        page.download_weights_button.click()
    assert finished.args == [True]
    qtbot.waitUntil(lambda: not chooser.is_downloading())
    assert not window.state.weights_missing and "not on this computer" not in page.ready_label.text()
    assert not page.download_weights_button.isVisibleTo(page)
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(shots=2, val_per_class=1))  # the small dataset's fitting sizes
    assert page.train_button.isEnabled(), page.ready_label.text()
