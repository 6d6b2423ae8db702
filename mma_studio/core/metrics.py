"""Accuracy, harmonic mean, per-class figures and the confusion matrix of the base-to-new protocol.

Base accuracy is measured with base prompts only, new accuracy with new prompts only (classes
never seen in training), and HM = 2bn/(b+n) summarises the trade-off. "All" classifies every
test image among all classes together, which is harder than either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def accuracy(predictions, labels) -> float:
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    return float((predictions == labels).mean())


def harmonic_mean(base: float | None, new: float | None) -> float | None:
    if base is None or new is None or np.isnan(base) or np.isnan(new):
        return None
    if base + new == 0:
        return 0.0
    return 2 * base * new / (base + new)


def confusion_matrix(predictions, labels, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes (counts)."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)), 1)
    return matrix


@dataclass
class ClassMetrics:
    name: str
    display_name: str
    role: str  # "base" or "new"
    count: int
    accuracy: float  # within its own group's prompts (base or new)
    precision: float  # from the all-classes confusion matrix
    recall: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def per_class_metrics(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall per class from a confusion matrix (NaN where undefined)."""
    matrix = matrix.astype(np.float64)
    true_positive = np.diag(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = true_positive / matrix.sum(axis=0)
        recall = true_positive / matrix.sum(axis=1)
    return precision, recall


@dataclass
class EvaluationReport:
    """Figures for one model (zero-shot CLIP or CLIP + adapter) on the test sets."""

    base_acc: float | None
    new_acc: float | None
    hm: float | None
    all_acc: float | None
    class_names: list[str] = field(default_factory=list)
    display_names: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    per_class: list[ClassMetrics] = field(default_factory=list)
    confusion: np.ndarray | None = None  # all classes together, rows = truth
    # per test image, in the order of `paths`: true and predicted class index (all-classes task)
    paths: list[str] = field(default_factory=list)
    true_labels: list[int] = field(default_factory=list)
    predicted_labels: list[int] = field(default_factory=list)

    def headline(self) -> dict:
        return {"base": self.base_acc, "new": self.new_acc, "hm": self.hm, "all": self.all_acc}

    def to_dict(self) -> dict:
        return {
            **self.headline(),
            "per_class": [metrics.to_dict() for metrics in self.per_class],
            "class_names": list(self.class_names),
            "confusion": self.confusion.tolist() if self.confusion is not None else None,
        }


def format_percent(value: float | None) -> str:
    return "—" if value is None or np.isnan(value) else f"{100 * value:.1f}%"
