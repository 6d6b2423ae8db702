"""The project file: a JSON document that remembers the data, the split, the settings and the runs.

Paths are stored relative to the project file (with `/`), so a project folder can be moved
or shared with its data. The format is versioned, and keys this version does not know (written
by a later feature) are kept and written back unchanged, so no save loses what another part of
the app, or a newer app, stored. Writes are atomic, so a crash or a full disk never leaves a
half-written project, and the previous version survives a failed save.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from mma_studio.core.atomic_write import write_bytes_atomically
from mma_studio.core.run_store import is_run_id

PROJECT_FORMAT = "mma-studio-project"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".mmaproj"
# A project is JSON of a few kB to a few MB (each run lists its split: ~1.6 MB for 20,000
# images). A file far larger is not ours; refusing it before reading keeps a mistaken pick
# (a video, a disk image) from being read into memory.
MAX_PROJECT_BYTES = 256 * 1024 * 1024


class ProjectError(Exception):
    """The project file cannot be read; the message names the file and the reason."""


@dataclass
class RunRecord:
    """One training run as the project remembers it: figures, curves and where its adapter is."""

    finished_at: str
    summary: dict  # TrainingRun.summary()
    zero_shot: dict  # ZeroShotEvent.to_dict()
    history: list[dict]  # EpochEvent.to_dict() per epoch
    settings: dict  # RunSettings.to_dict()
    split: dict | None = None  # DatasetSplit.to_dict(project folder)
    adapter_file: str | None = None  # relative to the project file, once exported
    run_id: str | None = None  # its adapter in the run store (`core.run_store`), to show it again
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as read

    def to_dict(self) -> dict:
        data = dict(self.extra)
        data.update((key, value) for key, value in self.__dict__.items() if key != "extra")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RunRecord:
        history = data.get("history")
        zero_shot = _object(data.get("zero_shot"), "a run's zero_shot")
        return cls(
            finished_at=_text(data.get("finished_at"), "a run's finished_at") or "",
            summary=_object(data.get("summary"), "a run's summary"),
            # Curves are redrawn from these: entries whose figures are not numbers are dropped
            # here, so a hand-edited or damaged file cannot break the plots later.
            zero_shot=zero_shot if _event_fields_ok(zero_shot) else {},
            history=[e for e in history if isinstance(e, dict) and _event_fields_ok(e)]
            if isinstance(history, list)
            else [],
            settings=_object(data.get("settings"), "a run's settings"),
            split=_object(data.get("split"), "a run's split") or None,
            adapter_file=_text(data.get("adapter_file"), "a run's adapter_file"),
            run_id=data.get("run_id") if is_run_id(data.get("run_id")) else None,  # never a path
            extra={key: value for key, value in data.items() if key not in _RUN_KEYS},
        )


def _field_names(cls) -> frozenset[str]:
    """The keys a record's own fields write; every other key read is kept in its `extra`."""
    return frozenset(f.name for f in fields(cls)) - {"extra"}


_RUN_KEYS = _field_names(RunRecord)


