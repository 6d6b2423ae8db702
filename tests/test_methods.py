"""The comparison's methods, each against a small reference written here, and the fairness rules.

Every method must beat zero-shot on the base classes of a synthetic task where the class
text embeddings are misaligned prototypes (there is something to learn), and none may let
new classes or test images choose anything.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.comparison import (
    FALLBACK_MARK,
    comparison_table,
    run_methods,
    summarise,
)
from mma_studio.core.methods import DEFAULT_METHODS, FeatureTask, build_method
from mma_studio.core.methods.clip_adapter import ClipAdapter
from mma_studio.core.methods.linear_probe import LinearProbe
from mma_studio.core.methods.tip_adapter import (
    SearchGrid,
    TipAdapter,
    TipAdapterF,
)
from mma_studio.core.training import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TAU = 50.0


def synthetic_task(seed=0, dim=64, base=6, new=4, shots=16, val=6, test=20, noise=1.0, text_noise=2.5) -> FeatureTask:
    """Images cluster around class prototypes; class text embeddings are noisy prototypes, so
    zero-shot is imperfect on every class, and what a method learns on base may carry to new."""
    generator = torch.Generator().manual_seed(seed)
    classes = base + new
    prototypes = F.normalize(torch.randn(classes, dim, generator=generator), dim=-1)
    texts = F.normalize(prototypes + text_noise * torch.randn(classes, dim, generator=generator) / dim**0.5, dim=-1)

    def sample(class_ids, per_class):
        labels = torch.tensor(class_ids).repeat_interleave(per_class)
        features = prototypes[labels] + noise * torch.randn(len(labels), dim, generator=generator) / dim**0.5
        return F.normalize(features, dim=-1), labels

    base_ids, new_ids = list(range(base)), list(range(base, classes))
    train_x, train_y = sample(base_ids, shots)
    val_x, val_y = sample(base_ids, val)
    test_x, test_y = sample(base_ids + new_ids, test)
    return FeatureTask(
        train_x,
        train_y,
        val_x,
        val_y,
        test_x,
        test_y,
        texts,
        base_ids,
        new_ids,
        [f"class {i}" for i in range(classes)],
        logit_scale=TAU,
    )


def base_accuracy(scorer, task):
    member = torch.isin(task.test_labels, torch.tensor(task.base))
    logits = scorer(task.test_features[member], task.base_text)
    return (logits.argmax(-1) == task.test_labels[member]).float().mean().item()


def zero_shot_reference(x, texts):
    return TAU * F.normalize(x, dim=-1) @ F.normalize(texts, dim=-1).t()


@pytest.mark.parametrize("name", [n for n in DEFAULT_METHODS if n != "zero-shot"])
def test_every_method_beats_zero_shot_on_base_classes(name):
    task = synthetic_task()
    fitted = build_method(name).fit(task, seed=1)
    zero = base_accuracy(lambda x, t: zero_shot_reference(x, t), task)
    assert zero < 0.85  # the task leaves room to learn
    assert base_accuracy(fitted.scorer, task) >= zero + 0.05


def test_tip_adapter_matches_its_closed_form():
    task = synthetic_task(seed=3)
    fitted = TipAdapter().fit(task, seed=1)
    alpha, beta = fitted.chosen["alpha"], fitted.chosen["beta"]
    keys = task.train_features
    values = F.one_hot(task.train_labels, len(task.base)).float()
    x = task.test_features
    expected = zero_shot_reference(x, task.base_text) + alpha * torch.exp(-beta * (1 - x @ keys.t())) @ values
    torch.testing.assert_close(fitted.scorer(x, task.base_text), expected, rtol=1e-4, atol=1e-3)


def test_tip_adapter_alpha_beta_are_the_best_grid_point_on_base_validation():
    task = synthetic_task(seed=4)
    grid = SearchGrid(beta_steps=12, alpha_steps=5)
    fitted = TipAdapter(grid).fit(task, seed=1)
    keys, values = task.train_features, F.one_hot(task.train_labels, len(task.base)).float()
    best, choice = -1.0, None
    for beta in grid.betas():
        for alpha in grid.alphas():
            logits = (
                zero_shot_reference(task.val_features, task.base_text)
                + alpha * torch.exp(-beta * (1 - task.val_features @ keys.t())) @ values
            )
            accuracy = (logits.argmax(-1) == task.val_labels).float().mean().item()
            if accuracy > best:
                best, choice = accuracy, (alpha, beta)
    assert fitted.val_acc == pytest.approx(best)
    assert (fitted.chosen["alpha"], fitted.chosen["beta"]) == pytest.approx(choice, abs=1e-4)


@pytest.mark.parametrize("method", [LinearProbe(), TipAdapter(), TipAdapterF()])
def test_methods_bound_to_their_classes_score_new_classes_zero_shot(method):
    task = synthetic_task(seed=5)
    fitted = method.fit(task, seed=1)
    new_text = task.class_text[task.new]
    x = task.test_features
    torch.testing.assert_close(fitted.scorer(x, new_text), zero_shot_reference(x, new_text), rtol=1e-5, atol=1e-4)
    assert not method.info.can_score_unseen_classes
    # ... and the trained classes keep their trained scores among all classes (columns in any order)
    order = [*reversed(task.new), *task.base]
    together = fitted.scorer(x, task.class_text[order])
    torch.testing.assert_close(together[:, len(task.new) :], fitted.scorer(x, task.base_text), rtol=1e-5, atol=1e-4)


def test_linear_probe_starts_as_zero_shot_and_scores_as_a_text_initialised_linear_layer():
    task = synthetic_task(seed=6)
    untrained = LinearProbe(TrainConfig(epochs=1, lr=1e-12)).fit(task, seed=1)
    x = task.test_features
    torch.testing.assert_close(
        untrained.scorer(x, task.base_text), zero_shot_reference(x, task.base_text), rtol=1e-4, atol=1e-3
    )
    fitted = LinearProbe().fit(task, seed=1)
    probe = fitted.scorer.__self__
    expected = TAU * x @ probe.weight.t() + probe.bias
    torch.testing.assert_close(fitted.scorer(x, task.base_text), expected)
    assert fitted.trainable_params == len(task.base) * (task.embed_dim + 1)


def test_clip_adapter_is_a_residual_bottleneck_on_the_image_feature():
    task = synthetic_task(seed=7)
    fitted = ClipAdapter().fit(task, seed=1)
    first, second = fitted.scorer.mlp[0].weight, fitted.scorer.mlp[2].weight
    assert first.shape == (task.embed_dim // 4, task.embed_dim) and second.shape == (
        task.embed_dim,
        task.embed_dim // 4,
    )
    x = task.test_features
    adapted = F.normalize(0.2 * torch.relu(torch.relu(x @ first.t()) @ second.t()) + 0.8 * x, dim=-1)
    new_text = task.class_text[task.new]  # any class names: CLIP-Adapter scores unseen classes itself
    torch.testing.assert_close(fitted.scorer(x, new_text), zero_shot_reference(adapted, new_text), rtol=1e-4, atol=1e-3)
    assert fitted.trainable_params == 2 * task.embed_dim * (task.embed_dim // 4)


def test_tip_adapter_f_trains_only_the_cache_keys():
    task = synthetic_task(seed=8)
    fitted = TipAdapterF().fit(task, seed=1)
    assert fitted.trainable_params == task.train_features.numel()
    assert not torch.equal(fitted.scorer.keys, task.train_features)
    torch.testing.assert_close(fitted.scorer.values, F.one_hot(task.train_labels, len(task.base)).float())


def test_mma_in_the_comparison_is_the_products_training():
    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.training import fit_features

    task = synthetic_task(seed=9)
    config = TrainConfig(epochs=15, patience=0)
    fitted = build_method("mma", training=config).fit(task, seed=3)
    direct = fit_features(
        task.train_features,
        task.train_labels,
        task.base_text,
        val_image_features=task.val_features,
        val_labels=task.val_labels,
        config=TrainConfig(epochs=15, patience=0, seed=3),
        adapter_config=AdapterConfig(embed_dim=task.embed_dim, logit_scale=TAU),
    )
    x = task.test_features
    torch.testing.assert_close(fitted.scorer(x, task.class_text), direct.adapter(x, task.class_text))
    assert fitted.chosen["epoch"] == direct.best_epoch


def test_new_classes_and_test_images_choose_nothing():
    """Replacing every test image (new classes included) changes no method's chosen setting."""
    task = synthetic_task(seed=10)
    other = synthetic_task(seed=11)
    swapped = FeatureTask(
        task.train_features,
        task.train_labels,
        task.val_features,
        task.val_labels,
        other.test_features,
        other.test_labels,
        task.class_text,
        task.base,
        task.new,
        task.class_names,
        TAU,
    )
    methods = [build_method(n, training=TrainConfig(epochs=10, patience=0)) for n in DEFAULT_METHODS]
    first = run_methods(task, methods, seed=2)
    second = run_methods(swapped, methods, seed=2)
    assert [r.chosen for r in first] == [r.chosen for r in second]
    assert [r.val_acc for r in first] == [r.val_acc for r in second]


