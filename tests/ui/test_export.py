"""Export: the adapter file (and model card + metrics beside it) from the dialog, checked by a
reload through the predict path on a worker thread; mismatches, damaged files, a full disk and
a read-only folder are reported, and never leave a partial file behind."""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import os
import threading

import pytest
import torch
from PySide6.QtCore import Qt

from mma_studio.core.adapter_file import load_adapter_file
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.export import (
    ExportError,
    ExportRequest,
    companion_paths,
    verification_images,
    write_export_set,
)
from mma_studio.ui.dialogs.export_dialog import ExportDialog
from tests.ui.trained_run import train_small_run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_small_run(tmp_path_factory.mktemp("export-run"))


@pytest.fixture
def run(trained):
    """A shallow copy per test, so a test may swap its adapter or save method freely."""
    return dataclasses.replace(trained[1])


def make_dialog(qtbot, run, folder, name="model"):
    dialog = ExportDialog(run, suggested_name=name, folder=folder)
    qtbot.addWidget(dialog)
    dialog.open_url = lambda url: True  # never start a file manager
    return dialog


def export_and_wait(qtbot, dialog, timeout_ms=60_000):
    with qtbot.waitSignal(dialog.exportFinished, timeout=timeout_ms):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.is_running()


def files_in(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def out(tmp_path):
    """The export folder (tmp_path itself also holds the test's QSettings)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_export_writes_adapter_card_and_metrics_and_verifies_off_the_gui_thread(qtbot, run, out, monkeypatch):
    from mma_studio.core import export_check

    threads = []
    original = export_check.verify_exported_adapter

    def recording_verify(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(export_check, "verify_exported_adapter", recording_verify)
    dialog = make_dialog(qtbot, run, out)
    dialog.model_card_check.setChecked(True)
    dialog.metrics_check.setChecked(True)
    assert dialog.adapter_path() == out / "model.safetensors"
    assert "Saves 4 files" in dialog.files_label.text()

    export_and_wait(qtbot, dialog)

    assert dialog.error is None, dialog.error
    assert files_in(out) == ["model.confusion.csv", "model.md", "model.metrics.json", "model.safetensors"]
    assert threads and all(thread is not threading.main_thread() for thread in threads)
    assert dialog.result.verified
    assert dialog.result.check.checked == min(8, len(run.adapted.paths))
    assert dialog.outcome_kind() == "verified"
    assert dialog.result_label.text().startswith("Verified")
    assert not dialog.show_folder_button.isHidden()

    # The adapter file is the engine's format and holds this run.
    contents = load_adapter_file(out / "model.safetensors")
    assert contents.class_names == list(run.prompt_names)
    for name, tensor in run.adapter.state_dict().items():
        assert torch.equal(contents.state_dict[name], tensor.cpu())
    card = (out / "model.md").read_text(encoding="utf-8")
    assert card.startswith("# model")
    assert all(name in card for name in run.prompt_names) and "## Results on held-out test images" in card
    metrics = json.loads((out / "model.metrics.json").read_text(encoding="utf-8"))
    assert metrics["adapted"]["base"] == pytest.approx(run.adapted.base_acc)
    assert len(metrics["per_class"]["adapted"]) == len(run.prompt_names)
    rows = list(csv.reader((out / "model.confusion.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0][1:] == list(run.adapted.display_names)
    assert [[int(v) for v in row[1:]] for row in rows[1:]] == run.adapted.confusion.tolist()


def test_unticked_companions_are_not_written_and_the_suffix_is_added(qtbot, run, out):
    dialog = make_dialog(qtbot, run, out)
    dialog.model_card_check.setChecked(False)
    dialog.metrics_check.setChecked(False)
    dialog.set_adapter_path(out / "plain")  # typed without the suffix
    assert dialog.adapter_path() == out / "plain.safetensors"
    export_and_wait(qtbot, dialog)
    assert files_in(out) == ["plain.safetensors"]
    assert dialog.outcome_kind() == "verified"


def test_choose_uses_the_file_dialog_answer(qtbot, run, out):
    dialog = make_dialog(qtbot, run, out)
    asked = []
    dialog.ask_save_path = lambda current: asked.append(current) or str(out / "picked")
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert asked == [str(out / "model.safetensors")]
    assert dialog.adapter_path() == out / "picked.safetensors"
    assert "picked.md" in dialog.files_label.text() and "picked.md" in dialog.model_card_check.toolTip()
    assert dialog.model_card_check.toolTip().startswith("Markdown: backbone and weights")  # what it holds, too


def test_long_or_markup_like_names_stay_inside_the_dialog_and_show_literally(qtbot, run, tmp_path):
    """The boxes name the kind of file, the wrapping line below the files: a long name cannot
    run past the dialog's edge; a folder named like HTML shows as typed, before and after."""
    from tests.ui.test_plain_text_names import walk

    folder = tmp_path / "<font color=red>yak"
    folder.mkdir()
    dialog = make_dialog(qtbot, run, folder, name="a-really-rather-long-adapter-name-for-the-birds-of-2026")
    dialog.show()
    qtbot.waitExposed(dialog)
    for box in (dialog.model_card_check, dialog.metrics_check, dialog.onnx_check):
        assert box.sizeHint().width() <= dialog.width(), box.text()
    assert "a-really-rather-long-adapter-name-for-the-birds-of-2026.onnx" in dialog.onnx_check.toolTip()
    assert "<font color=red>yak" in dialog.files_label.text()
    assert walk(dialog) == []
    export_and_wait(qtbot, dialog)
    assert dialog.outcome_kind() == "verified" and "<font color=red>yak" in dialog.status_label.text()
    assert walk(dialog) == []


def test_a_file_that_predicts_differently_is_reported_as_a_mismatch(qtbot, run, out):
    """The run's in-app adapter changes after saving: the reloaded file no longer agrees."""
    original_save = run.save

    def save_then_change_the_app_model(path):
        written = original_save(path)
        changed = type(run.adapter).from_config(run.adapter.config)
        changed.load_state_dict(run.adapter.state_dict())
        with torch.no_grad():
            for parameter in changed.parameters():
                parameter.add_(torch.randn_like(parameter) * 3.0)
        changed.eval()
        run.adapter = changed
        return written

    run.save = save_then_change_the_app_model
    dialog = make_dialog(qtbot, run, out)
    export_and_wait(qtbot, dialog)
    assert dialog.error is None
    assert not dialog.result.verified
    assert dialog.result.check.mismatches
    assert dialog.outcome_kind() == "mismatch"
    assert dialog.result_label.text().startswith("Mismatch")
    assert (out / "model.safetensors").exists()  # kept, but the user is told


def test_a_damaged_saved_file_is_reported(qtbot, run, out):
    original_save = run.save

    def save_then_damage(path):
        written = original_save(path)
        data = bytearray(path.read_bytes())
        data[10:40] = b"\xff" * 30  # inside the safetensors header
        path.write_bytes(bytes(data))
        return written

    run.save = save_then_damage
    dialog = make_dialog(qtbot, run, out)
    export_and_wait(qtbot, dialog)
    assert not dialog.result.verified
    assert dialog.result.check_error
    assert dialog.outcome_kind() == "mismatch"
    assert "could not be checked" in dialog.result_label.text()


def test_full_disk_shows_an_error_and_leaves_no_file(qtbot, run, out, monkeypatch):
    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", no_space)
    dialog = make_dialog(qtbot, run, out)
    export_and_wait(qtbot, dialog)
    monkeypatch.undo()
    assert dialog.result is None
    assert dialog.outcome_kind() == "error"
    assert "disk is full" in dialog.result_label.text() and "Nothing was saved" in dialog.result_label.text()
    assert files_in(out) == []  # no adapter, no temp file


def test_full_disk_on_a_companion_file_removes_the_adapter_written_before_it(qtbot, run, out, monkeypatch):
    real_replace = os.replace

    def full_on_markdown(src, dst):
        if str(dst).endswith(".md"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_on_markdown)
    dialog = make_dialog(qtbot, run, out)
    dialog.model_card_check.setChecked(True)
    export_and_wait(qtbot, dialog)
    monkeypatch.undo()
    assert dialog.outcome_kind() == "error"
    assert "model.md" in dialog.result_label.text()
    assert files_in(out) == []


def test_read_only_folder_shows_an_error_and_leaves_no_file(qtbot, run, tmp_path, monkeypatch):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permissions: refuse the temp file the way a read-only folder would
        import tempfile

        def refused(*args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

        monkeypatch.setattr(tempfile, "mkstemp", refused)
    try:
        dialog = make_dialog(qtbot, run, out)
        export_and_wait(qtbot, dialog)
        monkeypatch.undo()
        assert dialog.outcome_kind() == "error"
        assert "permission" in dialog.result_label.text()
        assert files_in(out) == []
    finally:
        out.chmod(0o755)


def test_cancel_during_the_check_removes_the_files_it_wrote(run, out):
    token = CancelToken()

    def cancel_at_check(progress):
        if progress.message == "Checking the saved file":
            token.cancel()

    request = ExportRequest(run, out / "model.safetensors", model_card=True, metrics=True)
    with pytest.raises(Cancelled):
        write_export_set(request, cancel_at_check, token)
    assert files_in(out) == []


def test_a_write_error_is_an_export_error_naming_the_file(run, tmp_path):
    missing = tmp_path / "gone" / "deeper"
    request = ExportRequest(run, missing / "model.safetensors", model_card=False, metrics=False)
    (tmp_path / "gone").write_text("a file where a folder should be")
    with pytest.raises(ExportError, match="model.safetensors"):
        write_export_set(request)


def test_verification_images_cover_every_class_first(run):
    report = run.adapted
    chosen = verification_images(report, len(set(report.true_labels)))
    labels = {report.true_labels[report.paths.index(path)] for path in chosen}
    assert labels == set(report.true_labels)
    assert len(verification_images(report, 10_000)) == len(report.paths)


def test_companion_names():
    names = {k: p.name for k, p in companion_paths("/x/shapes.safetensors").items()}
    assert names == {
        "model_card": "shapes.md",
        "metrics": "shapes.metrics.json",
        "confusion": "shapes.confusion.csv",
        "onnx": "shapes.onnx",
        "onnx_json": "shapes.onnx.json",
        "predict_script": "predict.py",
    }


def test_the_onnx_option_holds_the_adapter_and_demo_classes_and_is_verified(qtbot, run, out):
    dialog = ExportDialog(run, suggested_name="model", folder=out, added_classes=["violet", run.prompt_names[0]])
    qtbot.addWidget(dialog)
    dialog.onnx_check.setChecked(True)
    classes = [*run.prompt_names, "violet"]  # a name the adapter already has is not added twice
    assert dialog.onnx_classes == classes
    assert f"({len(classes)}, in this order)" in dialog.onnx_classes_label.text()
    assert "violet" in dialog.onnx_classes_label.text() and "added on the Demo page" in dialog.onnx_classes_label.text()
    assert "Saves 7 files" in dialog.files_label.text() and "about" in dialog.files_label.text()
    assert dialog.float16_check.isEnabled()

    export_and_wait(qtbot, dialog)

    assert dialog.error is None, dialog.error
    assert files_in(out) == [
        "model.confusion.csv",
        "model.md",
        "model.metrics.json",
        "model.onnx",
        "model.onnx.json",
        "model.safetensors",
        "predict.py",
    ]
    assert dialog.result.onnx_verified and dialog.outcome_kind() == "verified"
    assert "ONNX model verified" in dialog.result_label.text()
    assert "ONNX model" in dialog.status_label.text()  # its size, beside the adapter's
    assert dialog.progress.maximum() == 9  # 7 files and 2 checks
    metadata = json.loads((out / "model.onnx.json").read_text(encoding="utf-8"))
    assert metadata["class_names"] == classes


def test_without_the_onnx_extra_the_option_is_off_and_says_how_to_install_it(qtbot, run, out, monkeypatch):
    import importlib.util

    from mma_studio.core.export import onnx_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(
        onnx_extra.importlib.util,
        "find_spec",
        lambda name, *args: None if name in ("onnx", "onnxruntime") else real(name, *args),
    )
    dialog = make_dialog(qtbot, run, out)
    dialog.onnx_check.setChecked(True)  # a click cannot reach a disabled box; the setting is ignored too
    dialog.model_card_check.setChecked(False)
    dialog.metrics_check.setChecked(False)
    assert not dialog.onnx_check.isEnabled()
    assert not dialog.onnx_unavailable_label.isHidden()
    assert 'pip install "mma-studio[onnx]"' in dialog.onnx_unavailable_label.text()
    export_and_wait(qtbot, dialog)
    assert files_in(out) == ["model.safetensors"] and dialog.outcome_kind() == "verified"


def test_the_app_and_the_cli_write_the_same_set_through_the_same_engine_call(
    qtbot, run, trained, tmp_path, monkeypatch, capsys
):
    from mma_studio.cli import main
    from mma_studio.core.export import export_set

    calls = []
    real = export_set.write_export_set

    def recording(request, *args, **kwargs):
        calls.append(request)
        return real(request, *args, **kwargs)

    monkeypatch.setattr(export_set, "write_export_set", recording)
    app_out, cli_out = tmp_path / "app", tmp_path / "cli"
    app_out.mkdir()
    dialog = make_dialog(qtbot, run, app_out)
    dialog.onnx_check.setChecked(True)
    export_and_wait(qtbot, dialog)
    assert dialog.result.verified, dialog.result.describe()

    saved = run.save(tmp_path / "model.safetensors")
    data_dir = trained[0].root  # the dataset the run was trained on: the CLI evaluates its held-out images
    code = main(
        [
            "export",
            str(saved),
            str(cli_out),
            "--model-card",
            "--metrics",
            str(data_dir),
            "--onnx",
            "--device",
            "cpu",
            "--cache-dir",
            str(tmp_path / "cache"),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr()

    assert len(calls) == 2 and all(request.onnx and request.model_card and request.metrics for request in calls)
    assert files_in(app_out) == files_in(cli_out)
    assert (app_out / "predict.py").read_bytes() == (cli_out / "predict.py").read_bytes()
    app_adapter, cli_adapter = (load_adapter_file(folder / "model.safetensors") for folder in (app_out, cli_out))
    assert app_adapter.class_names == cli_adapter.class_names
    assert all(
        torch.equal(app_adapter.state_dict[name], cli_adapter.state_dict[name]) for name in app_adapter.state_dict
    )
    app_meta, cli_meta = (
        json.loads((folder / "model.onnx.json").read_text(encoding="utf-8")) for folder in (app_out, cli_out)
    )
    app_meta.pop("created"), cli_meta.pop("created")
    assert app_meta == cli_meta
    headings = [
        [line for line in (folder / "model.md").read_text(encoding="utf-8").splitlines() if line.startswith("#")]
        for folder in (app_out, cli_out)
    ]
    assert headings[0] == headings[1]
    metrics = [json.loads((folder / "model.metrics.json").read_text(encoding="utf-8")) for folder in (app_out, cli_out)]
    assert metrics[0].keys() == metrics[1].keys()


def test_the_demo_page_gives_the_classes_added_to_the_run_it_shows(qtbot, run):
    """What the Evaluate page passes to the Export dialog as the ONNX model's extra classes."""
    from mma_studio.ui.app_state import AppState
    from mma_studio.ui.demo.demo_page import DemoPage
    from mma_studio.ui.workers.demo_worker import DemoModel

    page = DemoPage(AppState())
    qtbot.addWidget(page)
    contents = run.to_adapter_file()
    page.model = DemoModel(classifier=None, adapter_file=contents, source="run", run=run)
    page.class_editor.set_classes(contents.class_names, contents.roles)
    page.class_editor.add_names(["violet", "teal"])
    assert page.classes_added_for(run) == ["violet", "teal"]
    assert page.classes_added_for(dataclasses.replace(run)) == []  # another run: none of its classes
    page.model = DemoModel(classifier=None, adapter_file=contents, source="file", run=None)
    assert page.classes_added_for(run) == []  # the page shows a file, not this run
