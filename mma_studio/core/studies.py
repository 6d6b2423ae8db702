"""The MMA paper's ablation studies, on any dataset: each a named study with a table and a chart.

- `adapt`: MMA adapting the text side only, the image side only, or both (its ablation of
  text adaptation), beside zero-shot CLIP;
- `class-share`: the share of classes used as base from 10% to 90% (its Figure 3), base and
  new accuracy per share;
- `noise`: Gaussian noise (std 0.3 on the normalised pixels) on the *test* images (its
  Figure 4), MMA against CLIP-Adapter; training images stay clean, as in the paper.

All of them run through `comparison.run_methods` on the product's cached features, so the
rules of the comparison hold here too (base validation chooses, new classes never do).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mma_studio.core.cancellation import CancelToken
from mma_studio.core.chart_data import Chart, GroupedBars, Lines, Series
from mma_studio.core.comparison import (
    FALLBACK_MARK,
    FALLBACK_NOTE,
    MethodRun,
    PreparedDataset,
    build_methods,
    comparison_chart,
    comparison_table,
    run_methods,
    summarise,
)
from mma_studio.core.comparison_names import STUDIES
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.noisy_inputs import DEFAULT_NOISE_STD, noisy_backbone
from mma_studio.core.result_table import Column, ResultTable, Statistic
from mma_studio.core.split import SplitError

STUDY_METHODS = {
    "adapt": ("zero-shot", "mma-text", "mma-image", "mma"),
    "class-share": ("zero-shot", "mma"),
    "noise": ("zero-shot", "clip-adapter", "mma"),
}
CLASS_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class StudyResult:
    study: str
    dataset: str
    settings: dict
    methods: list[str]
    seeds: list[int]
    runs: list[MethodRun]
    table: ResultTable
    chart: Chart
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "study": self.study,
            "dataset": self.dataset,
            "settings": self.settings,
            "methods": self.methods,
            "seeds": self.seeds,
            "notes": list(self.notes),
            "table": self.table.to_dict(),
            "runs": [r.to_dict() for r in self.runs],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def run_study(
    study: str,
    scan,
    settings,
    seeds: Sequence[int] = (1, 2, 3),
    *,
    methods: Sequence[str] | None = None,
    shares: Sequence[float] = CLASS_SHARES,
    noise_std: float = DEFAULT_NOISE_STD,
    backbone=None,
    cache=None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
    fixes=None,
) -> StudyResult:
    """Run the named study on a scanned folder with `settings` (a pipeline `RunSettings`)."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from {', '.join(STUDIES)}")
    if not seeds:
        raise ValueError("at least one seed is needed")
    names = list(methods or STUDY_METHODS[study])
    built = build_methods(names, settings)
    data = PreparedDataset(
        scan, settings, backbone=backbone, cache=cache, on_progress=on_progress, token=token, fixes=fixes
    )
    runners: dict[str, Callable[..., tuple]] = {"adapt": _adapt, "class-share": _class_share, "noise": _noise}
    runner = runners[study]
    options: dict = {"shares": list(shares)} if study == "class-share" else {}
    if study == "noise":
        options = {"noise_std": noise_std}
    runs, table, chart, notes = runner(data, built, list(seeds), on_progress, token, **options)
    if on_progress:
        on_progress(Progress("compare", 1, 1, message="Done"))
    describe = {**data.describe(), **options}
    return StudyResult(study, str(scan.root), describe, names, list(seeds), runs, table, chart, notes + data.warnings)


def _cells(total: int, on_progress):
    done = [0]

    def step(message: str) -> None:
        if on_progress:
            on_progress(Progress("compare", done[0], total, message=message))
        done[0] += 1

    return step


def _adapt(data, methods, seeds, on_progress, token):
    step = _cells(len(seeds) * len(methods), on_progress)
    runs: list[MethodRun] = []
    for seed in seeds:
        task = data.task(data.split(seed))
        for method in methods:
            step(f"{method.info.label} · seed {seed}")
            runs += run_methods(task, [method], seed, dataset=str(data.scan.root), on_progress=on_progress, token=token)
    summaries = summarise(runs)
    table = comparison_table(summaries, "MMA adapting text only, image only or both")
    return runs, table, comparison_chart(summaries, "Which side MMA adapts"), []


