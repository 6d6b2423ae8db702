"""A table of figures with mean ± std cells and footnotes, as text, Markdown or JSON.

The comparison and every study print one of these, so the CLI, the README and the app's
table show the same cells and the same footnotes (e.g. "† new classes scored zero-shot").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Statistic:
    """Mean and sample standard deviation of one figure over seeds (std 0 for one seed)."""

    mean: float | None
    std: float | None
    count: int

    @classmethod
    def of(cls, values) -> Statistic:
        kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
        if not kept:
            return cls(None, None, 0)
        std = float(np.std(kept, ddof=1)) if len(kept) > 1 else 0.0
        return cls(float(np.mean(kept)), std, len(kept))

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std, "n": self.count}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "percent"  # "percent" (a fraction shown as %), "seconds", "count", "text"
    higher_is_better: bool = True  # which way the winner mark points; None-like for text columns
    mark_winner: bool = True


@dataclass
class ResultTable:
    """Rows of cells keyed by column; a cell is a `Statistic`, a number or text."""

    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    row_marks: list[str] = field(default_factory=list)  # footnote marks after each row's first cell
    footnotes: list[str] = field(default_factory=list)

    def add_row(self, cells: dict, mark: str = "") -> None:
        self.rows.append(cells)
        self.row_marks.append(mark)

    def winners(self) -> dict[str, set[int]]:
        """Per column, the rows with the best mean (ties share the mark); the first column never."""
        best: dict[str, set[int]] = {}
        for column in self.columns[1:]:
            if not column.mark_winner or column.kind not in ("percent",):
                continue
            means = [(i, _mean(row.get(column.key))) for i, row in enumerate(self.rows)]
            values = [(i, v) for i, v in means if v is not None]
            if len(values) < 2:
                continue
            target = max(v for _, v in values) if column.higher_is_better else min(v for _, v in values)
            best[column.key] = {i for i, v in values if abs(v - target) < 1e-9}
        return best

    def cell_text(self, row: int, column: Column, *, with_std: bool = True) -> str:
        return format_cell(self.rows[row].get(column.key), column.kind, with_std)

    def _row_texts(self, row: int, winners: dict[str, set[int]], mark_best: Callable[[str], str]) -> list[str]:
        """The row's cells: its footnote mark after the first, `mark_best` around each column's best."""
        texts = []
        for j, column in enumerate(self.columns):
            text = self.cell_text(row, column)
            if j == 0 and self.row_marks[row]:
                text += f" {self.row_marks[row]}"
            texts.append(mark_best(text) if row in winners.get(column.key, ()) else text)
        return texts

    def to_text(self) -> str:
        winners = self.winners()
        grid = [[c.title for c in self.columns]]
        grid += [self._row_texts(i, winners, lambda text: f"{text} *") for i in range(len(self.rows))]
        widths = [max(len(r[j]) for r in grid) for j in range(len(self.columns))]
        lines = [self.title, ""]
        for k, r in enumerate(grid):
            lines.append(
                "  ".join(
                    t.ljust(w) if c.kind == "text" else t.rjust(w) for t, w, c in zip(r, widths, self.columns)
                ).rstrip()
            )
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        notes = list(self.footnotes)
        if winners:
            notes.append("* best in its column (mean over seeds)")
        return "\n".join(lines + ([""] + notes if notes else []))

    def to_markdown(self) -> str:
        winners = self.winners()
        header = "| " + " | ".join(c.title for c in self.columns) + " |"
        rule = "|" + "|".join(":---" if c.kind == "text" else "---:" for c in self.columns) + "|"
        lines = [header, rule]
        for i in range(len(self.rows)):
            lines.append("| " + " | ".join(self._row_texts(i, winners, lambda text: f"**{text}**")) + " |")
        notes = list(self.footnotes) + (["**bold**: best in its column (mean over seeds)"] if winners else [])
        return "\n".join(lines + ([""] + [f"{n}  " for n in notes] if notes else []))

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "columns": [c.key for c in self.columns],
            "rows": [
                {k: (v.to_dict() if isinstance(v, Statistic) else v) for k, v in row.items()} for row in self.rows
            ],
            "footnotes": list(self.footnotes),
        }


def _mean(cell) -> float | None:
    if isinstance(cell, Statistic):
        return cell.mean
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    return None


def format_cell(cell, kind: str, with_std: bool = True) -> str:
    if cell is None:
        return "—"
    if kind == "text":
        return str(cell)
    mean, std = (cell.mean, cell.std) if isinstance(cell, Statistic) else (float(cell), None)
    if mean is None or math.isnan(mean):
        return "—"
    if kind == "percent":
        text = f"{100 * mean:.1f}"
        return text + (
            f" ± {100 * std:.1f}"
            if with_std and std is not None and isinstance(cell, Statistic) and cell.count > 1
            else ""
        )
    if kind == "seconds":
        return f"{mean:.2f} s" if mean < 10 else f"{mean:.0f} s"
    if kind == "count":
        return f"{round(mean):,}"
    return str(mean)