def test_summaries_give_mean_and_std_over_seeds_and_the_table_marks_the_fallback():
    task = synthetic_task(seed=12)
    methods = [build_method(n) for n in ("zero-shot", "linear-probe", "tip-adapter")]
    runs = [r for seed in (1, 2, 3) for r in run_methods(task, methods, seed=seed)]
    summaries = {s.method: s for s in summarise(runs)}
    probe = [r.base for r in runs if r.method == "linear-probe"]
    mean = sum(probe) / 3
    assert summaries["linear-probe"].base.mean == pytest.approx(mean)
    assert summaries["linear-probe"].base.std == pytest.approx(math.sqrt(sum((p - mean) ** 2 for p in probe) / 2))
    assert summaries["zero-shot"].base.std == 0.0  # nothing random in zero-shot
    # fallback methods' new accuracy is zero-shot's, seed by seed
    assert summaries["tip-adapter"].new.mean == pytest.approx(summaries["zero-shot"].new.mean)
    table = comparison_table(list(summaries.values()))
    text, markdown = table.to_text(), table.to_markdown()
    for rendered in (text, markdown):
        assert f"Linear probe {FALLBACK_MARK}" in rendered and f"Tip-Adapter {FALLBACK_MARK}" in rendered
        assert "Zero-shot CLIP " + FALLBACK_MARK not in rendered
        assert "new classes are scored zero-shot" in rendered


