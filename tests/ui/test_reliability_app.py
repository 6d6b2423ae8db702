"""Issue 7 in the desktop app: bad inputs, faults and network failures, driven like a user.

- The bad-input corpus (the same oracle as the engine and CLI tests) dropped onto the main
  window's `dataDropZone` with real drag-and-drop events: the class table lists the usable
  classes with the right counts, the health report lists every skipped file with its reason,
  every usable image has a thumbnail (an EXIF-rotated one upright), and the corpus trains.
- Datasets that cannot be used (only broken files, names that are not valid UTF-8, a FIFO
  named like an image): a message or a normal table, no exception, no hang.
- Cancel during extraction and during training, then train again: the result equals an
  uninterrupted run's, and every cache shard on disk verifies.
- A full feature-cache disk: the run still finishes; a loading failure (no network, a damaged
  cached weights file) is a message naming the fix, and the app then trains with local weights.

pytest-qt fails a test on any exception raised in a Qt slot or event handler, so "no
traceback" is checked for every step. Adapter files cannot be opened in the app yet (there
is no Demo/Evaluate page), so hostile adapter files are covered by the CLI and engine tests.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QTableView, QWidget

from mma_studio.ui.app_state import BackboneSelection
from mma_studio.ui.data.class_table import IMAGES, NAME
from tests.image_factory import make_class_dataset, make_image, write_bad_input_corpus, write_truncated
from tests.training_helpers import RANDOM_BACKBONE, fast_values, hold_until_cancelled
from tests.ui.drag_and_drop import drop

SCAN_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 120_000
CLOSED_PORT_ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT_ENDPOINT)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def messages(monkeypatch) -> list[QMessageBox]:
    """Message boxes the app opens (recorded instead of shown)."""
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or QMessageBox.StandardButton.Ok)
    return shown


def _stop_work(window) -> None:
    """Before pytest-qt closes the window (even after a failed test): no run is left for
    closeEvent to ask about, so teardown never meets a "Stop training?" question."""
    window.train_page.request_stop_and_wait(60_000)
    window.data_page.stop_and_wait(60_000)


@pytest.fixture
def window(qtbot, tmp_path, warm):
    from mma_studio.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window, before_close_func=_stop_work)
    window.resize(1200, 800)
    window.train_page.cache_dir = tmp_path / "cache"
    yield window
    assert window.train_page.request_stop_and_wait(5000)
    assert window.data_page.stop_and_wait(5000)


def drop_and_wait(qtbot, window, folder: Path) -> None:
    zone = window.findChild(QWidget, "dataDropZone")
    with qtbot.waitSignal(window.data_page.scanFinished, timeout=SCAN_TIMEOUT_MS):
        drop(zone, [folder])
    qtbot.waitUntil(lambda: not window.data_page.is_busy(), timeout=SCAN_TIMEOUT_MS)


def table_counts(window) -> dict[str, int]:
    table = window.findChild(QTableView, "classTable")
    model = table.model()
    return {
        model.index(r, NAME).data(): int(str(model.index(r, IMAGES).data()).replace(",", ""))
        for r in range(model.rowCount())
    }


def use_random_backbone(window) -> None:
    model, tag, label = RANDOM_BACKBONE
    window.state.set_backbone(BackboneSelection(model, tag, label, is_random=True))


def train(qtbot, window, **values) -> None:
    page = window.train_page
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(**values))
    with qtbot.waitSignal(page.trainingStopped, timeout=RUN_TIMEOUT_MS):
        assert page.start_training()


# --------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_bad_input_corpus(tmp_path_factory.mktemp("corpus") / "dataset")


def test_the_bad_input_corpus_dropped_on_the_window(qtbot, window, corpus, messages):
    drop_and_wait(qtbot, window, corpus.root)
    page = window.data_page
    assert page.error_text() == "" and messages == []
    expected = {page._state.display_name(name): count for name, count in corpus.expected_counts().items()}
    assert table_counts(window) == expected

    # the health report: every skipped file, with its reason, and nothing else
    dialog = page.health_report_dialog()
    qtbot.addWidget(dialog)
    rows = {
        dialog.table.item(r, 0).data(Qt.ItemDataRole.UserRole): dialog.table.item(r, 1).text()
        for r in range(dialog.table.rowCount())
    }
    # The corpus's identical copies are used, and listed as counted more than once (issue 11.11).
    duplicates = {p for p, reason in rows.items() if reason.endswith("counted more than once")}
    assert duplicates == {str(p) for g in page._state.data.scan.duplicates for p in g.paths}
    rows = {p: reason for p, reason in rows.items() if p not in duplicates}
    assert set(rows) == {str(e.path) for e in corpus.by_expectation("skipped")}
    for entry in corpus.by_expectation("skipped"):
        assert rows[str(entry.path)], entry.what
        if entry.reason_hint:
            assert entry.reason_hint in rows[str(entry.path)].lower(), (entry.what, rows[str(entry.path)])
    assert dialog.report_text().count("\n") == len(corpus.by_expectation("skipped")) + len(duplicates)
    assert page.report_button.text().endswith(f"({len(corpus.by_expectation('skipped'))})")


def _thumbnails(qtbot, window, paths: list[Path], size: int) -> dict[Path, object]:
    loader = window.data_page.thumbnails
    qtbot.waitUntil(lambda: all(loader.thumbnail(p, size) is not None for p in paths), timeout=SCAN_TIMEOUT_MS)
    return {p: loader.thumbnail(p, size) for p in paths}


# Pillow (and so the engine) uses this file; Qt's PNG reader refuses it. See the xfail below.
QT_UNREADABLE = "bad_idat_crc.png"


def test_every_usable_corpus_image_has_a_thumbnail_upright_and_in_its_colours(qtbot, window, corpus):
    import numpy as np

    from mma_studio.core.images import load_rgb_image

    size = 16
    used = [e.path for e in corpus.by_expectation("used") if e.path.name != QT_UNREADABLE]
    thumbnails = _thumbnails(qtbot, window, used, size)
    for path, pixmap in thumbnails.items():
        assert not pixmap.isNull(), path
        image = pixmap.toImage()
        if image.hasAlphaChannel() and any(
            image.pixelColor(x, y).alpha() < 255 for x in range(size) for y in range(size)
        ):
            continue  # transparency: the view shows its own background, the engine composites on white
        shown = np.array([[image.pixelColor(x, y).getRgb()[:3] for x in range(size)] for y in range(size)], float)
        decoded = np.asarray(load_rgb_image(path).resize((size, size)), float)
        assert np.abs(shown.mean(axis=(0, 1)) - decoded.reshape(-1, 3).mean(axis=0)).max() < 12, path
    exif = _thumbnails(qtbot, window, [corpus.exif_path], 48)[corpus.exif_path].toImage()
    top, bottom = exif.pixelColor(24, 3), exif.pixelColor(24, 44)
    assert top.red() > 180 and top.blue() < 70, "the EXIF-rotated thumbnail is not upright"
    assert bottom.blue() > 180 and bottom.red() < 70


def test_a_png_with_a_bad_pixel_checksum_has_a_thumbnail_too(qtbot, window, corpus):
    path = next(e.path for e in corpus.by_expectation("used") if e.path.name == QT_UNREADABLE)
    assert not _thumbnails(qtbot, window, [path], 16)[path].isNull()


def test_the_corpus_trains_in_the_app_with_every_usable_image(qtbot, window, corpus, messages):
    drop_and_wait(qtbot, window, corpus.root)
    use_random_backbone(window)
    names = sorted(corpus.expected_counts())
    window.state.set_roles(
        ["usable formats", "ünïcødé class & spaces"],
        [n for n in names if n not in ("usable formats", "ünïcødé class & spaces")],
    )
    train(qtbot, window, epochs=2, shots=2, val_per_class=1)
    page = window.train_page
    assert page.last_error is None and messages == []
    run = page.last_run
    assert sum(run.split.counts().values()) == len(corpus.by_expectation("used"))
    assert run.failed_images == []


# --------------------------------------------------------------------------- odd datasets


def test_a_folder_of_only_broken_files_gives_a_message_and_its_report(qtbot, window, tmp_path, messages):
    root = tmp_path / "broken"
    write_truncated(root / "cat" / "a.jpg")
    (root / "dog").mkdir()
    (root / "dog" / "b.png").write_text("<html>not an image</html>")
    drop_and_wait(qtbot, window, root)
    page = window.data_page
    assert "no usable images" in page.error_text()
    assert page.error_report_button.isVisibleTo(page)
    assert table_counts(window) == {}
    drop_and_wait(qtbot, window, corpus_like_good(tmp_path))  # the app is still usable
    assert table_counts(window) == {"ant": 4, "bee": 4}


def corpus_like_good(tmp_path: Path) -> Path:
    make_class_dataset(tmp_path / "good", {"ant": 4, "bee": 4})
    return tmp_path / "good"


def test_names_that_are_not_valid_utf8_and_a_fifo_neither_crash_nor_hang(qtbot, window, tmp_path):
    if sys.platform != "linux":
        pytest.skip("needs a file system that stores arbitrary bytes and FIFOs")
    root = tmp_path / "data"
    make_class_dataset(root, {"ant": 4, "bee": 4})
    odd = Path(os.fsdecode(os.fsencode(root) + b"/caf\xe9"))
    for i in range(4):
        make_image(Path(os.fsdecode(os.fsencode(odd) + b"/img\xff%d.png" % i)))
    os.mkfifo(root / "ant" / "pipe.png")
    drop_and_wait(qtbot, window, root)
    assert table_counts(window) == {"ant": 4, "bee": 4, "caf\ufffd": 4}
    table = window.findChild(QTableView, "classTable")
    table.viewport().repaint()  # paint every row, thumbnails included
    window.data_page.thumbnails.wait_for_idle(5000)
    qtbot.wait(50)


# --------------------------------------------------------------------------- cancel, then train again


def _cache_rows(cache_root: Path) -> int:
    """Image rows in the cache; every shard (image or prompt) must verify its checksum."""
    from mma_studio.core.feature_cache import FeatureCache

    cache = FeatureCache(cache_root)
    rows = 0
    for shard in Path(cache_root).rglob("shard-*.safetensors"):
        loaded = cache._read_shard(shard)
        assert loaded is not None, f"{shard} does not verify"
        rows += len(loaded[0]) if shard.parent.name.startswith("img-") else 0
    return rows


@pytest.fixture
def pinned_torch_threads(monkeypatch):
    """One torch thread for the whole test, whatever else runs: the engine's `torch_threads`
    (which sets torch's process-wide count while a piece of work runs) becomes a no-op, so a
    second worker thread cannot change the count under a run and change its float sums."""
    from mma_studio.core import features, training

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(features, "torch_threads", lambda target: contextlib.nullcontext())
    monkeypatch.setattr(training, "torch_threads", lambda target: contextlib.nullcontext())
    yield
    torch.set_num_threads(previous)


def _cached_features(cache_root: Path, paths: list[Path], backbone) -> torch.Tensor:
    from mma_studio.core.feature_cache import FeatureCache

    rows = FeatureCache(cache_root).get_many(backbone, paths)
    assert sorted(rows) == list(range(len(paths)))
    return torch.stack([rows[i] for i in range(len(paths))])


@pytest.mark.parametrize("moment", ["extraction", "training"])
def test_cancel_then_train_again_matches_an_uninterrupted_run(
    moment, qtbot, window, tmp_path, monkeypatch, pinned_torch_threads
):
    """What a cancel may not change: the cached features (each image's own row, however the
    images were batched: within float16 rounding) and the next run (bit for bit the run that
    the same features, settings and seed give)."""
    from mma_studio.core import backbone as backbone_module
    from mma_studio.core import feature_cache, features
    from mma_studio.core.feature_cache import FeatureCache

    make_class_dataset(tmp_path / "data", [f"colour {i}" for i in range(6)], per_class=10)
    drop_and_wait(qtbot, window, tmp_path / "data")
    use_random_backbone(window)
    page = window.train_page
    # small batches and shards, and a slow encoder, so a cancel lands mid-extraction
    monkeypatch.setattr(features, "default_batch_size", lambda device: 8)
    monkeypatch.setattr(features, "SHARD_ROWS", 8)
    monkeypatch.setattr(feature_cache, "SHARD_ROWS", 8)
    encode = backbone_module.Backbone.encode_images
    encoded = []
    give_up_at = time.monotonic() + RUN_TIMEOUT_MS / 1000

    def slow_encode(self, pixels):
        encoded.append(len(pixels))
        if moment == "extraction" and len(encoded) > 2:
            # The rest of the extraction waits for the cancel: a click that a loaded machine
            # delays would otherwise land after the last batch (or after the whole run).
            hold_until_cancelled(page, give_up_at)
        time.sleep(0.05)
        return encode(self, pixels)

    monkeypatch.setattr(backbone_module.Backbone, "encode_images", slow_encode)
    page.settings.ensure_loaded()
    page.settings.set_values(fast_values(epochs=100_000 if moment == "training" else 3, shots=3, val_per_class=2))
    with qtbot.waitSignal(page.trainingStopped, timeout=RUN_TIMEOUT_MS):
        assert page.start_training()
        if moment == "extraction":
            qtbot.waitUntil(lambda: len(encoded) >= 2, timeout=RUN_TIMEOUT_MS)
        else:
            qtbot.waitUntil(lambda: page.plots.point_count >= 2, timeout=RUN_TIMEOUT_MS)
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert page.last_error is None
    if moment == "extraction":
        assert page.last_run is None and 0 < _cache_rows(page.cache_dir) < 60
    else:
        assert page.last_run is not None and page.last_run.cancelled  # the best adapter so far
    monkeypatch.setattr(backbone_module.Backbone, "encode_images", encode)

    train(qtbot, window, epochs=3, shots=3, val_per_class=2)
    resumed = page.last_run
    assert resumed is not None and not resumed.cancelled and page.last_error is None
    assert _cache_rows(tmp_path / "cache") == 60

    # The features: every image's row equals an uninterrupted extraction's. Within float16
    # rounding, not bit for bit: a resumed extraction batches the remaining images differently,
    # and the last bit of a float32 sum may differ with the batch, which can tip the rounding.
    # (The run's own backbone, not a second load: random weights are drawn from torch's global
    # generator, which another thread may draw from at the same moment.)
    paths = sorted((tmp_path / "data").rglob("*.png"))
    assert len(paths) == 60
    features.extract_image_features(resumed.backbone, paths, cache=FeatureCache(tmp_path / "fresh-cache"))
    torch.testing.assert_close(
        _cached_features(tmp_path / "cache", paths, resumed.backbone),
        _cached_features(tmp_path / "fresh-cache", paths, resumed.backbone),
        rtol=2e-3,
        atol=1e-4,
    )

    # The run: nothing of the cancelled run carries over; the same features, settings and seed
    # give the same adapter and losses as a run that nothing interrupted.
    train(qtbot, window, epochs=3, shots=3, val_per_class=2)
    uninterrupted = page.last_run
    assert uninterrupted is not resumed and not uninterrupted.cancelled and page.last_error is None
    assert resumed.summary()["zero_shot"] == uninterrupted.summary()["zero_shot"]
    assert [e.train_loss for e in resumed.history] == pytest.approx(
        [e.train_loss for e in uninterrupted.history], rel=1e-6
    )
    for name, tensor in uninterrupted.adapter.state_dict().items():
        torch.testing.assert_close(resumed.adapter.state_dict()[name], tensor, rtol=1e-5, atol=1e-7, msg=name)


# --------------------------------------------------------------------------- disk and network


def test_a_full_cache_disk_does_not_stop_a_run(qtbot, window, tmp_path, monkeypatch, messages):
    from mma_studio.core import feature_cache

    make_class_dataset(tmp_path / "data", [f"colour {i}" for i in range(4)], per_class=8)
    drop_and_wait(qtbot, window, tmp_path / "data")
    use_random_backbone(window)

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_cache.os, "fsync", no_space)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "features computed but not cached"
        train(qtbot, window, epochs=2, shots=2, val_per_class=2)
    page = window.train_page
    assert page.last_error is None and page.last_run is not None and messages == []
    assert not list(Path(page.cache_dir).rglob("shard-*"))
    # the run says so (for the page to show; see the report of issue 7)
    assert any("not cached" in w and "No space left on device" in w for w in page.last_run.warnings)
    monkeypatch.undo()
    train(qtbot, window, epochs=2, shots=2, val_per_class=2)  # space again: now it is cached
    assert page.last_run is not None and _cache_rows(page.cache_dir) == 32


def _local_weights(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    from mma_studio.core.backbone import load_backbone

    path = tmp_path / "my weights.safetensors"
    save_file(
        {k: v.contiguous() for k, v in load_backbone("mma-tiny", "random:3").model.state_dict().items()}, str(path)
    )
    return path


@pytest.mark.parametrize("fault", ["no network", "damaged cached weights"])
def test_a_backbone_that_cannot_load_is_a_message_and_local_weights_then_train(
    fault, qtbot, window, tmp_path, monkeypatch, messages
):
    make_class_dataset(tmp_path / "data", [f"colour {i}" for i in range(4)], per_class=8)
    drop_and_wait(qtbot, window, tmp_path / "data")
    if fault == "no network":
        selection = BackboneSelection("ViT-B-16", "openai", "ViT-B-16 · OpenAI")
        expect = "cannot reach the download site"
    else:
        from tests.test_backbone import put_in_hub_cache, register_fake_tag

        register_fake_tag(monkeypatch, "apptest")
        damaged = put_in_hub_cache("open_clip_model.safetensors", b"\x13\x00\x00\x00\x00\x00\x00\x00{broken")
        selection = BackboneSelection("mma-tiny", "apptest", "mma-tiny · apptest")
        expect = f"{damaged} is damaged"
    window.state.set_backbone(selection)
    import huggingface_hub

    downloads: list[tuple] = []  # none: fast because nothing waits for the network, not timed
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *args, **kwargs: downloads.append(args))
    page = window.train_page
    if fault == "no network":
        # Weights that are not on this computer are known before Train: it refuses up front, with
        # the reason and its two fixes in view (the download's own failure: test_missing_weights.py).
        page.settings.ensure_loaded()
        page.settings.set_values(fast_values(epochs=2, shots=2, val_per_class=2))
        assert not page.start_training() and not page.train_button.isEnabled()
        assert "not on this computer" in page.ready_label.text() and page.choose_weights_button.isVisibleTo(page)
        assert downloads == [] and page.last_run is None
        assert [box.text() for box in messages] == ["Cannot train yet"]  # asked by code: the button is off
        messages.clear()
        weights = _local_weights(tmp_path)
        window.state.set_backbone(BackboneSelection("mma-tiny", str(weights), f"mma-tiny · {weights.name}"))
        train(qtbot, window, epochs=2, shots=2, val_per_class=2)
        assert page.last_error is None and page.last_run is not None
        return
    train(qtbot, window, epochs=2, shots=2, val_per_class=2)
    assert downloads == []
    assert page.last_run is None and page.last_error is not None
    title, message = page.last_error
    assert title == "The model could not be loaded" and expect in message and "weights file you already have" in message
    assert "--pretrained" not in message  # the app's words, not the command line's (issue 12 §3)
    assert page.error_banner.label.text() == message  # said once, in view: no modal box besides
    assert len(messages) == 0 and not window.state.busy and page.train_button.isEnabled()

    weights = _local_weights(tmp_path)
    window.state.set_backbone(BackboneSelection("mma-tiny", str(weights), f"mma-tiny · {weights.name}"))
    train(qtbot, window, epochs=2, shots=2, val_per_class=2)
    assert page.last_error is None and page.last_run is not None


# --------------------------------------------------------------------------- load, scaled down


def test_scaled_down_load_in_the_app_keeps_the_window_responsive(qtbot, tmp_path, warm):
    """The app phase of benchmarks/load_20k.py on 800 images in 80 classes: dropped, scanned,
    the table scrolled top to bottom with thumbnails, trained from an empty cache."""
    from tests.test_load import load_benchmark

    load = load_benchmark()
    root = load.generate_dataset(tmp_path / "data", 800, 80, size=(48, 36))
    figures = load.gui_phase(root, tmp_path / "cache", epochs=3, shots=4, val_per_class=2, timeout_s=120)
    print(f"\nscaled-down app load: {figures}")
    assert figures["images"] == 800 and figures["table_rows"] == 80 and not figures["error"]
    assert figures["trained"] and figures["train_error"] is None and figures["epochs_run"] == 3
    assert figures["thumbnails"] > 0
    # The GUI thread's own work between two ticks of its 10 ms timer: what our code blocks.
    # (Wall-clock gaps add the time a shared machine ran other processes; they are printed.)
    for stage in ("scan_busy_s", "scroll_step_busy_s", "train_busy_s"):
        assert figures[stage] < 0.25, (stage, figures[stage])
    # "Blocked" is time the GUI thread waited for the GIL. On a loaded machine it includes the
    # time the worker holding the GIL sat preempted (0.32 s seen beside other jobs, issue 13 §2),
    # so the bound only catches a real hog: a worker holding the GIL through a long call.
    for stage in ("scan_worst", "train_worst"):
        assert figures[stage]["blocked"] < 1.0, (stage, figures[stage])


def test_cached_weights_train_in_the_app_without_any_network(qtbot, window, tmp_path, monkeypatch, messages):
    """Offline (HF_HUB_OFFLINE, and the hub a closed port): weights already in the Hugging Face
    cache load and train; nothing is downloaded."""
    from tests.test_backbone import fp16_bytes, put_in_hub_cache, random_state_dict, register_fake_tag

    register_fake_tag(monkeypatch, "appcached")
    put_in_hub_cache("open_clip_model.safetensors", fp16_bytes(random_state_dict(6)))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    make_class_dataset(tmp_path / "data", [f"colour {i}" for i in range(4)], per_class=8)
    drop_and_wait(qtbot, window, tmp_path / "data")
    window.state.set_backbone(BackboneSelection("mma-tiny", "appcached", "mma-tiny · appcached"))
    train(qtbot, window, epochs=2, shots=2, val_per_class=2)
    page = window.train_page
    assert page.last_error is None and messages == [] and page.last_run is not None
    assert page.last_run.backbone_metadata["pretrained"] == "appcached"


# --------------------------------------------------------------------------- hostile files in the app


def test_hostile_adapter_files_dropped_on_the_window_are_refused_and_never_run(qtbot, tmp_path, warm, messages):
    """Every damaged or hostile adapter file of the CLI tests, dropped on the window: the Demo
    page says why in a message, keeps the adapter it had, and no file's code ever runs."""
    from mma_studio.ui.main_window import MainWindow
    from tests.test_reliability_cli import hostile_adapter_files
    from tests.ui.trained_run import train_small_run

    _scan, run = train_small_run(tmp_path / "run", epochs=2)
    marker = tmp_path / "EXECUTED"
    cases = hostile_adapter_files(tmp_path / "hostile", marker)
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1180, 780)
    demo = window.demo_page
    with qtbot.waitSignal(demo.modelChanged, timeout=RUN_TIMEOUT_MS):
        demo.use_training_run(run)
    try:
        for name, path in cases.items():
            messages.clear()
            drop(window.data_page.drop_zone, [path])  # an adapter dropped anywhere opens in the Demo
            qtbot.waitUntil(lambda: bool(messages) and not demo.is_busy(), timeout=RUN_TIMEOUT_MS)
            assert window.current_page() is demo, name
            assert messages[-1].text() == "The adapter could not be loaded", name
            assert demo.last_error and "\n" not in demo.last_error, (name, demo.last_error)
            assert demo.model is not None and demo.model.source == "run", name  # the adapter it had is kept
            assert window.data_page.error_text() == ""
        assert not marker.exists(), "a hostile adapter file was executed"
    finally:
        assert demo.stop_and_wait(5000)
        window.projects.stop_and_wait(5000)


