"""`mma-studio reproduce`: the paper's base-to-new protocol on the paper's datasets, as one
engine call that the CLI (and any script) runs.

For each dataset found under the data root (CoOp's layouts), each seed and each method: draw
the seed's few-shot split, extract the features it needs (through the on-disk cache), fit
the method and score base / new / HM. Every finished cell is written to `<out>/results.json`
at once, so a rerun continues; the tables (Markdown, CSV, JSON) are rewritten at the end. A
dataset whose files are missing is skipped with the list of what it lacked.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mma_studio.core.atomic_write import write_text_atomically
from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.protocols.fewshot import protocol_split
from mma_studio.core.protocols.imagenet_reader import VALIDATION_NOTE
from mma_studio.core.protocols.method_cells import (
    PAPER_METHODS,
    check_methods,
    fallback_note,
    feature_task,
    method_labels,
    run_cell,
)
from mma_studio.core.protocols.registry import (
    PAPER_ORDER,
    get_spec,
    missing_files,
    read_dataset,
)
from mma_studio.core.protocols.results_store import ResultsStore
from mma_studio.core.protocols.spec import ProtocolDataError
from mma_studio.core.protocols.tables import (
    SummaryRow,
    csv_table,
    json_table,
    markdown_table,
    summarise,
)
from mma_studio.core.split import SplitError
from mma_studio.core.training import TrainConfig

TABLE_NAMES = {"markdown": "table.md", "csv": "table.csv", "json": "table.json"}


@dataclass
class ReproduceSettings:
    data_root: Path
    out_dir: Path
    datasets: Sequence[str] = PAPER_ORDER
    seeds: Sequence[int] = (1, 2, 3)
    shots: int = 16
    methods: Sequence[str] = PAPER_METHODS
    model: str = "ViT-B-16"
    pretrained: str = "openai"
    device: str = "auto"
    training: TrainConfig = field(default_factory=TrainConfig)  # MMA's (the product's defaults)

    def identity(self) -> dict:
        """What every stored cell depends on beyond its (dataset, seed, method) key."""
        return {
            "model": self.model,
            "pretrained": self.pretrained,
            "shots": int(self.shots),
            "mma_training": {k: v for k, v in self.training.to_dict().items() if k != "seed"},
        }


@dataclass
class SkippedDataset:
    name: str
    reason: str
    missing: list[str] = field(default_factory=list)


@dataclass
class ReproduceResult:
    rows: list[SummaryRow]
    cells: list[dict]
    skipped: list[SkippedDataset]
    computed: int  # cells run in this call
    reused: int  # cells found finished in the results file
    files: dict[str, Path]
    notes: list[str]
    backbone_loaded: bool

    def to_dict(self) -> dict:
        return {
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "computed": self.computed,
            "reused": self.reused,
            "files": {k: str(v) for k, v in self.files.items()},
            "notes": list(self.notes),
        }


def run_reproduction(
    settings: ReproduceSettings,
    *,
    backbone=None,
    cache=None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> ReproduceResult:
    """Run (or continue) the reproduction; see the module docstring."""
    specs = [get_spec(name) for name in settings.datasets]
    methods = check_methods(settings.methods)
    seeds = [int(s) for s in dict.fromkeys(settings.seeds)]
    if settings.shots < 1:
        raise ValueError(f"shots must be at least 1, got {settings.shots}")
    if not seeds:
        raise ValueError("at least one seed is needed")
    out_dir = Path(settings.out_dir)
    store = ResultsStore(out_dir, settings.identity())
    labels = method_labels(methods)
    skipped: list[SkippedDataset] = []
    notes: list[str] = [n for n in [fallback_note(methods)] if n]
    computed = reused = 0
    state = {"backbone": backbone, "loaded": False, "cache": cache}

    def need_backbone():
        if state["backbone"] is None:
            from mma_studio.core.backbone import load_backbone

            state["backbone"] = load_backbone(
                settings.model, settings.pretrained, device=settings.device, on_progress=on_progress, token=token
            )
            state["loaded"] = True
        if state["cache"] is None:
            from mma_studio.core.feature_cache import FeatureCache

            state["cache"] = FeatureCache()
        return state["backbone"], state["cache"]

    for spec in specs:
        check(token)
        lacking = missing_files(spec, settings.data_root)
        if lacking:
            skipped.append(SkippedDataset(spec.name, "files missing", [str(p) for p in lacking]))
            continue
        todo = {seed: [m for m in methods if not store.has(spec.name, seed, m)] for seed in seeds}
        reused += sum(len(methods) - len(left) for left in todo.values())
        if not any(todo.values()):
            continue
        try:
            contents = read_dataset(spec, settings.data_root)
        except (ProtocolDataError, OSError) as exc:
            skipped.append(SkippedDataset(spec.name, str(exc)))
            continue
        backbone, feature_cache = need_backbone()
        from mma_studio.core.features import encode_class_texts
        from mma_studio.core.pipeline import FeatureTable

        class_text = encode_class_texts(backbone, contents.class_names, (spec.template,), cache=feature_cache)
        where = {"now": spec.name}

        def relay(event: Progress, where: dict = where) -> None:
            if on_progress:
                on_progress(dataclasses.replace(event, message=f"{where['now']} · {event.message}"))

        # One table per dataset: the test images' features are read once for all seeds.
        table = FeatureTable(backbone, feature_cache, relay, token)
        for seed in seeds:
            if not todo[seed]:
                continue
            where["now"] = f"{spec.name} · seed {seed}"
            split = protocol_split(contents, seed, settings.shots)
            table.extract_split(split, 0)
            try:
                task, left_out = feature_task(split, table, class_text, backbone.logit_scale)
            except SplitError as exc:  # e.g. not one training image could be read
                skipped.append(SkippedDataset(spec.name, f"seed {seed}: {exc}"))
                continue
            task = task.to(backbone.device)
            for method in todo[seed]:
                check(token)
                if on_progress:
                    on_progress(Progress("train", 0, None, message=f"{where['now']} · {labels[method]}"))
                figures = run_cell(
                    method, task, seed, dataset=spec.name, training=settings.training, on_progress=relay, token=token
                )
                store.put(
                    {
                        "dataset": spec.name,
                        "seed": seed,
                        "method": method,
                        **figures,
                        "counts": split.counts(),
                        "images_left_out": left_out,
                        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    }
                )
                computed += 1

    # The tables cover every dataset finished in this folder (so running the datasets one call
    # at a time builds up the whole table), for this call's methods and seeds.
    wanted = [c for c in store.cells.values() if c["method"] in methods and c["seed"] in seeds]
    in_table = [
        name
        for name in dict.fromkeys([*PAPER_ORDER, *(s.name for s in specs)])
        if any(c["dataset"] == name for c in wanted)
    ]
    if "ImageNet" in in_table and VALIDATION_NOTE not in notes:
        notes.append(VALIDATION_NOTE)
    for name in in_table:
        left_out = max((c.get("images_left_out", 0) for c in wanted if c["dataset"] == name), default=0)
        if left_out:
            notes.append(f"{name}: {left_out} image(s) of a split were missing or unreadable and left out.")
    rows = summarise(wanted, in_table, methods)
    files = write_tables(out_dir, rows, methods, labels, settings, seeds, notes, skipped)
    return ReproduceResult(rows, wanted, skipped, computed, reused, files, notes, state["loaded"])


def write_tables(
    out_dir: Path, rows, methods, labels, settings: ReproduceSettings, seeds, notes, skipped: list[SkippedDataset]
) -> dict[str, Path]:
    header = (
        f"{settings.model} · {settings.pretrained}, {settings.shots} shots per base class, seeds "
        f"{', '.join(map(str, seeds))}: accuracy (%) as the mean over seeds; HM is the harmonic mean "
        "of the mean base and new accuracy (as CoCoOp's Table 1)."
    )
    all_notes = list(notes) + [
        f"{s.name} skipped: {s.reason}" + (f" ({', '.join(s.missing)})" if s.missing else "") for s in skipped
    ]
    files = {
        "markdown": out_dir / TABLE_NAMES["markdown"],
        "csv": out_dir / TABLE_NAMES["csv"],
        "json": out_dir / TABLE_NAMES["json"],
    }
    write_text_atomically(files["markdown"], markdown_table(rows, methods, labels, header, all_notes))
    write_text_atomically(files["csv"], csv_table(rows, labels))
    payload = {
        "settings": {**settings.identity(), "seeds": list(seeds), "methods": list(methods)},
        "rows": json_table(rows, labels),
        "notes": list(notes),
        "skipped": [dataclasses.asdict(s) for s in skipped],
    }
    write_text_atomically(files["json"], json.dumps(payload, indent=1))
    return files