def test_a_shot_caches_all_classes_figure_is_not_applicable_and_the_table_says_why():
    """Tip-Adapter(-F)'s cache adds a score only cached (base) classes get: ranking base and new
    classes together measures that, so "all" is "—" with a footnote; base, new and HM stay its
    own, and the linear probe (same form for trained and text rows) keeps its "all"."""
    import dataclasses

    from mma_studio.core.evaluation import evaluate_features

    task = synthetic_task(seed=14)
    methods = [
        build_method(n, training=TrainConfig(epochs=5, patience=0))
        for n in ("zero-shot", "linear-probe", "tip-adapter", "tip-adapter-f")
    ]
    runs = {r.method: r for r in run_methods(task, methods, seed=1)}
    for name in ("tip-adapter", "tip-adapter-f"):
        tip = runs[name]
        assert tip.all is None and not tip.all_applicable
        assert tip.base is not None and tip.new == runs["zero-shot"].new and tip.hm is not None
        assert build_method(name).info.all_classes_comparable is False
    assert runs["linear-probe"].all is not None and runs["linear-probe"].all_applicable
    assert runs["zero-shot"].all is not None

    table = comparison_table(summarise(list(runs.values())))
    rows = {row["label"]: row for row in table.rows}
    all_column = next(c for c in table.columns if c.key == "all")
    assert table.cell_text(list(rows).index("Tip-Adapter"), all_column) == "—"
    assert table.cell_text(list(rows).index("Linear probe"), all_column) != "—"
    [note] = [n for n in table.footnotes if n.startswith("— in 'all'")]
    assert "(Tip-Adapter, Tip-Adapter-F)" in note and "not applicable" in note
    assert not any(
        n.startswith("— in 'all'")
        for n in comparison_table(summarise([runs["zero-shot"], runs["linear-probe"]])).footnotes
    )

    # Without new classes nothing is mixed: "all" is the cache's own figure again.
    closed = dataclasses.replace(task, new=[])
    keep = torch.isin(task.test_labels, torch.tensor(task.base))
    closed.test_features, closed.test_labels = task.test_features[keep], task.test_labels[keep]
    [tip] = run_methods(closed, [build_method("tip-adapter")], seed=1)
    assert tip.all_applicable and tip.all == pytest.approx(tip.base)
    fitted = build_method("tip-adapter").fit(task, seed=1)
    report = evaluate_features(
        fitted.scorer,
        task.test_features,
        task.test_labels.tolist(),
        task.class_text,
        base=task.base,
        new=task.new,
        class_names=task.class_names,
    )
    assert report.base_acc == runs["tip-adapter"].base  # the figures reported are the method's own


def test_a_cancelled_comparison_stops():
    task = synthetic_task(seed=13)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_methods(task, [build_method("linear-probe")], seed=1, token=token)
