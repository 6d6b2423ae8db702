"""Opening and saving a project, Qt-free: the rules the app and the CLI share.

A project file stores its paths relative to itself; in memory every path is absolute. This
module is where the two meet: `open_project_file` reads a file and makes its runs and data
locations absolute again, `project_for_saving` makes the data and the runs portable for the
file being written (a run's split lists every image, so its portable form is made once per run
and folder and cached), and the Autosaved folder keeps the newest few untitled projects.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path

from mma_studio.core import project as project_format
from mma_studio.core.project import (
    Project,
    RunRecord,
    load_project,
    resolve_from_project,
    save_project,
)
from mma_studio.core.split_paths import absolute_paths, map_split_paths, portable_paths

AUTOSAVED_KEEP = 10  # untitled projects kept in the Autosaved folder (oldest removed first)


def autosave_folder() -> Path:
    """Where projects the user never named are kept, so closing the window never loses work."""
    from platformdirs import user_data_path

    return user_data_path("MMA Studio", "MMA Studio") / "Autosaved"


def new_autosave_path(folder: Path | None = None, now: datetime.datetime | None = None) -> Path:
    folder = folder if folder is not None else autosave_folder()
    stamp = (now or datetime.datetime.now()).strftime("%Y-%m-%d %H.%M.%S")
    return folder / f"Untitled {stamp}{project_format.PROJECT_SUFFIX}"


def prune_autosaved(folder: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest autosaved projects in `folder`; return the deleted files."""
    try:
        files = sorted(folder.glob(f"*{project_format.PROJECT_SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    removed = []
    for old in files[keep:]:
        if remove_autosaved_copy(old):
            removed.append(old)
    return removed


def remove_autosaved_copy(path: Path) -> bool:
    """Remove an autosaved copy once the project has a home of its own (Save As)."""
    try:
        Path(path).unlink()
    except OSError:
        return False
    return True


def with_project_suffix(path: Path | str) -> Path:
    path = Path(path).absolute()
    if path.suffix.lower() != project_format.PROJECT_SUFFIX:
        path = path.with_name(path.name + project_format.PROJECT_SUFFIX)
    return path


@dataclass
class ProjectData:
    """Where an opened project's data is now: absolute, only what still exists, and what is gone."""

    root: Path | None = None
    folders: list[Path] = field(default_factory=list)  # class folders added on their own
    class_files: dict[str, list[Path]] = field(default_factory=dict)  # classes of chosen images
    missing: list[str] = field(default_factory=list)  # for the user: folders or classes not found

    @property
    def empty(self) -> bool:
        return self.root is None and not self.folders and not self.class_files


@dataclass
class OpenedProject:
    path: Path
    project: Project
    runs: list[RunRecord]  # paths absolute
    data: ProjectData


def open_project_file(path: Path | str) -> OpenedProject:
    """Read a project file (ProjectError names the file and the reason) and make its paths absolute."""
    path = Path(path).absolute()
    project = load_project(path)
    runs = [absolute_record(record, path) for record in project.runs]
    return OpenedProject(path=path, project=project, runs=runs, data=locate_project_data(project, path))


def locate_project_data(project: Project, path: Path) -> ProjectData:
    root = resolve_from_project(project.data_root, path) if project.data_root else None
    folders = [resolve_from_project(folder, path) for folder in project.class_folders]
    class_files = {name: [resolve_from_project(f, path) for f in files] for name, files in project.class_files.items()}
    missing = [str(p) for p in ([root] if root is not None else []) + folders if not p.is_dir()]
    missing += [
        f"the images of class {name!r}" for name, files in class_files.items() if not any(f.is_file() for f in files)
    ]
    return ProjectData(
        root=root if root is not None and root.is_dir() else None,
        folders=[folder for folder in folders if folder.is_dir()],
        class_files=class_files,
        missing=missing,
    )


def absolute_record(record: RunRecord, project_file: Path) -> RunRecord:
    """A stored run with its paths made absolute (the split may hold `../data/...`)."""
    from mma_studio.core.split import DatasetSplit, SplitError

    split = record.split
    record = copy.deepcopy(dataclasses.replace(record, split=None))  # the split is copied below
    folder = Path(project_file).absolute().parent
    if isinstance(split, dict):
        try:
            DatasetSplit.from_dict(split, folder)  # refuses a malformed stored split
        except SplitError:
            pass  # the figures and curves remain
        else:
            record.split = map_split_paths(split, absolute_paths(folder))
    else:
        record.split = copy.deepcopy(split)
    if record.adapter_file:
        record.adapter_file = str(resolve_from_project(record.adapter_file, project_file))
    return record


def record_finished_run(run, run_id: str | None) -> RunRecord:
    """A finished `TrainingRun` as the open project keeps it in memory: every path absolute."""
    return project_format.record_run(run, None, run_id=run_id)  # absolute in memory; relative when written


def note_exported_adapter(runs: list[RunRecord], finished_at: str | None, adapter_path: Path | str) -> RunRecord | None:
    """The run that finished at `finished_at` was exported to `adapter_path`: its record
    remembers where (absolute in memory; relative when written). None when no run matches."""
    for record in reversed(runs):
        if record.finished_at == finished_at:
            record.adapter_file = str(Path(adapter_path).absolute())
            return record
    return None


def portable_split(split, project_file: Path):
    """A run's in-memory split with its paths relative to `project_file` (as `PortableRuns`
    writes it), made without the cache: for a worker that writes the project."""
    return map_split_paths(split, portable_paths(project_file)) if isinstance(split, dict) else copy.deepcopy(split)


class PortableRuns:
    """The open project's runs as written: paths relative to a project file.

    The project is compared after every edit and written after every change, and a large run
    lists 20,000 images, so each run's portable split is made once per run and folder, when it
    is first written (a comparison needs only the token, so a run's end costs no path work). Keyed
    by id(split), holding the split itself, with a token that stands for it in comparisons
    (never reused, unlike an id). A written run's split is shared with the cache: nothing
    modifies a written project's runs.
    """

    def __init__(self) -> None:
        self._splits: dict[tuple[int, str], tuple[dict, dict | None, int]] = {}
        self._tokens = 0

    def records(
        self, runs: list[RunRecord], project_file: Path, split_tokens: bool = False, absolute_splits: bool = False
    ) -> list[RunRecord]:
        """`absolute_splits`: each split as kept in memory (shared, absolute paths), for a
        caller that makes it portable elsewhere (`portable_split`, in a worker)."""
        if absolute_splits:  # as written in every other way (the adapter file's path too)
            return [dataclasses.replace(self.record(record, project_file, True), split=record.split) for record in runs]
        records = [self.record(record, project_file, split_tokens) for record in runs]
        live = {id(record.split) for record in runs}
        for key in [key for key in self._splits if key[0] not in live]:
            del self._splits[key]  # a run that is no longer in the project
        return records

    def record(self, record: RunRecord, project_file: Path, split_token: bool = False) -> RunRecord:
        split = record.split
        # A finished run's record is never changed in place (its figures are final; exporting
        # replaces `adapter_file`), so the copy shares its curves and figures: deep-copying them
        # for every comparison cost ~8 ms per run of 200 classes on the GUI thread, per edit.
        portable = dataclasses.replace(record, split=None)
        if isinstance(split, dict):
            folder = os.path.abspath(Path(project_file).absolute().parent)
            cached: tuple[dict, dict | None, int] | None = self._splits.get((id(split), folder))
            if cached is None or cached[0] is not split:
                self._tokens += 1
                cached = (split, None, self._tokens)
            if not split_token and cached[1] is None:  # made when first written, not to compare
                cached = (split, map_split_paths(split, portable_paths(project_file)), cached[2])
            self._splits[(id(split), folder)] = cached
            # A number stands in for the split when two states are compared (`split_token`).
            portable.split = cached[2] if split_token else cached[1]  # type: ignore[assignment]
        else:
            portable.split = copy.deepcopy(split)
        if portable.adapter_file:
            portable.adapter_file = project_format.relative_to_project(portable.adapter_file, project_file)
        return portable


def portable_data(scan, project_file: Path) -> tuple[str | None, list[str], dict[str, list[str]]]:
    """A scan's data as a project stores it: (data root, class folders added on their own,
    classes of chosen images -> their files), relative to `project_file`."""
    relative = project_format.relative_to_project
    if scan is None:
        return None, [], {}
    folder_classes = [c for c in scan.classes if not c.loose]
    class_files = {c.name: [relative(p, project_file) for p in c.images] for c in scan.classes if c.loose}
    if scan.root is not None:
        data_root = relative(scan.root, project_file)
        root = Path(scan.root)
        class_folders = [relative(c.path, project_file) for c in folder_classes if not _is_child_of(c.path, root)]
    else:
        data_root = None
        class_folders = [relative(c.path, project_file) for c in folder_classes]
    return data_root, list(dict.fromkeys(class_folders)), class_files


def _is_child_of(path: Path | str, folder: Path) -> bool:
    """`Path(path).parent == folder`, answered from the strings when they agree (the common case).

    Called for every class each time the project is compared or written; building two Paths
    per class cost milliseconds per hundred classes on the GUI thread.
    """
    if os.path.dirname(str(path)) == str(folder):
        return True
    return Path(path).parent == folder


def write_project_file(project: Project, path: Path) -> Path:
    """Write atomically; OSError leaves the previous version of the file as it was."""
    return save_project(project, path)


# What the window showed, as the project keeps it (`Project.ui_state`): these entries are files
# (the Demo's image and adapter file), stored relative to the project like every other path.
UI_STATE_PATHS = ("demo_image", "demo_adapter_file")


def portable_ui_state(ui_state: dict, project_file: Path) -> dict:
    portable = dict(ui_state)
    for key in UI_STATE_PATHS:
        if portable.get(key):
            portable[key] = project_format.relative_to_project(portable[key], project_file)
    return portable


def absolute_ui_state(stored: dict, project_file: Path) -> dict:
    """The stored window state with its files absolute; entries of the wrong type are dropped
    (a hand-edited file must not break the window)."""
    state = {}
    for key, value in (stored or {}).items():
        if key in UI_STATE_PATHS:
            if isinstance(value, str) and value:
                state[key] = str(resolve_from_project(value, project_file))
        else:
            state[key] = value
    return state


def portable_data_fixes(fixes, project_file: Path) -> dict:
    """A `DataFixes` as the project keeps it: paths relative to the project file."""
    if not fixes:
        return {}
    return fixes.to_dict(lambda path: project_format.relative_to_project(path, project_file))


def absolute_data_fixes(stored: dict, project_file: Path | None):
    """The project's `DataFixes` with paths absolute again (TypeError: a damaged entry)."""
    from mma_studio.core.data_fixes import DataFixes

    folder = Path(project_file).absolute().parent if project_file is not None else Path.cwd()
    return DataFixes.from_dict(stored, lambda path: os.path.normpath(folder / path))
