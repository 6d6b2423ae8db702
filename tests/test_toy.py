"""The toy CLIP `mma-tiny`/`shapes`: its data, its pretraining, its shipped weights, and the
example dataset on which adaptation has to help."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.toy import example_dataset, shapes
from mma_studio.toy.__main__ import main as toy_main
from mma_studio.toy.pretrain import (
    PretrainConfig,
    classify,
    compact_vocabulary,
    create_model,
    load_shapes_model,
    multi_positive_clip_loss,
    pretrain,
    shipped_weights_path,
    tokenize,
)


@pytest.fixture(autouse=True)
def _few_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the suite shares a small machine
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def shapes_model():
    return load_shapes_model()


# --------------------------------------------------------------------------- generated shapes


def test_combinations_held_out_are_fixed_disjoint_and_cover_every_word():
    assert len(shapes.COLOUR_NAMES) >= 8 and len(shapes.SHAPES) >= 6
    assert len(shapes.HELD_OUT) == len(set(shapes.HELD_OUT)) == 8
    assert set(shapes.HELD_OUT) <= set(shapes.ALL_COMBOS)
    assert not set(shapes.HELD_OUT) & set(shapes.SEEN_COMBOS)
    assert len(shapes.SEEN_COMBOS) + len(shapes.HELD_OUT) == len(shapes.ALL_COMBOS)
    # every colour and every shape word is still seen in pretraining, in other pairings
    assert {c for c, _ in shapes.SEEN_COMBOS} == set(shapes.COLOUR_NAMES)
    assert {s for _, s in shapes.SEEN_COMBOS} == set(shapes.SHAPES)
    assert shapes.caption("red", "circle") == "a photo of a red circle."


def test_generation_is_deterministic_per_seed_and_never_draws_held_out_combinations():
    first = shapes.sample(np.random.default_rng(7), 300)
    again = shapes.sample(np.random.default_rng(7), 300)
    other = shapes.sample(np.random.default_rng(8), 300)
    assert first.images.shape == (300, 32, 32, 3) and first.images.dtype == np.float32
    assert first.images.min() >= 0.0 and first.images.max() <= 1.0
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.colour, again.colour)
    assert not np.array_equal(first.images, other.images)
    assert not set(first.combos()) & set(shapes.HELD_OUT)
    assert len(set(first.combos())) > 50  # all seen combinations turn up, roughly uniformly


def test_the_shape_is_drawn_in_its_colour():
    """The pixels that stand out most from the background are nearest to the shape's colour
    (without the dark outline, which would stand out most)."""
    colours = np.arange(len(shapes.COLOUR_NAMES)).repeat(10)
    batch = shapes.render(colours, np.zeros_like(colours), np.random.default_rng(0), pixel_noise=0.0, outline=0.0)
    for image, colour in zip(batch.images, colours):
        corners = np.concatenate([image[:2, :2], image[:2, -2:], image[-2:, :2], image[-2:, -2:]]).reshape(-1, 3)
        distance = np.linalg.norm(image - np.median(corners, axis=0), axis=-1)
        shape_pixels = image[distance > 0.6 * distance.max()]
        nominal = np.array(list(shapes.COLOURS.values()))
        nearest = np.linalg.norm(nominal - shape_pixels.mean(axis=0), axis=1).argmin()
        assert shapes.COLOUR_NAMES[nearest] == shapes.COLOUR_NAMES[colour]


# --------------------------------------------------------------------------- pretraining


def test_multi_positive_loss_is_the_clip_loss_when_captions_are_distinct():
    generator = torch.Generator().manual_seed(0)
    images = F.normalize(torch.randn(6, 8, generator=generator), dim=-1)
    texts = F.normalize(torch.randn(6, 8, generator=generator), dim=-1)
    scale = torch.tensor(10.0)
    logits = scale * images @ texts.T
    clip = 0.5 * (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6)))
    ours = multi_positive_clip_loss(images, texts, torch.arange(6), scale)
    assert ours.item() == pytest.approx(clip.item(), rel=1e-6)


def test_multi_positive_loss_spreads_targets_over_equal_captions():
    # Two images share caption 0: each is a positive of the other's caption, and the best
    # the loss can do is split each row's probability evenly over the two columns (log 2).
    texts = F.normalize(torch.eye(3, 4), dim=-1)
    ids = torch.tensor([0, 0, 1, 2])
    images = texts[ids]
    loss = multi_positive_clip_loss(images, texts[ids], ids, torch.tensor(1000.0))
    assert loss.item() == pytest.approx(0.5 * np.log(2), abs=1e-4)  # rows 0,1 pay log 2; rows 2,3 nothing


def test_multi_positive_loss_matches_a_plain_reference():
    generator = torch.Generator().manual_seed(1)
    ids = torch.tensor([0, 0, 1, 2, 2, 2, 3])
    images = F.normalize(torch.randn(7, 8, generator=generator), dim=-1)
    texts = F.normalize(torch.randn(4, 8, generator=generator), dim=-1)[ids]
    scale = torch.tensor(7.0)
    logits = (scale * images @ texts.T).tolist()
    terms = {"image_to_text": [], "text_to_image": []}
    for i in range(7):
        positives = [j for j in range(7) if ids[j] == ids[i]]
        row = torch.tensor(logits[i]).log_softmax(0)
        column = torch.tensor([logits[k][i] for k in range(7)]).log_softmax(0)
        terms["image_to_text"].append(-sum(row[j] for j in positives) / len(positives))
        terms["text_to_image"].append(-sum(column[j] for j in positives) / len(positives))
    expected = 0.5 * (sum(terms["image_to_text"]) / 7 + sum(terms["text_to_image"]) / 7)
    assert multi_positive_clip_loss(images, texts, ids, scale).item() == pytest.approx(float(expected), rel=1e-5)


def test_training_a_compact_vocabulary_equals_training_the_full_embedding_table():
    """Pretraining trains only the rows its captions use; the result must not differ."""
    tokens = tokenize([shapes.caption(c, s) for c, s in shapes.ALL_COMBOS[:12]])

    def train(compact: bool):
        torch.manual_seed(0)
        model = create_model().train()
        generator = torch.Generator().manual_seed(1)
        targets = F.normalize(torch.randn(12, 64, generator=generator), dim=-1)
        with contextlib.ExitStack() as stack:
            ids = stack.enter_context(compact_vocabulary(model, tokens)) if compact else tokens
            optimizer = torch.optim.AdamW(
                [
                    {"params": [model.token_embedding.weight], "weight_decay": 0.0},
                    {"params": [p for n, p in model.named_parameters() if not n.startswith("token_embedding")]},
                ],
                lr=1e-2,
            )
            for _ in range(3):
                loss = -(model.encode_text(ids, normalize=True) * targets).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return model.state_dict()

    full, compact = train(False), train(True)
    assert full.keys() == compact.keys()
    for key in full:
        torch.testing.assert_close(compact[key], full[key], rtol=1e-5, atol=1e-6, msg=key)
    used = torch.unique(tokens)
    assert not torch.equal(full["token_embedding.weight"][used], train_free_embedding()[used])


def train_free_embedding() -> torch.Tensor:
    torch.manual_seed(0)
    return create_model().state_dict()["token_embedding.weight"]


def test_pretraining_runs_a_few_steps_reproducibly_and_writes_a_loadable_file(tmp_path):
    out = tmp_path / "w.safetensors"
    argv = ["train", "--steps", "2", "--batch-size", "12", "--eval-per-combo", "1", "--seed", "3", "--out", str(out)]
    assert toy_main(argv) == 0
    state = load_file(str(out))
    assert all(t.dtype == torch.float16 for t in state.values())
    create_model().load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    with safe_open(str(out), "pt") as handle:
        meta = handle.metadata()
    assert meta["model"] == "mma-tiny" and meta["pretrained"] == "shapes"
    assert json.loads(meta["recipe"])["steps"] == 2 and json.loads(meta["recipe"])["seed"] == 3
    assert json.loads(meta["held_out"]) == [list(k) for k in shapes.HELD_OUT]
    assert set(json.loads(meta["zero_shot"])) >= {"seen", "held_out"}
    assert not [p for p in tmp_path.iterdir() if p.name != out.name]  # no temporary file left

    # the same seed gives the same weights; training moved them away from the initialisation
    model, _ = pretrain(PretrainConfig(steps=2, batch_size=12, eval_per_combo=1, seed=3))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value.half(), state[key], rtol=0, atol=0, msg=key)
    torch.manual_seed(3)
    initial = create_model().state_dict()
    assert not torch.equal(initial["visual.conv1.weight"].half(), state["visual.conv1.weight"])


# --------------------------------------------------------------------------- shipped weights


def test_shipped_weights_are_float16_small_and_load_strictly_into_mma_tiny():
    path = shipped_weights_path()
    assert path.is_file() and path.stat().st_size <= 8 * 1024 * 1024
    state = load_file(str(path))
    assert {t.dtype for t in state.values()} == {torch.float16}
    model = create_model()
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    with safe_open(str(path), "pt") as handle:
        meta = handle.metadata()
    assert meta["model"] == "mma-tiny" and meta["pretrained"] == "shapes"
    assert "not a general image model" in meta["description"]
    assert 1.0 < float(model.logit_scale.detach().exp()) <= 100.0


def test_eval_command_reports_both_figures_for_the_shipped_weights(capsys):
    assert toy_main(["eval", "--per-combo", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == len(shapes.ALL_COMBOS)
    assert report["seen_images"] == 2 * len(shapes.SEEN_COMBOS) and report["held_out_images"] == 2 * len(
        shapes.HELD_OUT
    )
    assert report["seen"] > 0.5 and report["held_out"] > 0.2  # a coarse check on 160 images


@pytest.mark.parametrize("which", ["seen", "held_out"])
def test_shipped_weights_classify_fresh_shapes_well_above_chance(shapes_model, which):
    combos = shapes.SEEN_COMBOS if which == "seen" else shapes.HELD_OUT
    batch = shapes.sample(np.random.default_rng(123), 240, combos)
    predicted = classify(shapes_model, batch.to_uint8())
    truth = [shapes.ALL_COMBOS.index(k) for k in batch.combos()]
    accuracy = float(np.mean(np.array(predicted) == np.array(truth)))
    chance = 1 / len(shapes.ALL_COMBOS)
    floor = {"seen": SEEN_FLOOR, "held_out": HELD_OUT_FLOOR}[which]
    assert accuracy >= floor, f"{which}: {accuracy:.3f} (chance {chance:.3f})"


# Measured with the shipped weights: about 0.86 (seen) and 0.69 (held out); chance is 1/80.
SEEN_FLOOR = 0.7
HELD_OUT_FLOOR = 0.45


# --------------------------------------------------------------------------- example dataset


def test_example_dataset_folders_counts_and_determinism(tmp_path):
    progress = []
    first = example_dataset.write_example_dataset(tmp_path / "a", per_class=3, seed=5, on_progress=progress.append)
    second = example_dataset.write_example_dataset(tmp_path / "b", per_class=3, seed=5)
    folders = sorted(p.name for p in first.iterdir() if p.is_dir())
    assert len(folders) >= 20 and folders == sorted(f"{c}_{s}" for c, s in example_dataset.EXAMPLE_CLASSES)
    for name in folders:
        files = sorted(p.name for p in (first / name).iterdir())
        assert files == [f"{name}_{i:03d}.png" for i in range(3)]
        for filename in files:
            assert (first / name / filename).read_bytes() == (second / name / filename).read_bytes()
    assert progress[-1].done == progress[-1].total == 3 * len(folders)
    # the new half (by sorted name) reuses the base shapes in other colours, and includes
    # combinations that pretraining never saw
    base, new = folders[: (len(folders) + 1) // 2], folders[(len(folders) + 1) // 2 :]
    assert {n.split("_")[1] for n in base} == {n.split("_")[1] for n in new}
    assert {tuple(n.split("_")) for n in new} & set(shapes.HELD_OUT)
    other_seed = example_dataset.write_example_dataset(tmp_path / "c", per_class=1, seed=6)
    assert (other_seed / folders[0] / f"{folders[0]}_000.png").read_bytes() != (
        first / folders[0] / f"{folders[0]}_000.png"
    ).read_bytes()


def test_example_dataset_rewrites_its_own_folder_but_never_a_foreign_one(tmp_path):
    root = example_dataset.write_example_dataset(tmp_path / "ex", per_class=4)
    example_dataset.write_example_dataset(root, per_class=2)  # rewriting in place is fine...
    name = "_".join(example_dataset.EXAMPLE_CLASSES[0])
    assert sorted(p.name for p in (root / name).iterdir()) == [f"{name}_000.png", f"{name}_001.png"]
    assert not [p for p in root.rglob(".*") if p.name != example_dataset.MARKER]  # no temp files
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(FileExistsError):
        example_dataset.write_example_dataset(foreign, per_class=1)
    assert toy_main(["example", str(foreign), "--per-class", "1"]) == 2  # one line, no traceback
    assert sorted(p.name for p in foreign.iterdir()) == ["holiday.jpg"]


def test_example_dataset_writing_can_be_cancelled(tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        example_dataset.write_example_dataset(tmp_path / "ex", per_class=2, token=token)


# --------------------------------------------------------------------------- adaptation on the example


def test_adapting_on_the_example_dataset_lifts_base_accuracy_over_zero_shot(tmp_path):
    """The product's path end to end: example folders -> scan -> shapes backbone -> adapter."""
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings, train_adapter

    root = example_dataset.write_example_dataset(tmp_path / "example", per_class=E2E_PER_CLASS)
    settings = RunSettings(model="mma-tiny", pretrained="shapes", device="cpu", shots=E2E_SHOTS, val_per_class=4)
    run = train_adapter(scan_dataset(root), settings, cache=FeatureCache(tmp_path / "cache"))
    zero_shot, adapted = run.zero_shot, run.adapted
    assert 0.4 <= zero_shot.base_acc <= 0.85, "the example should be neither trivial nor hopeless zero-shot"
    assert adapted.base_acc >= zero_shot.base_acc + E2E_MIN_LIFT, (zero_shot.headline(), adapted.headline())
    assert adapted.new_acc >= zero_shot.new_acc - E2E_MAX_NEW_DROP, (zero_shot.headline(), adapted.headline())


# A smaller example than the app's (28 images per class, 12 shots) keeps this test to seconds;
# measured: zero-shot base 0.53 / new 0.51, adapted 0.80 / 0.78. The bars are issue 3's.
E2E_PER_CLASS = 28
E2E_SHOTS = 12
E2E_MIN_LIFT = 0.08
E2E_MAX_NEW_DROP = 0.03
