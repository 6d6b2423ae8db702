"""What the data doctor reports: findings, each with its images, a score and a plain sentence.

A finding is data, not advice text, so the CLI (`check --deep --json`), the app's Health view
and the tests read the same thing. Its `key` names it across runs (kind + files), so a
finding the user chose to keep stays dismissed in the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DUPLICATE = "duplicate"  # copies within one class, all in one set of the split
CONFLICT = "conflict"  # copies filed under different classes: which label is right?
LEAK = "leak"  # copies across training / validation / test: inflates every figure
LABEL = "label"  # the image looks like another class than its folder says
OUTLIER = "outlier"  # far from every class
SPREAD = "spread"  # a class whose images spread much more widely than the others'

KIND_ORDER = (CONFLICT, LEAK, LABEL, DUPLICATE, OUTLIER, SPREAD)
KIND_TITLES = {
    CONFLICT: "Same image in different classes",
    LEAK: "Same image in training and test",
    LABEL: "Likely label errors",
    DUPLICATE: "Duplicates within a class",
    OUTLIER: "Outliers",
    SPREAD: "Widely spread classes",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    paths: tuple[Path, ...]
    classes: tuple[str, ...]  # the class id of each path (SPREAD: the class, once per path)
    score: float  # 0..1, higher is surer (or worse); findings of a kind are ranked by it
    message: str
    suggested_class: str | None = None  # LABEL: the class the image looks like
    sets: tuple[str, ...] = ()  # LEAK and duplicates: the split set of each path ("train", ...)
    exact: bool = False  # byte-identical (or the same file), not merely similar

    @property
    def key(self) -> str:
        """Stable across runs: the kind and the files (what a dismissal remembers)."""
        return finding_key(self.kind, self.paths)

    def to_dict(self) -> dict:
        data = {
            "kind": self.kind,
            "key": self.key,
            "score": round(float(self.score), 4),
            "message": self.message,
            "paths": [str(p) for p in self.paths],
            "classes": list(self.classes),
        }
        if self.suggested_class is not None:
            data["suggested_class"] = self.suggested_class
        if self.sets:
            data["sets"] = list(self.sets)
        if self.kind in (DUPLICATE, CONFLICT, LEAK):
            data["exact"] = self.exact
        return data


def finding_key(kind: str, paths) -> str:
    return kind + ":" + "|".join(sorted(str(p) for p in paths))


@dataclass
class DataHealthReport:
    findings: list[Finding]
    image_count: int
    class_count: int
    seconds: float = 0.0
    label_source: str = ""  # "adapter (out-of-fold)" or "zero-shot"
    thresholds: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # checks skipped and why

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of_kind(kind)) for kind in KIND_ORDER}

    def without(self, keys: set[str] | frozenset[str]) -> DataHealthReport:
        """The report less the findings the user kept (dismissed)."""
        return DataHealthReport(
            [f for f in self.findings if f.key not in keys],
            self.image_count,
            self.class_count,
            self.seconds,
            self.label_source,
            dict(self.thresholds),
            list(self.notes),
        )

    def to_dict(self) -> dict:
        return {
            "image_count": self.image_count,
            "class_count": self.class_count,
            "seconds": round(self.seconds, 3),
            "label_source": self.label_source,
            "thresholds": dict(self.thresholds),
            "notes": list(self.notes),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
        }
