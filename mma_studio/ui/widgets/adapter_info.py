"""What an adapter file says about itself, laid out for a person: where it came from, the
backbone it needs, its classes with their roles, prompt templates, figures and settings.

Every string from the file is escaped before it reaches rich text: an adapter file is user
input, and a class named `<img src=...>` must show as text.
"""

from __future__ import annotations

import datetime
import math
from html import escape
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mma_studio.ui.widgets.topk_bars import ROLE_COLORS
from mma_studio.ui.widgets.worse_than_zero_shot import is_worse

MAX_LISTED_CLASSES = 24
FIGURES = (("base", "Base"), ("new", "New"), ("hm", "HM"), ("all", "All"))
WORSE_COLOR = "#dc2626"


def _percent(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return "—"
    return f"{100 * value:.1f}%"


def _worse_figures(metrics: dict) -> list[str]:
    """The figure keys where the adapted value is below zero-shot's (the Evaluate page's rule)."""
    before, after = metrics.get("zero_shot"), metrics.get("adapted")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    worse = []
    for key, _label in FIGURES:
        a, b = after.get(key), before.get(key)
        if all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v) for v in (a, b)
        ) and is_worse(a - b):
            worse.append(key)
    return worse


def format_created(created: str) -> str:
    """An ISO timestamp as local date and time ('2026-05-09 14:03'); the raw text if unreadable."""
    if not created:
        return "unknown"
    try:
        moment = datetime.datetime.fromisoformat(created)
    except ValueError:
        return created
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def adapter_fields(adapter_file, source: str, path: Path | None = None) -> dict[str, str]:
    """Plain-text fields (for tests and tooltips): source, backbone, created, classes, templates, figures."""
    summary = adapter_file.summary()
    backbone = summary.get("backbone") or {}
    roles = [c["role"] for c in summary["classes"]]
    metrics = summary.get("metrics") or {}
    figures = []
    for key, title in (("zero_shot", "zero-shot"), ("adapted", "adapted")):
        values = metrics.get(key)
        if isinstance(values, dict):
            figures.append(f"{title}: " + ", ".join(f"{label} {_percent(values.get(k))}" for k, label in FIGURES))
    worse = _worse_figures(metrics)
    if worse:
        labels = dict(FIGURES)
        figures.append("worse than zero-shot CLIP on " + ", ".join(labels[k] for k in worse))
    adapter = summary.get("adapter") or {}
    training = summary.get("training") or {}
    return {
        "source": source if path is None else f"{source}: {path}",
        "backbone": str(backbone.get("description") or backbone.get("model_name") or "unknown"),
        "random_weights": "yes" if backbone.get("is_random") else "no",
        "created": format_created(str(summary.get("created") or "")),
        "app_version": str(summary.get("app_version") or ""),
        "classes": ", ".join(f"{c['name']} ({c['role']})" for c in summary["classes"]),
        "class_counts": f"{len(roles)} classes: {roles.count('base')} base, {roles.count('new')} new",
        "templates": " | ".join(summary.get("templates") or []),
        "metrics": "; ".join(figures),
        "adapter": (
            f"d={adapter.get('bottleneck_dim') or int(adapter.get('embed_dim', 0)) // 4}, "
            f"heads={adapter.get('heads')}, λ={adapter.get('blend')}, adapt={adapter.get('adapt')}, "
            f"mask={adapter.get('mask')}"
        ),
        "training": ", ".join(f"{k}={training[k]}" for k in ("shots", "best_epoch", "epochs_run") if k in training),
    }


