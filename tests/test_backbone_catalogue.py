"""The light backbone catalogue (issue 12 §3, §6): which backbones the chooser lists and
whether each one's weights are on this computer, read from the Hugging Face cache folders
without importing open_clip or torch; its copied registry facts checked against open_clip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mma_studio.core import backbone_catalogue, hub_cache
from mma_studio.core.backbone_catalogue import (
    catalogue_choices,
    list_architectures,
    recommended_choice,
    weights_present,
)
from mma_studio.core.hub_cache import cached_hub_file, hub_cache_dir, hub_weights_filenames
from mma_studio.core.recommended_backbones import RECOMMENDED_BACKBONES

PAPER = next(e for e in RECOMMENDED_BACKBONES if (e.model, e.pretrained) == ("ViT-B-16", "openai"))
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub(monkeypatch, tmp_path) -> Path:
    """An empty Hugging Face cache of this test's own."""
    cache = tmp_path / "hf-hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def lay_out(cache: Path, repo: str, filename: str, *, complete: bool = True, data: bytes = b"weights") -> Path:
    """A repo as huggingface_hub stores it: blobs/<hash>, snapshots/<commit>/<file> -> the blob,
    refs/main. An interrupted download leaves only blobs/<hash>.incomplete."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    if not complete:
        (folder / "blobs" / "abc123.incomplete").write_bytes(data[: len(data) // 2])
        return folder
    blob = folder / "blobs" / "abc123"
    blob.write_bytes(data)
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(COMMIT)
    link = folder / "snapshots" / COMMIT / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(os.path.relpath(blob, link.parent))
    except OSError:  # no symlinks (Windows without developer mode): huggingface_hub copies
        link.write_bytes(data)
    return folder


def choice(choices, model, pretrained):
    return next(c for c in choices if (c.model, c.pretrained) == (model, pretrained))


# --------------------------------------------------------------------------- presence


def test_absent_present_and_partially_downloaded_weights(hub):
    assert catalogue_choices()[0].kind != "pretrained"  # an empty cache: nothing downloaded first
    assert not choice(catalogue_choices(), "ViT-B-16", "openai").downloaded
    assert weights_present("ViT-B-16", "openai") is False

    lay_out(hub, PAPER.hf_repo, "open_clip_model.safetensors", complete=False)
    assert not choice(catalogue_choices(), "ViT-B-16", "openai").downloaded  # a .incomplete blob is not weights
    assert weights_present("ViT-B-16", "openai") is False

    lay_out(hub, PAPER.hf_repo, "open_clip_model.safetensors")
    choices = catalogue_choices()
    assert choice(choices, "ViT-B-16", "openai").downloaded
    assert choices[0].kind == "pretrained" and (choices[0].model, choices[0].pretrained) == ("ViT-B-16", "openai")
    assert weights_present("ViT-B-16", "openai") is True
    assert weights_present("ViT-B-16-quickgelu", "openai") is True  # the architecture's own name
    assert (recommended_choice(choices).model, recommended_choice(choices).pretrained) == ("ViT-B-16", "openai")
    others = [c for c in choices if c.kind == "pretrained" and c.pretrained != "openai"]
    assert others and not any(c.downloaded for c in others)


def test_a_dangling_snapshot_link_or_another_file_is_not_the_weights(hub):
    lay_out(hub, PAPER.hf_repo, "README.md")
    assert weights_present("ViT-B-16", "openai") is False
    folder = lay_out(hub, PAPER.hf_repo, "open_clip_model.safetensors")
    assert weights_present("ViT-B-16", "openai") is True
    (folder / "blobs" / "abc123").unlink()  # the blob was deleted by hand
    assert weights_present("ViT-B-16", "openai") is False


def test_the_bin_file_counts_and_any_snapshot_is_found(hub):
    folder = lay_out(hub, PAPER.hf_repo, "open_clip_pytorch_model.bin")
    (folder / "refs" / "main").unlink()  # no ref: the file of another snapshot is still these weights
    found = cached_hub_file(PAPER.hf_repo, hub_weights_filenames(PAPER.hf_filename))
    assert found == folder / "snapshots" / COMMIT / "open_clip_pytorch_model.bin"


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hub_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(tmp_path / "old-name"))
    assert hub_cache_dir() == tmp_path / "old-name"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "new-name"))
    assert hub_cache_dir() == tmp_path / "new-name"
    lay_out(tmp_path / "new-name", PAPER.hf_repo, "open_clip_model.safetensors")
    assert weights_present("ViT-B-16", "openai") is True
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert weights_present("ViT-B-16", "openai") is False


def test_demo_random_and_weights_files_chosen_before(hub, tmp_path):
    kept, moved = tmp_path / "kept.safetensors", tmp_path / "moved.safetensors"
    kept.write_bytes(b"x")
    choices = catalogue_choices(
        local_files=[("ViT-B-32", str(kept)), ("ViT-L-14", str(moved))], demo_weights=tmp_path / "absent.safetensors"
    )
    assert [c.kind for c in choices][-4:] == ["random", "file", "file", "local"]
    assert choice(choices, "ViT-B-32", f"file:{kept}").downloaded
    assert not choice(choices, "ViT-L-14", f"file:{moved}").downloaded
    assert not choice(choices, "mma-tiny", "shapes").downloaded
    assert recommended_choice(choices).kind == "pretrained"  # no demo weights: the paper's backbone to download
    assert weights_present("ViT-B-32", f"file:{kept}") is True
    assert weights_present("ViT-B-32", f"file:{moved}") is False
    assert weights_present("mma-tiny", "random:3") is True
    assert weights_present("mma-tiny", "shapes") is backbone_catalogue.shipped_weights_path().is_file()
    assert weights_present("ViT-H-14", "laion2b_s32b_b79k") is None  # not listed: only open_clip can tell


def test_the_engine_finds_the_same_cached_file(hub):
    """`load_backbone` and the catalogue read the cache the same way: one answer."""
    from mma_studio.core.backbone import is_pretrained_cached, list_backbone_choices

    assert not is_pretrained_cached("ViT-B-16", "openai")
    lay_out(hub, PAPER.hf_repo, "open_clip_model.safetensors", complete=False)
    assert not is_pretrained_cached("ViT-B-16", "openai")
    lay_out(hub, PAPER.hf_repo, "open_clip_model.safetensors")
    assert is_pretrained_cached("ViT-B-16", "openai")
    light = [(c.model, c.pretrained, c.downloaded, c.kind) for c in catalogue_choices()]
    full = [(c.model, c.pretrained, c.downloaded, c.kind) for c in list_backbone_choices()]
    assert full == light  # nothing else cached: the engine's list is the catalogue's


# --------------------------------------------------------------------------- facts copied from open_clip


def test_recommended_facts_agree_with_open_clips_registry():
    from open_clip.pretrained import get_pretrained_cfg

    from mma_studio.core.backbone import SUGGESTED_PRETRAINED, resolve_architecture

    assert tuple((e.model, e.pretrained) for e in RECOMMENDED_BACKBONES) == SUGGESTED_PRETRAINED
    for entry in RECOMMENDED_BACKBONES:
        arch, _ = resolve_architecture(entry.model, entry.pretrained)
        cfg = get_pretrained_cfg(arch, entry.pretrained)
        assert cfg, f"open_clip no longer knows {entry.model} · {entry.pretrained}"
        assert os.path.split(cfg.get("hf_hub", "")) == (entry.hf_repo, entry.hf_filename), entry


def test_weights_file_names_agree_with_open_clip():
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME
    from open_clip.pretrained import _get_safe_alternatives

    assert (hub_cache.OPEN_CLIP_WEIGHTS_NAME, hub_cache.OPEN_CLIP_SAFE_WEIGHTS_NAME) == (
        HF_WEIGHTS_NAME,
        HF_SAFE_WEIGHTS_NAME,
    )
    for filename in (HF_WEIGHTS_NAME, "model.bin", "weights.pth", "model.safetensors", "epoch_32.pt"):
        assert hub_weights_filenames(filename) == [*_get_safe_alternatives(filename), filename]
    assert hub_weights_filenames("") == hub_weights_filenames(HF_WEIGHTS_NAME)


def test_architectures_are_open_clips_without_importing_it():
    import open_clip

    from mma_studio.core.model_configs import register_shipped_model_configs

    register_shipped_model_configs()
    assert list_architectures() == sorted(open_clip.list_models())


# --------------------------------------------------------------------------- no heavy import


LISTING = r"""
import json, sys
from mma_studio.core.backbone_catalogue import catalogue_choices, list_architectures, weights_present
from mma_studio.ui.data.backbone_chooser import _list_choices_task
choices, recommended = _list_choices_task([("ViT-B-32", "/nowhere/w.safetensors")])(None, None)
assert catalogue_choices() and list_architectures() and weights_present("ViT-B-16", "openai") is False
print(json.dumps([name for name in ("torch", "open_clip", "numpy", "huggingface_hub") if name in sys.modules]))
"""


def test_listing_imports_neither_torch_nor_open_clip(hub):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", LISTING], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
