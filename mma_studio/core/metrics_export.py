"""Metrics of a run as files: a JSON report and the confusion matrix as CSV."""

from __future__ import annotations

import csv
import io
import json

from mma_studio.core.metrics import EvaluationReport


def metrics_report(zero_shot: EvaluationReport, adapted: EvaluationReport, extra: dict | None = None) -> dict:
    return {
        "zero_shot": zero_shot.headline(),
        "adapted": adapted.headline(),
        "per_class": {
            "zero_shot": [m.to_dict() for m in zero_shot.per_class],
            "adapted": [m.to_dict() for m in adapted.per_class],
        },
        **(extra or {}),
    }


def metrics_json(zero_shot: EvaluationReport, adapted: EvaluationReport, extra: dict | None = None) -> str:
    def clean(value):
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(metrics_report(zero_shot, adapted, extra)), indent=2, ensure_ascii=False)


def confusion_csv(report: EvaluationReport) -> str:
    """Rows: true class; columns: predicted class; cells: image counts."""
    names = report.display_names or report.class_names
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["true \\ predicted", *names])
    if report.confusion is not None:
        for name, row in zip(names, report.confusion.tolist()):
            writer.writerow([name, *row])
    return buffer.getvalue()
