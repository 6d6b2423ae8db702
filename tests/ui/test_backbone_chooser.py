"""The backbone chooser: what it lists (from the real engine, in a worker), how a choice
reaches the app state, local weights files, a failing download, and the remembered choice."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox

from mma_studio.ui.app_state import AppState, BackboneSelection
from mma_studio.ui.data.backbone_chooser import (
    CHOICE_ROLE,
    SETTINGS_KEY,
    BackboneChooser,
    ChoiceEntry,
    format_duration,
    guess_architecture,
)

LIST_TIMEOUT_MS = 60_000  # the first listing imports open_clip (and torch) in the worker


@pytest.fixture
def chooser_factory(qtbot):
    choosers = []

    def build(state: AppState | None = None) -> BackboneChooser:
        chooser = BackboneChooser(state or AppState())
        qtbot.addWidget(chooser)
        choosers.append(chooser)
        return chooser

    yield build
    for chooser in choosers:
        assert chooser.stop_and_wait(5000)


def loaded(qtbot, chooser: BackboneChooser) -> BackboneChooser:
    with qtbot.waitSignal(chooser.choicesLoaded, timeout=LIST_TIMEOUT_MS):
        chooser.ensure_loaded()
    return chooser


def test_shows_the_current_choice_before_listing(chooser_factory):
    chooser = chooser_factory()
    combo = chooser.findChild(QComboBox, "backboneCombo")
    assert combo is chooser.combo and combo.count() == 1
    assert "demo" in combo.currentText()
    assert not chooser.is_loaded()


def test_lists_demo_random_and_local_entries(qtbot, chooser_factory):
    chooser = loaded(qtbot, chooser_factory())
    entries = chooser.entries()
    kinds = [e.kind for e in entries]
    assert {"demo", "random", "local"} <= set(kinds)
    demo = next(e for e in entries if e.kind == "demo")
    random = next(e for e in entries if e.kind == "random")
    assert (demo.model, demo.pretrained) == ("mma-tiny", "shapes") and "demo" in demo.label
    assert (random.model, random.pretrained) == ("mma-tiny", "random") and "random" in random.label
    assert kinds[-1] == "local" and "Local weights file" in entries[-1].label
    pretrained = [e for e in entries if e.kind == "pretrained"]
    assert any((e.model, e.pretrained) == ("ViT-B-16", "openai") for e in pretrained)
    for entry in pretrained:  # each pretrained entry says whether it is on this computer
        text = entry.item_text()
        assert text.endswith("downloaded") and text.endswith("not downloaded") != entry.downloaded
    assert chooser.combo.count() > len(entries)  # separators between the groups


def test_a_choice_reaches_the_app_state_and_is_remembered(qtbot, chooser_factory):
    state = AppState()
    chooser = loaded(qtbot, chooser_factory(state))
    seen = []
    state.backboneChanged.connect(lambda: seen.append(state.backbone))
    assert chooser.select("mma-tiny", "random")
    assert state.backbone.is_random and not state.backbone.is_demo
    assert "random" in chooser.combo.currentText()
    assert "testing" in chooser.status.text().lower()
    assert len(seen) == 1

    again = chooser_factory(AppState())  # a new session restores the choice
    assert again._state.backbone.pretrained == "random"
    assert "random" in again.combo.currentText()

    chooser.select_demo()
    assert state.backbone.is_demo
    assert list(QSettings().value(SETTINGS_KEY))[:2] == ["mma-tiny", "shapes"]


def test_local_weights_file_becomes_the_backbone(qtbot, chooser_factory, tmp_path, monkeypatch):
    weights = tmp_path / "ViT-B-32_finetuned.safetensors"
    weights.write_bytes(b"not really weights; only the path is used here")
    state = AppState()
    chooser = loaded(qtbot, chooser_factory(state))
    asked = []
    monkeypatch.setattr(chooser, "ask_weights_file", lambda: str(weights))
    monkeypatch.setattr(chooser, "ask_architecture", lambda path: asked.append(path) or "ViT-B-32")
    local_row = next(
        i
        for i in range(chooser.combo.count())
        if getattr(chooser.combo.itemData(i, CHOICE_ROLE), "kind", None) == "local"
    )
    chooser.combo.activated.emit(local_row)
    assert asked == [str(weights)]
    assert state.backbone.model == "ViT-B-32"
    assert state.backbone.pretrained == f"file:{weights.resolve()}"
    assert "local file" in chooser.combo.currentText()
    assert chooser.current_entry().kind == "file"

    monkeypatch.setattr(chooser, "ask_weights_file", lambda: "")  # cancelled dialog: nothing changes
    chooser.combo.activated.emit(local_row)
    assert state.backbone.pretrained == f"file:{weights.resolve()}"
    assert chooser.current_entry().kind == "file"


def test_failed_download_shows_the_engine_message_and_the_local_route(qtbot, chooser_factory, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent-mma-studio-hub-cache")
    state = AppState()
    chooser = loaded(qtbot, chooser_factory(state))
    target = next(e for e in chooser.entries() if e.kind == "pretrained" and not e.downloaded)
    assert chooser.select(target.model, target.pretrained)
    assert not chooser.download_button.isHidden()
    with qtbot.waitSignal(chooser.downloadFinished, timeout=30_000) as finished:
        chooser.download_button.click()
    assert finished.args == [False]
    message = chooser.error_text()
    assert target.label in message and "offline" in message  # the app's words (issue 12 §3) …
    assert "--pretrained" not in message and "Cannot load" not in message  # … not the command line's
    assert state.weights_missing and state.weights_note == message  # Train says the same, in its view
    assert not chooser.error_local_button.isHidden() and not chooser.error_demo_button.isHidden()
    qtbot.waitUntil(lambda: not chooser.is_downloading())
    chooser.error_demo_button.click()
    assert state.backbone.is_demo and chooser.error_text() == ""


def test_selection_from_elsewhere_is_shown(qtbot, chooser_factory):
    state = AppState()
    chooser = loaded(qtbot, chooser_factory(state))
    state.set_backbone(BackboneSelection("mma-tiny", "random", "mma-tiny · random weights", is_random=True))
    assert chooser.current_entry().kind == "random"


def test_helpers():
    assert (
        guess_architecture("vit_b_16-laion2b.safetensors", ["ViT-B-16", "ViT-B-32", "ViT-B-16-quickgelu"]) == "ViT-B-16"
    )
    assert guess_architecture("model.bin", ["ViT-B-16"]) == ""
    assert format_duration(5) == "5 s" and format_duration(125) == "2 min 05 s"
    entry = ChoiceEntry("ViT-B-16", "openai", "ViT-B-16 · openai", False, "pretrained")
    assert entry.item_text().endswith("not downloaded")
    assert entry.to_selection() == BackboneSelection("ViT-B-16", "openai", "ViT-B-16 · openai")


def test_a_choice_made_before_the_list_loads_is_kept(qtbot, chooser_factory):
    state = AppState()
    chooser = chooser_factory(state)
    picked = BackboneSelection("mma-tiny", "random", "mma-tiny (random weights, for testing)", is_random=True)
    state.set_backbone(picked)  # e.g. Try an Example or a reopened project, while the list is loading
    loaded(qtbot, chooser)
    assert state.backbone == picked


def test_missing_weights_are_known_before_the_list_loads(qtbot, chooser_factory, monkeypatch, tmp_path):
    """Issue 12 §3/§6: whether the chosen weights are on this computer is read from the cache
    folders when the chooser is built, so Train never counts missing weights as present."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    QSettings().setValue(SETTINGS_KEY, ["ViT-B-16", "openai", "ViT-B-16 · openai"])  # chosen yesterday
    state = AppState()
    chooser = chooser_factory(state)
    assert not chooser.is_loaded()
    assert state.weights_missing
    assert "not downloaded" in chooser.combo.currentText() and not chooser.download_button.isHidden()
    loaded(qtbot, chooser)
    assert state.weights_missing and chooser.current_entry().key() == ("ViT-B-16", "openai")