def _hostile_projects(folder: Path, marker: Path) -> dict[str, bytes]:
    import json
    import pickle

    import torch

    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"format": "mma-studio-project", "hook": _PickleMarker(marker)}, folder / "zip.bin")
    base = {"format": "mma-studio-project", "version": 1, "name": "hostile"}
    documents = {
        "pickle renamed": pickle.dumps({"format": "mma-studio-project", "hook": _PickleMarker(marker)}),
        "torch zip renamed": (folder / "zip.bin").read_bytes(),
        "deep JSON": b"[" * 100_000 + b"]" * 100_000,
        "5000-digit version": b'{"format": "mma-studio-project", "version": ' + b"9" * 5000 + b"}",
        "not UTF-8": b'{"format": "mma-studio-project", "name": "\xff\xfe"}',
        "random bytes": bytes(range(256)) * 4,
    }
    for what, changes in {
        "data root a number": {"data_root": 5},
        "class folders wrong": {"class_folders": [1, None, ["x"]]},
        "settings not an object": {"settings": ["epochs", 3]},
        "settings of the wrong types": {"settings": {"shots": "many", "training": "fast", "adapter": [1]}},
        "backbone of the wrong types": {"backbone": {"model": 5, "pretrained": ["openai"]}},
        "runs of junk": {"runs": ["x", 5, {"history": "abc", "zero_shot": [1], "split": {"train": [[5, 0]]}}]},
        "run history of junk": {
            "runs": [{"history": [{"epoch": "one", "val_acc": "high"}], "zero_shot": {"val_acc": "x"}}]
        },
        "run split of junk": {"data_root": ".", "runs": [{"split": {"train": [[5, 0], "x", [None]], "classes": 3}}]},
        "run adapter of junk": {"runs": [{"adapter_file": ["a.safetensors"]}]},
    }.items():
        documents[what] = json.dumps({**base, **changes}).encode()
    return documents


