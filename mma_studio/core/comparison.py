"""Methods × seeds on one dataset's cached features: the evidence behind "which adapter?".

Every method sees the same split (per seed), the same cached features and the same
base-validation rule for its epoch or setting; new classes and test images choose nothing.
Seeds vary both the k-shot sample and the training initialisation, as in the paper.

Two entry points:
- `compare_methods(scan, settings, methods, seeds)`: a scanned image folder, as the CLI's
  `compare` and the app's "Compare methods" run it (extraction goes through the feature cache);
- `run_methods(task, methods, seed)`: one prepared `FeatureTask` (for runners that build
  their own splits, e.g. the paper's datasets), then `summarise(runs)` for mean ± std.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from mma_studio.core.cancellation import Cancelled, CancelToken, check
from mma_studio.core.chart_data import GroupedBars, Series
from mma_studio.core.cpu_threads import adapter_training_threads, torch_threads
from mma_studio.core.evaluation import evaluate_features
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.methods import (
    ALL_METHODS,
    DEFAULT_METHODS,
    FeatureTask,
    Method,
    build_method,
)
from mma_studio.core.result_table import Column, ResultTable, Statistic

FALLBACK_MARK = "†"
FALLBACK_NOTE = (
    f"{FALLBACK_MARK} cannot score classes it never trained on: new classes are scored zero-shot "
    "(in 'all', against its trained base-class scores)"
)


def no_all_note(labels: Sequence[str]) -> str:
    """Why "all" is "—" for these methods (Tip-Adapter's, see `core/methods/tip_adapter.py`)."""
    return (
        f"— in 'all' ({', '.join(labels)}): not applicable: a shot cache adds a score only the classes it holds "
        "shots of can get, so ranking base and new classes together would measure that imbalance, not the "
        "method; its base, new and HM are its own"
    )


@dataclass
class MethodRun:
    """One method on one seed's split."""

    method: str
    label: str
    seed: int
    base: float | None
    new: float | None
    hm: float | None
    all: float | None
    train_s: float
    trainable_params: int
    new_is_zero_shot: bool  # the method fell back to zero-shot CLIP on the new classes
    chosen: dict = field(default_factory=dict)  # what base validation chose (epoch, alpha, beta)
    all_applicable: bool = True  # False: "all" is None because the method's scores are not on one scale
    val_acc: float | None = None
    dataset: str = ""
    conditions: dict = field(default_factory=dict)  # what a study varied, e.g. {"base_share": 0.3}
    other_tests: dict = field(default_factory=dict)  # name -> {"base", "new", "hm", "all"} on another test set

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class MethodSummary:
    """One method over all seeds: mean ± std of every figure."""

    method: str
    label: str
    new_is_zero_shot: bool
    seeds: list[int]
    base: Statistic
    new: Statistic
    hm: Statistic
    all: Statistic
    train_s: Statistic
    trainable_params: int
    all_applicable: bool = True

    def to_dict(self) -> dict:
        data = {
            "method": self.method,
            "label": self.label,
            "new_is_zero_shot": self.new_is_zero_shot,
            "all_applicable": self.all_applicable,
            "seeds": list(self.seeds),
            "trainable_params": self.trainable_params,
        }
        for key in ("base", "new", "hm", "all", "train_s"):
            data[key] = getattr(self, key).to_dict()
        return data


def summarise(runs: Sequence[MethodRun]) -> list[MethodSummary]:
    """Mean ± std per method, in the order the methods first appear in `runs`."""
    order = list(dict.fromkeys(r.method for r in runs))
    summaries = []
    for name in order:
        mine = [r for r in runs if r.method == name]
        summaries.append(
            MethodSummary(
                method=name,
                label=mine[0].label,
                new_is_zero_shot=mine[0].new_is_zero_shot,
                seeds=[r.seed for r in mine],
                **{key: Statistic.of(getattr(r, key) for r in mine) for key in ("base", "new", "hm", "all", "train_s")},
                trainable_params=max(r.trainable_params for r in mine),
                all_applicable=all(r.all_applicable for r in mine),
            )
        )
    return summaries


def comparison_table(
    summaries: Sequence[MethodSummary], title: str = "Methods on the same cached features"
) -> ResultTable:
    """Base / new / HM / all, training time and trainable parameters per method."""
    table = ResultTable(
        title,
        [
            Column("label", "method", "text"),
            Column("base", "base %"),
            Column("new", "new %"),
            Column("hm", "HM %"),
            Column("all", "all %"),
            Column("train_s", "train time", "seconds", mark_winner=False),
            Column("trainable_params", "params", "count", mark_winner=False),
        ],
    )
    for summary in summaries:
        table.add_row(
            {
                "label": summary.label,
                "base": summary.base,
                "new": summary.new,
                "hm": summary.hm,
                "all": summary.all,
                "train_s": summary.train_s,
                "trainable_params": summary.trainable_params,
            },
            FALLBACK_MARK if summary.new_is_zero_shot else "",
        )
    if any(s.new_is_zero_shot for s in summaries):
        table.footnotes.append(FALLBACK_NOTE)
    if not all(s.all_applicable for s in summaries):
        table.footnotes.append(no_all_note([s.label for s in summaries if not s.all_applicable]))
    seeds = sorted({seed for s in summaries for seed in s.seeds})
    if seeds:
        table.footnotes.append(
            f"mean ± std over seeds {', '.join(map(str, seeds))}; each method's epoch or "
            "setting chosen on base validation only"
        )
    return table


def run_methods(
    task: FeatureTask,
    methods: Sequence[Method],
    seed: int,
    *,
    dataset: str = "",
    conditions: dict | None = None,
    other_tests: dict[str, torch.Tensor] | None = None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> list[MethodRun]:
    """Fit and score each method on `task`; raises `Cancelled` if cancelled (no partial method).

    `other_tests` maps a name to test features of the *same* test images (rows aligned with
    `task.test_labels`, e.g. the images with noise added): each fitted method is scored on
    them too, and the figures land in `MethodRun.other_tests[name]`.
    """
    runs = []
    threads = adapter_training_threads() if task.class_text.device.type == "cpu" else 10**6
    labels = task.test_labels.tolist()
    for method in methods:
        check(token)
        started = time.perf_counter()
        with torch_threads(threads):
            fitted = method.fit(task, seed=seed, on_progress=on_progress, token=token)
        elapsed = time.perf_counter() - started
        if fitted.cancelled:
            raise Cancelled()
        score = functools.partial(
            evaluate_features,
            fitted.scorer,
            labels=labels,
            text_features=task.class_text,
            base=task.base,
            new=task.new,
            class_names=task.class_names,
        )
        report = score(task.test_features)
        # Trained and zero-shot scores on different scales: "all" would measure the imbalance.
        comparable = method.info.all_classes_comparable or not task.new
        others = {}
        for name, features in (other_tests or {}).items():
            if features.shape[0] != len(labels):
                raise ValueError(f"test set {name!r} has {features.shape[0]} rows for {len(labels)} test labels")
            others[name] = {**score(features).headline(), **({} if comparable else {"all": None})}
        runs.append(
            MethodRun(
                method=method.info.name,
                label=method.info.label,
                seed=seed,
                base=report.base_acc,
                new=report.new_acc,
                hm=report.hm,
                all=report.all_acc if comparable else None,
                train_s=elapsed,
                trainable_params=fitted.trainable_params,
                new_is_zero_shot=not method.info.can_score_unseen_classes and bool(task.new),
                chosen=dict(fitted.chosen),
                all_applicable=comparable,
                val_acc=fitted.val_acc,
                dataset=dataset,
                conditions=dict(conditions or {}),
                other_tests=others,
            )
        )
    return runs


# --------------------------------------------------------------------------- image folders


@dataclass
class ComparisonResult:
    """Every (method, seed) run on one dataset and their summaries; `to_json` for files and --json."""

    dataset: str
    settings: dict  # backbone, shots, validation images, base ratio, templates
    methods: list[str]
    seeds: list[int]
    runs: list[MethodRun]
    counts: dict = field(default_factory=dict)  # per seed: train / val / test_base / test_new
    warnings: list[str] = field(default_factory=list)

    @property
    def summaries(self) -> list[MethodSummary]:
        return summarise(self.runs)

    def table(self) -> ResultTable:
        return comparison_table(self.summaries, f"Methods on {self.dataset}")

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "settings": self.settings,
            "methods": list(self.methods),
            "seeds": list(self.seeds),
            "counts": self.counts,
            "warnings": list(self.warnings),
            "summaries": [s.to_dict() for s in self.summaries],
            "runs": [r.to_dict() for r in self.runs],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def task_from_split(
    split, table, text_features: torch.Tensor, logit_scale: float, *, augment_views: int = 0, test_table=None
) -> FeatureTask:
    """A `FeatureTask` from a `DatasetSplit` whose images `table` (a pipeline `FeatureTable`) has
    extracted; `test_table` gives the test features from another table (e.g. noisy images)."""
    test_table = test_table or table
    train_features, train_samples = table.training_features(split.train, augment_views)
    val_features, val_samples = table.stack(split.val)
    test_features, test_samples = test_table.stack(split.test_base + split.test_new)
    return FeatureTask(
        train_features=train_features,
        train_labels=torch.tensor(split.local_labels(train_samples, "base")),
        val_features=val_features,
        val_labels=torch.tensor(split.local_labels(val_samples, "base"), dtype=torch.long),
        test_features=test_features,
        test_labels=torch.tensor([s.class_index for s in test_samples], dtype=torch.long),
        class_text=text_features,
        base=list(split.base),
        new=list(split.new),
        class_names=list(split.classes),
        logit_scale=logit_scale,
    )


class PreparedDataset:
    """A scanned folder with its backbone, cache and class prompts: splits and their features on demand."""

    def __init__(self, scan, settings, *, backbone=None, cache=None, on_progress=None, token=None, fixes=None) -> None:
        from mma_studio.core.features import encode_class_texts
        from mma_studio.core.pipeline import FeatureTable, backbone_and_cache, build_split, prompt_names_for

        backbone, cache = backbone_and_cache(settings, backbone, cache, on_progress, token)
        self.scan, self.settings, self.backbone, self.cache = scan, settings, backbone, cache
        self.on_progress, self.token = on_progress, token
        self.fixes = fixes  # the project's exclusions and class moves (`DataFixes`), as training applies them
        self.table = FeatureTable(backbone, cache, on_progress, token)
        self._build_split, self._prompt_names_for, self._encode = build_split, prompt_names_for, encode_class_texts

    def split(self, seed: int, **changes):
        """The split of `settings` with this seed (and e.g. another `base_ratio`)."""
        from mma_studio.core.pipeline import check_trainable

        split = self._build_split(self.scan, dataclasses.replace(self.settings, seed=seed, **changes), self.fixes)
        check_trainable(split)
        return split

    def task(self, split, test_table=None) -> FeatureTask:
        names = self._prompt_names_for(split, self.settings.display_names)
        text = self._encode(self.backbone, names, tuple(self.settings.templates), cache=self.cache)
        self.table.extract_split(split, self.settings.augment_views)
        if test_table is not None:
            test_table.extract([s.path for s in split.test_base + split.test_new], 0, "noisy test images")
        check(self.token)
        task = task_from_split(
            split,
            self.table,
            text,
            self.backbone.logit_scale,
            augment_views=self.settings.augment_views,
            test_table=test_table,
        )
        return task.to(self.backbone.device)

    def describe(self) -> dict:
        s = self.settings
        return {
            "model": s.model,
            "pretrained": s.pretrained,
            "backbone": self.backbone.describe(),
            "shots": s.shots,
            "val_per_class": s.val_per_class,
            "base_ratio": s.base_ratio,
            "templates": list(s.templates),
            "augment_views": s.augment_views,
        }

    @property
    def warnings(self) -> list[str]:
        return list(self.table.warnings) + [f"skipped {p}: {r}" for p, r in self.table.failed.items()]


def build_methods(names: Sequence[str], settings) -> list[Method]:
    """Methods by name; the MMA variants take the run's adapter and training settings."""
    unknown = [n for n in names if n not in ALL_METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(ALL_METHODS)}")
    return [build_method(n, adapter=settings.adapter, training=settings.training) for n in names]


def compare_methods(
    scan,
    settings,
    methods: Sequence[str] = DEFAULT_METHODS,
    seeds: Sequence[int] = (1, 2, 3),
    *,
    backbone=None,
    cache=None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
    fixes=None,
) -> ComparisonResult:
    """Run `methods` × `seeds` on a scanned folder with `settings` (a pipeline `RunSettings`).

    Emits `Progress("compare", done, total)` per (seed, method) cell besides the extraction
    and training progress; raises `Cancelled` when cancelled. `fixes` (`DataFixes`): the
    project's exclusions and class moves, applied to every split as training applies them.
    """
    if not seeds:
        raise ValueError("at least one seed is needed")
    built = build_methods(list(methods), settings)
    data = PreparedDataset(
        scan, settings, backbone=backbone, cache=cache, on_progress=on_progress, token=token, fixes=fixes
    )
    total = len(seeds) * len(built)
    runs: list[MethodRun] = []
    counts = {}
    for seed in seeds:
        split = data.split(seed)
        counts[str(seed)] = split.counts()
        task = data.task(split)
        for method in built:
            if on_progress:
                on_progress(Progress("compare", len(runs), total, message=f"{method.info.label} · seed {seed}"))
            runs.extend(run_methods(task, [method], seed, dataset=str(scan.root), on_progress=on_progress, token=token))
    if on_progress:
        on_progress(Progress("compare", total, total, message="Done"))
    return ComparisonResult(
        dataset=str(scan.root),
        settings=data.describe(),
        methods=list(methods),
        seeds=list(seeds),
        runs=runs,
        counts=counts,
        warnings=data.warnings,
    )


def comparison_chart(summaries: Sequence[MethodSummary], title: str = "Base / new / HM per method") -> GroupedBars:
    """Base, new and HM bars per trained method, zero-shot CLIP as dashed lines, the best bar of each marked."""
    trained = [s for s in summaries if s.method != "zero-shot"] or list(summaries)
    reference = next((s for s in summaries if s.method == "zero-shot"), None)
    series = []
    for key, name in (("base", "base"), ("new", "new"), ("hm", "HM")):
        series.append(Series(name, [getattr(s, key).mean for s in trained], [getattr(s, key).std for s in trained]))
    winners = {}
    for s in series:
        present = [(v, i) for i, v in enumerate(s.values) if v is not None]
        if len(present) > 1:
            best = max(v for v, _ in present)
            winners[s.name] = min(i for v, i in present if v == best)  # ties: the first listed
    groups = [s.label + (f" {FALLBACK_MARK}" if s.new_is_zero_shot else "") for s in trained]
    references = []
    if reference is not None:
        references = [
            (name, getattr(reference, key).mean)
            for key, name in (("base", "base"), ("new", "new"), ("hm", "HM"))
            if getattr(reference, key).mean is not None
        ]
    return GroupedBars(title=title, groups=groups, series=series, references=references, winners=winners)