def _class_share(data, methods, seeds, on_progress, token, shares):
    step = _cells(len(shares) * len(seeds) * len(methods), on_progress)
    runs: list[MethodRun] = []
    notes: list[str] = []
    for share in shares:
        for seed in seeds:
            try:
                split = data.split(seed, base_ratio=share)
            except SplitError as exc:
                notes.append(f"{100 * share:.0f}% base skipped: {exc}")
                for _ in methods:
                    step(f"{100 * share:.0f}% base skipped")
                break
            task = data.task(split)
            actual = len(split.base) / len(split.classes)
            for method in methods:
                step(f"{100 * share:.0f}% base · {method.info.label} · seed {seed}")
                runs += run_methods(
                    task,
                    [method],
                    seed,
                    dataset=str(data.scan.root),
                    conditions={"base_share": share, "base_classes": len(split.base), "actual_share": round(actual, 4)},
                    on_progress=on_progress,
                    token=token,
                )
    table = ResultTable(
        "Base and new accuracy by the share of classes used as base",
        [
            Column("share", "base share", "text"),
            Column("label", "method", "text"),
            Column("classes", "base/all", "text"),
            Column("base", "base %", mark_winner=False),
            Column("new", "new %", mark_winner=False),
            Column("hm", "HM %", mark_winner=False),
        ],
    )
    x: list = []
    per_method: dict[str, dict[str, list]] = {m.info.name: {"base": [], "new": []} for m in methods}
    total_classes = len(data.scan.classes)
    for share in shares:
        group = [r for r in runs if r.conditions.get("base_share") == share]
        if not group:
            continue
        x.append(share)
        for summary in summarise(group):
            base_classes = next(r.conditions["base_classes"] for r in group if r.method == summary.method)
            table.add_row(
                {
                    "share": f"{100 * share:.0f}%",
                    "label": summary.label,
                    "classes": f"{base_classes}/{total_classes}",
                    "base": summary.base,
                    "new": summary.new,
                    "hm": summary.hm,
                },
                FALLBACK_MARK if summary.new_is_zero_shot else "",
            )
            per_method[summary.method]["base"].append(summary.base)
            per_method[summary.method]["new"].append(summary.new)
    table.footnotes.append(
        "base classes = the first ceil(share × N) by name (at least 2); "
        f"mean ± std over seeds {', '.join(map(str, seeds))}"
    )
    if any(not m.info.can_score_unseen_classes for m in methods):
        table.footnotes.append(FALLBACK_NOTE)
    series, dashed = [], []
    for method in methods:
        for key in ("base", "new"):
            stats: list[Statistic] = per_method[method.info.name][key]
            name = f"{method.info.label} {key}"
            series.append(Series(name, [s.mean for s in stats], [s.std for s in stats]))
            if method.info.name == "zero-shot":
                dashed.append(name)
    chart = Lines(
        "Accuracy by the share of base classes", x, series, x_label="share of classes used as base", dashed=dashed
    )
    return runs, table, chart, notes


def _noise(data, methods, seeds, on_progress, token, noise_std):
    from mma_studio.core.pipeline import FeatureTable

    noisy_table = FeatureTable(noisy_backbone(data.backbone, noise_std), data.cache, on_progress, token)
    step = _cells(len(seeds) * len(methods), on_progress)
    runs: list[MethodRun] = []
    for seed in seeds:
        split = data.split(seed)
        clean = data.task(split)
        noisy = data.task(split, test_table=noisy_table)
        if noisy.test_features.shape[0] != clean.test_features.shape[0]:
            raise SplitError("some test images could be read clean but not with noise added")
        for method in methods:
            step(f"{method.info.label} · seed {seed}")
            runs += run_methods(
                clean,
                [method],
                seed,
                dataset=str(data.scan.root),
                other_tests={"noisy": noisy.test_features.to(clean.test_features.device)},
                conditions={"noise_std": noise_std},
                on_progress=on_progress,
                token=token,
            )
    table = ResultTable(
        f"Gaussian noise (std {noise_std:g}) on the test images",
        [
            Column("label", "method", "text"),
            Column("base", "base %"),
            Column("new", "new %"),
            Column("hm", "HM %"),
            Column("noisy_base", "noisy base %"),
            Column("noisy_new", "noisy new %"),
            Column("noisy_hm", "noisy HM %"),
            Column("hm_drop", "HM drop", mark_winner=True, higher_is_better=False),
        ],
    )
    labels, clean_hm, noisy_hm = [], [], []
    for summary in summarise(runs):
        mine = [r for r in runs if r.method == summary.method]
        noisy_stats = {key: Statistic.of(r.other_tests["noisy"][key] for r in mine) for key in ("base", "new", "hm")}
        drop = Statistic.of(
            (r.hm - r.other_tests["noisy"]["hm"])
            if r.hm is not None and r.other_tests["noisy"]["hm"] is not None
            else None
            for r in mine
        )
        table.add_row(
            {
                "label": summary.label,
                "base": summary.base,
                "new": summary.new,
                "hm": summary.hm,
                "noisy_base": noisy_stats["base"],
                "noisy_new": noisy_stats["new"],
                "noisy_hm": noisy_stats["hm"],
                "hm_drop": drop,
            },
            FALLBACK_MARK if summary.new_is_zero_shot else "",
        )
        labels.append(summary.label)
        clean_hm.append(summary.hm)
        noisy_hm.append(noisy_stats["hm"])
    table.footnotes.append(
        f"noise N(0, {noise_std:g}²) on the normalised pixels of the test images; training "
        f"images clean; mean ± std over seeds {', '.join(map(str, seeds))}"
    )
    if any(not m.info.can_score_unseen_classes for m in methods):
        table.footnotes.append(FALLBACK_NOTE)
    chart = GroupedBars(
        f"HM on clean and noisy test images (std {noise_std:g})",
        labels,
        [
            Series("clean HM", [s.mean for s in clean_hm], [s.std for s in clean_hm]),
            Series("noisy HM", [s.mean for s in noisy_hm], [s.std for s in noisy_hm]),
        ],
    )
    return runs, table, chart, []


__all__ = ["CLASS_SHARES", "STUDIES", "STUDY_METHODS", "StudyResult", "run_study"]