class _PickleMarker:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_hostile_project_files_are_refused_or_opened_without_harm(qtbot, tmp_path, warm, monkeypatch):
    """Damaged, forged and executable project files: each is refused with a message (the
    window keeps what it had) or opens as far as it makes sense; nothing crashes, nothing runs."""
    from mma_studio.ui.main_window import MainWindow

    shown = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or QMessageBox.StandardButton.Ok)
    marker = tmp_path / "EXECUTED"
    for what, content in _hostile_projects(tmp_path / "files", marker).items():
        window = MainWindow()
        qtbot.addWidget(window)
        try:
            path = tmp_path / f"{what}.mmaproj"
            path.write_bytes(content)
            outcome = []
            window.projects.projectOpened.connect(lambda _path, outcome=outcome: outcome.append("opened"))
            window.projects.projectOpenFailed.connect(lambda _message, outcome=outcome: outcome.append("refused"))
            assert window.projects.open_project(path)  # read in a worker; the outcome is signalled
            qtbot.waitUntil(lambda outcome=outcome: bool(outcome), timeout=15_000)
            opened = outcome[0] == "opened"
            print(f"\n{what}: {'opened' if opened else 'refused: ' + window.projects.last_error}")
            if opened:
                qtbot.wait(100)  # the restore's queued work (rescans, settings) runs without raising
            else:
                assert window.projects.last_error and path.name in window.projects.last_error, what
                assert window.projects.path is None and window.state.data.scan is None
        finally:
            window.projects.stop_and_wait(5000)
            window.data_page.stop_and_wait(5000)
    assert not marker.exists(), "a hostile project file was executed"
