"""The paper-style tables of a reproduction: per dataset and on average, base / new / HM per
method (mean over seeds), and the zero-shot row beside CoCoOp's published CLIP figures.

As in CoCoOp's Table 1, base and new are averaged first (over seeds, then over datasets) and
HM is the harmonic mean of those averages. Figures are percentages with two decimals.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from mma_studio.core.metrics import harmonic_mean
from mma_studio.core.protocols.reference_figures import (
    COCOOP_CLIP_CITATION,
    COCOOP_CLIP_REFERENCE,
)

AVERAGE = "Average"
ZERO_SHOT = "zero-shot"


@dataclass
class SummaryRow:
    dataset: str  # a dataset name, or "Average"
    method: str
    seeds: list[int]
    base: float  # percent, mean over seeds (over datasets for the average)
    new: float
    hm: float  # harmonic mean of `base` and `new`
    base_std: float | None = None  # over seeds (None with one seed, and for the average)
    new_std: float | None = None
    datasets: int = 1  # how many datasets an average row covers


def _std(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def summarise(cells: Sequence[dict], datasets: Sequence[str], methods: Sequence[str]) -> list[SummaryRow]:
    """One row per (dataset, method) with results, in the given orders, then one average row
    per method over the datasets it has results for."""
    rows: list[SummaryRow] = []
    for dataset in datasets:
        for method in methods:
            mine = sorted(
                (
                    c
                    for c in cells
                    if c["dataset"] == dataset
                    and c["method"] == method
                    and c.get("base") is not None
                    and c.get("new") is not None
                ),
                key=lambda c: c["seed"],
            )
            if not mine:
                continue
            base = [100 * c["base"] for c in mine]
            new = [100 * c["new"] for c in mine]
            mean_base, mean_new = statistics.fmean(base), statistics.fmean(new)
            rows.append(
                SummaryRow(
                    dataset,
                    method,
                    [c["seed"] for c in mine],
                    mean_base,
                    mean_new,
                    harmonic_mean(mean_base, mean_new) or 0.0,
                    _std(base),
                    _std(new),
                )
            )
    for method in methods:
        per_dataset = [r for r in rows if r.method == method]
        if not per_dataset:
            continue
        average_base = statistics.fmean(r.base for r in per_dataset)
        average_new = statistics.fmean(r.new for r in per_dataset)
        seeds = sorted({s for r in per_dataset for s in r.seeds})
        rows.append(
            SummaryRow(
                AVERAGE,
                method,
                seeds,
                average_base,
                average_new,
                harmonic_mean(average_base, average_new) or 0.0,
                datasets=len(per_dataset),
            )
        )
    return rows


def reference_for(dataset: str, rows: Sequence[SummaryRow]) -> tuple[float, float, float] | None:
    """CoCoOp's CLIP figures for a dataset; for the average, over the same datasets as ours
    (the published average itself when all 11 are there)."""
    if dataset != AVERAGE:
        return COCOOP_CLIP_REFERENCE.get(dataset)
    covered = [r.dataset for r in rows if r.method == ZERO_SHOT and r.dataset != AVERAGE]
    if not covered or any(d not in COCOOP_CLIP_REFERENCE for d in covered):
        return None
    if len(covered) == len(COCOOP_CLIP_REFERENCE) - 1:
        return COCOOP_CLIP_REFERENCE[AVERAGE]
    base = statistics.fmean(COCOOP_CLIP_REFERENCE[d][0] for d in covered)
    new = statistics.fmean(COCOOP_CLIP_REFERENCE[d][1] for d in covered)
    return base, new, harmonic_mean(base, new) or 0.0


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _row_label(row: SummaryRow) -> str:
    return f"{AVERAGE} ({row.datasets})" if row.dataset == AVERAGE else row.dataset


def markdown_table(
    rows: Sequence[SummaryRow], methods: Sequence[str], labels: dict[str, str], header: str, notes: Sequence[str] = ()
) -> str:
    lines = ["# Base-to-new generalisation", "", header, ""]
    methods = [m for m in methods if any(r.method == m for r in rows)]
    if not methods:
        return "\n".join([*lines, "No results yet.", ""])
    title = ["Dataset"] + [f"{labels.get(m, m)} {part}" for m in methods for part in ("base", "new", "HM")]
    lines += ["| " + " | ".join(title) + " |", "|" + "---|" * len(title)]
    by_key = {(r.dataset, r.method): r for r in rows}
    for dataset in dict.fromkeys(r.dataset for r in rows):
        cells = []
        label = dataset
        for method in methods:
            row = by_key.get((dataset, method))
            if row is not None:
                label = _row_label(row)
            cells += [_fmt(row.base), _fmt(row.new), _fmt(row.hm)] if row else ["", "", ""]
        if dataset == AVERAGE:
            label = f"**{label}**"
        lines.append("| " + " | ".join([label, *cells]) + " |")
    lines += [""] + [f"- {note}" for note in notes]
    zero_rows = [r for r in rows if r.method == ZERO_SHOT]
    if zero_rows:
        lines += [
            "",
            "## Zero-shot CLIP here and as published",
            "",
            "| Dataset | base | published | Δ | new | published | Δ | HM | published | Δ |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in zero_rows:
            reference = reference_for(row.dataset, rows)
            figures = []
            for ours, index in ((row.base, 0), (row.new, 1), (row.hm, 2)):
                published = reference[index] if reference else None
                figures += [_fmt(ours), _fmt(published), "" if published is None else f"{ours - published:+.2f}"]
            lines.append("| " + " | ".join([_row_label(row), *figures]) + " |")
        lines += ["", f"Published: {COCOOP_CLIP_CITATION}."]
    return "\n".join(lines) + "\n"


CSV_FIELDS = (
    "dataset",
    "method",
    "label",
    "seeds",
    "datasets",
    "base",
    "new",
    "hm",
    "base_std",
    "new_std",
    "published_base",
    "published_new",
    "published_hm",
)


def csv_table(rows: Sequence[SummaryRow], labels: dict[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        reference = reference_for(row.dataset, rows) if row.method == ZERO_SHOT else None
        writer.writerow(
            [
                row.dataset,
                row.method,
                labels.get(row.method, row.method),
                " ".join(map(str, row.seeds)),
                row.datasets,
                _fmt(row.base),
                _fmt(row.new),
                _fmt(row.hm),
                _fmt(row.base_std),
                _fmt(row.new_std),
                *(_fmt(v) for v in (reference or (None, None, None))),
            ]
        )
    return buffer.getvalue()


def json_table(rows: Sequence[SummaryRow], labels: dict[str, str]) -> list[dict]:
    out = []
    for row in rows:
        item = {**asdict(row), "label": labels.get(row.method, row.method)}
        if row.method == ZERO_SHOT:
            reference = reference_for(row.dataset, rows)
            item["published"] = (
                dict(zip(("base", "new", "hm"), reference), source=COCOOP_CLIP_CITATION) if reference else None
            )
        out.append(item)
    return out