def adapter_html(adapter_file, source: str, path: Path | None = None, hint_color: str = "#6b7280") -> str:
    """The rich-text card body for an adapter file (labels in `hint_color`)."""
    fields = adapter_fields(adapter_file, source, path)
    summary = adapter_file.summary()
    rows = []

    def row(label: str, value_html: str) -> None:
        rows.append(
            f'<tr><td style="padding:2px 12px 2px 0; color:{hint_color}">{escape(label)}</td>'
            f'<td style="padding:2px 0">{value_html}</td></tr>'
        )

    where = escape(source)
    if path is not None:
        where += f' · <span title="{escape(str(path))}">{escape(path.name)}</span>'
    row("Adapter", where)
    backbone = escape(fields["backbone"])
    if fields["random_weights"] == "yes":
        backbone += ' <span style="color:#b45309">(random weights: for testing only)</span>'
    row("Backbone", backbone)
    row(
        "Created",
        escape(fields["created"]) + (f" · MMA Studio {escape(fields['app_version'])}" if fields["app_version"] else ""),
    )
    classes = summary["classes"]
    listed = []
    for entry in classes[:MAX_LISTED_CLASSES]:
        color = ROLE_COLORS.get(entry["role"], "#6b7280")
        listed.append(f'<span style="color:{color}">●</span>&nbsp;{escape(entry["name"])}')
    more = len(classes) - MAX_LISTED_CLASSES
    class_html = f"{escape(fields['class_counts'])}<br>" + ", ".join(listed)
    if more > 0:
        class_html += f", … and {more} more"
    row("Classes", class_html)
    row("Prompts", "<br>".join(f"<i>{escape(t)}</i>" for t in summary.get("templates") or []))
    metrics = summary.get("metrics") or {}
    if any(isinstance(metrics.get(k), dict) for k in ("zero_shot", "adapted")):
        header = "".join(f'<th style="padding:0 5px; font-weight:600">{label}</th>' for _k, label in FIGURES)
        body = ""
        worse = _worse_figures(metrics)
        for key, title in (("zero_shot", "Zero-shot"), ("adapted", "Adapted")):
            values = metrics.get(key)
            if isinstance(values, dict):
                cells = "".join(
                    f'<td align="right" style="padding:0 5px{"; color:" + WORSE_COLOR if key == "adapted" and k in worse else ""}">'
                    f"{_percent(values.get(k))}{' ▼' if key == 'adapted' and k in worse else ''}</td>"
                    for k, _l in FIGURES
                )
                body += f"<tr><td>{title}</td>{cells}</tr>"
        note = ""
        if worse:  # said in words beside the figures: a loss against zero-shot is never hidden
            labels = dict(FIGURES)
            note = (
                f'<br><span style="color:{WORSE_COLOR}">Worse than zero-shot CLIP on '
                + ", ".join(labels[k] for k in worse)
                + "</span>"
            )
        row("Figures", f'<table cellspacing="0"><tr><th></th>{header}</tr>{body}</table>{note}')
    row("Settings", escape(fields["adapter"]) + (f"<br>{escape(fields['training'])}" if fields["training"] else ""))
    return '<table cellspacing="0">' + "".join(rows) + "</table>"


class AdapterInfo(QWidget):
    """The metadata of the adapter the demo runs (`adapterInfo`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adapterInfo")
        self.setAccessibleName("adapterInfo")
        self.label = QLabel(self)
        self.label.setObjectName("adapterInfoLabel")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self.fields: dict[str, str] = {}
        self._shown: tuple | None = None
        self.show_empty()

    def show_empty(self, text: str = "No adapter yet: train one on the Train page, or load an adapter file.") -> None:
        self.fields = {}
        self._shown = ("empty", text)
        self.label.setText(f'<span style="color:{self._hint_color()}">{escape(text)}</span>')
        self.setAccessibleDescription(text)

    def show_adapter(self, adapter_file, source: str, path: Path | None = None) -> None:
        self.fields = adapter_fields(adapter_file, source, path)
        self._shown = ("adapter", adapter_file, source, path)
        self.label.setText(adapter_html(adapter_file, source, path, self._hint_color()))
        self.setAccessibleDescription("; ".join(f"{k}: {v}" for k, v in self.fields.items()))

    def _hint_color(self) -> str:
        return self.palette().color(QPalette.ColorRole.PlaceholderText).name()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._shown is not None:
            if self._shown[0] == "empty":  # re-render: rich text holds colours, not palette roles
                self.show_empty(self._shown[1])
            else:
                self.show_adapter(*self._shown[1:])