def test_weights_files_chosen_before_are_listed_and_marked_when_gone(qtbot, chooser_factory, tmp_path, monkeypatch):
    weights = tmp_path / "vit_b_32-tuned.safetensors"
    weights.write_bytes(b"only the path is used here")
    chooser = loaded(qtbot, chooser_factory())
    monkeypatch.setattr(chooser, "ask_weights_file", lambda: str(weights))
    monkeypatch.setattr(chooser, "ask_architecture", lambda path: "ViT-B-32")
    chooser.choose_local_file()
    chooser.select_demo()  # the file is no longer the choice, but it stays in the list

    later = loaded(qtbot, chooser_factory())
    entry = next(e for e in later.entries() if e.kind == "file")
    assert entry.key() == ("ViT-B-32", f"file:{weights.resolve()}") and entry.downloaded
    weights.unlink()
    gone = next(e for e in loaded(qtbot, chooser_factory()).entries() if e.kind == "file")
    assert not gone.downloaded and gone.item_text().endswith("file not found")


def test_the_architecture_question_offers_open_clips_models(chooser_factory, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    chooser = chooser_factory()
    offered = []
    monkeypatch.setattr(
        QInputDialog,
        "getItem",
        lambda parent, title, text, items, current, editable: offered.append((items, current)) or ("", False),
    )
    assert chooser.ask_architecture("/somewhere/ViT-L-14-finetuned.pt") == ""
    items, current = offered[0]
    assert {"ViT-B-16", "ViT-L-14", "ViT-B-16-quickgelu", "mma-tiny"} <= set(items)
    assert items[current] == "ViT-L-14"


def test_open_clip_weights_the_catalogue_does_not_list_are_shown_without_a_guess(qtbot, chooser_factory):
    """A project may name any open_clip tag: it is listed and selected, and since only loading
    it can tell whether it is on this computer, it is neither marked nor held back as missing."""
    state = AppState()
    chooser = chooser_factory(state)
    state.set_backbone(BackboneSelection("ViT-H-14", "laion2b_s32b_b79k", "ViT-H-14 · laion2b_s32b_b79k"))
    loaded(qtbot, chooser)
    entry = chooser.current_entry()
    assert entry.key() == ("ViT-H-14", "laion2b_s32b_b79k") and not entry.presence_known
    assert chooser.combo.currentText() == "ViT-H-14 · laion2b_s32b_b79k"
    assert not state.weights_missing and chooser.download_button.isHidden()


def test_a_weights_file_name_is_shown_as_typed(qtbot, chooser_factory, tmp_path, monkeypatch):
    weights = tmp_path / "<i>tuned & co.safetensors"
    weights.write_bytes(b"only the path is used here")
    chooser = chooser_factory()
    monkeypatch.setattr(chooser, "ask_weights_file", lambda: str(weights))
    monkeypatch.setattr(chooser, "ask_architecture", lambda path: "ViT-B-32")
    chooser.choose_local_file()
    assert "&lt;i&gt;tuned &amp; co.safetensors" in chooser.status.text()
    assert "<i>tuned" not in chooser.status.text()