@dataclass
class Project:
    name: str = "Untitled"
    data_root: str | None = None  # relative to the project file when possible
    class_folders: list[str] = field(default_factory=list)  # folders dropped one by one (relative)
    # classes made of chosen images (not a whole folder): class id -> its files (relative)
    class_files: dict[str, list[str]] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)
    base_classes: list[str] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)
    backbone: dict = field(default_factory=dict)  # {"model": ..., "pretrained": ...}
    settings: dict = field(default_factory=dict)  # RunSettings.to_dict()
    runs: list[RunRecord] = field(default_factory=list)
    # What the window showed when the project was last saved (page, the Train page's card, the
    # Demo's image, classes and adapter file), so a reopened project looks as it was left.
    ui_state: dict = field(default_factory=dict)
    # Images excluded, moved to another class, findings kept (`core.data_fixes.DataFixes.to_dict`,
    # paths relative to the project file); the files themselves are never touched.
    data_fixes: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as read

    def to_dict(self) -> dict:
        return {
            **self.extra,
            "format": PROJECT_FORMAT,
            "version": PROJECT_VERSION,
            "name": self.name,
            "data_root": self.data_root,
            "class_folders": list(self.class_folders),
            "class_files": {name: list(files) for name, files in self.class_files.items()},
            "display_names": dict(self.display_names),
            "base_classes": list(self.base_classes),
            "new_classes": list(self.new_classes),
            "backbone": dict(self.backbone),
            "settings": dict(self.settings),
            "runs": [run.to_dict() for run in self.runs],
            "ui_state": dict(self.ui_state),
            "data_fixes": dict(self.data_fixes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Project:
        """Raises TypeError (a damaged project) when a field has the wrong type: a number where a
        folder should be would otherwise fail later, deep inside the app."""
        display_names = _object(data.get("display_names"), "display_names")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in display_names.items()):
            raise TypeError("display_names should map folder names to names")
        runs = data.get("runs") or []
        if not isinstance(runs, list):
            raise TypeError("runs should be a list")
        class_files = _object(data.get("class_files"), "class_files")
        if not all(
            isinstance(name, str) and isinstance(files, list) and all(isinstance(f, str) for f in files)
            for name, files in class_files.items()
        ):
            raise TypeError("class_files should map class names to lists of files")
        return cls(
            name=_text(data.get("name"), "name") or "Untitled",
            data_root=_text(data.get("data_root"), "data_root"),
            class_folders=_texts(data.get("class_folders"), "class_folders"),
            class_files=class_files,
            display_names=display_names,
            base_classes=_texts(data.get("base_classes"), "base_classes"),
            new_classes=_texts(data.get("new_classes"), "new_classes"),
            backbone=_object(data.get("backbone"), "backbone"),
            settings=_object(data.get("settings"), "settings"),
            runs=[RunRecord.from_dict(r) for r in runs if isinstance(r, dict)],
            ui_state=_object(data.get("ui_state"), "ui_state"),
            data_fixes=_object(data.get("data_fixes"), "data_fixes"),
            extra={key: value for key, value in data.items() if key not in _PROJECT_KEYS},
        )


_PROJECT_KEYS = _field_names(Project) | {"format", "version"}


_NUMBER_OR_NONE = ("train_loss", "val_acc", "new_acc", "hm", "samples_per_s", "eta_s", "best_val_acc")
_WHOLE_NUMBER = ("epoch", "epochs", "best_epoch", "epochs_run")


def _event_fields_ok(entry: dict) -> bool:
    """Whether the figures of a stored ZeroShotEvent/EpochEvent dict have their types."""
    for key in _NUMBER_OR_NONE:
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return False
    for key in _WHOLE_NUMBER:
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return False
    return entry.get("is_best") is None or isinstance(entry.get("is_best"), bool)


def _text(value, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{what} should be text, not {type(value).__name__}")


def _texts(value, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{what} should be a list of text")
    return list(value)


def _object(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"{what} should be an object, not {type(value).__name__}")
    return dict(value)


def relative_to_project(path: Path | str, project_file: Path | str) -> str:
    """`path` relative to the project's folder (with `/`), or absolute when on another drive."""
    path = Path(path).absolute()
    folder = Path(project_file).absolute().parent
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # Windows: a different drive has no relative path
        return path.as_posix()


def resolve_from_project(stored: str, project_file: Path | str) -> Path:
    path = Path(stored)
    if path.is_absolute():
        return path
    return (Path(project_file).absolute().parent / path).resolve()


def save_project(project: Project, path: Path | str) -> Path:
    try:
        data = json.dumps(project.to_dict(), indent=2, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        # A path that is not valid UTF-8 (a lone surrogate from the OS layer): \u-escape it, so
        # the file stays valid JSON and the path comes back byte-for-byte on load.
        data = json.dumps(project.to_dict(), indent=2, ensure_ascii=True, default=str).encode("ascii")
    return write_bytes_atomically(Path(path), data)


def load_project(path: Path | str) -> Project:
    from mma_studio.core.user_files import UserFileError, read_regular_file

    path = Path(path)
    try:
        raw = read_regular_file(path, MAX_PROJECT_BYTES, what="a project file")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such project file") from None
    except PermissionError:
        raise ProjectError(f"{path}: permission denied") from None
    except UserFileError as exc:
        raise ProjectError(str(exc)) from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # also absurd nesting or 5000-digit numbers
        raise ProjectError(f"{path}: not a project file (invalid JSON: {_brief(exc)})") from None
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        raise ProjectError(f"{path}: not an MMA Studio project file")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"{path}: invalid project version {version!r}")
    if version > PROJECT_VERSION:
        raise ProjectError(f"{path}: made by a newer MMA Studio (project version {version}); update the app")
    try:
        return Project.from_dict(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ProjectError(f"{path}: damaged project file ({exc})") from None


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _split_as_recorded(run, folder: Path | None) -> dict:
    """Absolute (`folder` None): the one the training worker made (`TrainingRun.split_dict`)."""
    made = getattr(run, "split_dict", None)
    return made if folder is None and made is not None else run.split.to_dict(folder)


def record_run(
    run,
    project_file: Path | str | None,
    adapter_file: Path | str | None = None,
    run_id: str | None = None,
) -> RunRecord:
    """A `RunRecord` of a finished `TrainingRun`, with paths relative to the project file.

    `project_file` None: every path absolute, as the open project keeps its runs in memory (a
    20,000-image split converted only to be thrown away cost 0.6 s at a run's end)."""
    folder = Path(project_file).absolute().parent if project_file is not None else None
    if not adapter_file:
        stored_adapter = None
    elif project_file is None:
        stored_adapter = str(Path(adapter_file).absolute())
    else:
        stored_adapter = relative_to_project(adapter_file, project_file)
    return RunRecord(
        finished_at=run.finished_at,
        summary=run.summary(),
        zero_shot=run.zero_shot_event.to_dict(),
        history=[event.to_dict() for event in run.history],
        settings=run.settings.to_dict(),
        split=_split_as_recorded(run, folder),
        adapter_file=stored_adapter,
        run_id=run_id,
    )
