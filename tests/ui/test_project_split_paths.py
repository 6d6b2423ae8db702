"""A run's split written relative to the project file, and read back: the per-folder path
conversion gives exactly the strings the per-path conversion (os.path.relpath, Path
arithmetic) gave, for paths inside and outside the project folder, odd and non-ASCII names;
and a 20,000-image run is converted once, with one relpath per folder."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mma_studio.core import project as project_module
from mma_studio.core.project import RunRecord, load_project, relative_to_project
from mma_studio.core.project_store import absolute_record
from mma_studio.core.split_paths import SPLIT_SAMPLE_KEYS
from mma_studio.core.split_paths import absolute_paths as _absolute_paths
from mma_studio.core.split_paths import map_split_paths as _map_split_paths
from mma_studio.core.split_paths import portable_paths as _portable_paths
from mma_studio.ui.main_window import MainWindow
from mma_studio.ui.project_controller import ProjectController

pytestmark = pytest.mark.skipif(os.sep != "/", reason="the per-folder shortcut is taken on POSIX paths only")

PROJECT_FILE = Path("/home/ana/Projects/birds/birds.mmaproj")
FOLDER = PROJECT_FILE.parent
SURROGATE = "caf" + b"\xe9".decode("utf-8", "surrogateescape")  # a Latin-1 folder name, not UTF-8

SAMPLE_PATHS = [
    f"{FOLDER}/data/cat/1.jpg",  # inside the project folder
    f"{FOLDER}/x.jpg",
    "/home/ana/datasets/dog/2.jpg",  # outside it
    "/home/ana/Projects/other/3.png",
    "/root.jpg",
    "/home/ana/datasets/çà et là/日本 🐱.png",  # non-ASCII, spaces
    "/home/ana/datasets/Ünïcødé/ß.JPG",
    f"/home/ana/datasets/{SURROGATE}/{SURROGATE}.jpg",  # not valid UTF-8
    "/home/ana/datasets/a./b..jpg",
    "/home/ana/datasets/.hidden/.x.jpg",
    "//double//slash.jpg",  # not plain: the per-path conversion answers
    "/home/ana/./datasets/a.jpg",
    "/home/ana/datasets/../b.jpg",
    "/home/ana/datasets/dir/",
    "/home/ana/datasets/.",
    "/home/ana/datasets/..",
    "relative/c.jpg",
    "c.jpg",
    str(FOLDER),  # the project folder lies "in" these
    str(FOLDER.parent),
    f"{FOLDER}/../birds",
]

STORED_PATHS = [
    "data/cat/1.jpg",
    "x.jpg",
    "../../datasets/dog/2.jpg",
    "../other/3.png",
    "/home/ana/abs/4.jpg",
    "../../datasets/çà et là/日本 🐱.png",
    f"../{SURROGATE}/{SURROGATE}.jpg",
    "a//b.jpg",
    "./a.jpg",
    "a/./b.jpg",
    "a/..",
    "..",
    ".",
    "",
    "x/",
    "/",
    "//x/y.jpg",
    "../../../../../../z.jpg",
    "a/b/../../c.jpg",
]


def split_with(paths: list) -> dict:
    """A stored split (`DatasetSplit.to_dict` shape) whose rows are `paths`, spread over the sets."""
    rows = [[path, index % 3] for index, path in enumerate(paths)]
    quarter = max(1, len(rows) // 4)
    return {
        "format": 1,
        "classes": ["a", "b", "c"],
        "display_names": ["a", "b", "c"],
        "base": [0, 1],
        "new": [2],
        "seed": 42,
        "shots": 2,
        "val_per_class": 1,
        "train": rows[:quarter],
        "val": rows[quarter : 2 * quarter],
        "test_base": rows[2 * quarter : 3 * quarter],
        "test_new": rows[3 * quarter :],
    }


def per_path(split: dict, convert) -> dict:
    """The conversion as it was: a deep copy, then every sample path converted on its own."""
    split = copy.deepcopy(split)
    mapped = dict(split)
    for key in SPLIT_SAMPLE_KEYS:
        rows = split.get(key)
        if isinstance(rows, list):
            mapped[key] = [[convert(row[0]), *row[1:]] if isinstance(row, list) and row else row for row in rows]
    return mapped


def test_relative_paths_are_those_relpath_gives_inside_and_outside_the_project_folder():
    split = split_with(SAMPLE_PATHS + [Path("/home/ana/datasets/dog/5.jpg")])
    split["test_new"] += [[], "not a row", None]  # malformed rows pass through
    expected = per_path(split, lambda p: relative_to_project(p, PROJECT_FILE))
    converted = _map_split_paths(split, _portable_paths(PROJECT_FILE))
    assert converted == expected
    assert list(converted) == list(expected)  # the same key order, so the same file
    assert [row[0] for row in converted["train"]][:2] == ["data/cat/1.jpg", "x.jpg"]
    assert "../../datasets/çà et là/日本 🐱.png" in [
        row[0] for key in SPLIT_SAMPLE_KEYS for row in converted[key] if row
    ]
    assert converted["classes"] is not split["classes"]  # nothing shared with the stored split


def test_stored_paths_resolve_as_path_arithmetic_did():
    split = split_with(STORED_PATHS)
    expected = per_path(split, lambda p: os.path.normpath(FOLDER / p))
    assert _map_split_paths(split, _absolute_paths(FOLDER)) == expected


def test_a_project_folder_inside_the_data_gives_the_same_paths():
    project_file = Path("/data/birds/cat/project.mmaproj")  # saved in a class folder
    paths = [
        "/data/birds/cat/1.jpg",
        "/data/birds/dog/2.jpg",
        "/data/birds/cat",
        "/data/birds",
        "/data/birdsong/3.jpg",
        "/data/birds/cat/sub/4.jpg",
        "/data",
        "/x.jpg",
    ]
    split = split_with(paths)
    assert _map_split_paths(split, _portable_paths(project_file)) == per_path(
        split, lambda p: relative_to_project(p, project_file)
    )


COMPONENTS = st.sampled_from(["a", "b", "birds", "Projects", "é", "日本", "x y", ".", "..", "", "a.jpg", SURROGATE])


@st.composite
def posix_paths(draw, absolute=None):
    parts = draw(st.lists(COMPONENTS, min_size=0, max_size=5))
    lead = draw(st.booleans()) if absolute is None else absolute
    path = ("/" if lead else "") + "/".join(parts)
    return path + ("/" if draw(st.booleans()) and draw(st.booleans()) else "")


@settings(max_examples=300, deadline=None)
@given(project=posix_paths(absolute=True), paths=st.lists(posix_paths(), min_size=1, max_size=8))
def test_any_path_converts_as_the_per_path_conversion_does(project, paths):
    project_file = Path(project or "/") / "p.mmaproj"
    split = split_with(paths)
    assert _map_split_paths(split, _portable_paths(project_file)) == per_path(
        split, lambda p: relative_to_project(p, project_file)
    )
    folder = project_file.absolute().parent
    assert _map_split_paths(split, _absolute_paths(folder)) == per_path(split, lambda p: os.path.normpath(folder / p))


# --------------------------------------------------------------------------- in the window


def large_split(root: Path, images: int = 20_000, classes: int = 200) -> dict:
    """A consistent split (it must reload): the first half of the classes base, the rest new."""
    names = [f"species {c:03d}" for c in range(classes)]
    half = classes // 2
    split = {
        "format": 1,
        "classes": names,
        "display_names": list(names),
        "base": list(range(half)),
        "new": list(range(half, classes)),
        "seed": 42,
        "shots": 16,
        "val_per_class": 4,
        "train": [],
        "val": [],
        "test_base": [],
        "test_new": [],
    }
    for i in range(images):
        klass = i % classes
        key = "test_new" if klass >= half else ("train", "val", "test_base", "test_base")[(i // classes) % 4]
        split[key].append([str(root / names[klass] / f"img_{i:06d}.jpg"), klass])
    return split


def run_record(split: dict, name: str = "2026-01-01T10:00:00") -> RunRecord:
    return RunRecord(
        finished_at=name,
        summary={"hm": 0.5},
        zero_shot={"epoch": 0, "base_acc": 0.2},
        history=[{"epoch": e, "loss": 1.0 / (e + 1)} for e in range(20)],
        settings={"shots": 16},
        split=split,
        adapter_file=str(FOLDER / "adapters" / "run.safetensors"),
    )


@pytest.fixture
def controller(qtbot, tmp_path) -> ProjectController:
    window = MainWindow()
    qtbot.addWidget(window)
    window.projects.path = tmp_path / "projects" / "load.mmaproj"
    yield window.projects
    window.projects.stop_and_wait(5000)


def test_a_20000_image_run_is_written_with_one_relpath_per_folder_and_converted_once(controller, tmp_path, monkeypatch):
    calls = [0]
    original = project_module.relative_to_project

    def counting(path, project_file):
        calls[0] += 1
        return original(path, project_file)

    monkeypatch.setattr(project_module, "relative_to_project", counting)
    split = large_split(tmp_path / "datasets" / "load20k")
    record = run_record(split)
    controller.runs.append(record)
    path = controller.path

    started = time.perf_counter()
    written = controller.current_project(path).runs[0]
    first_s = time.perf_counter() - started
    assert calls[0] <= 200 + 10, f"{calls[0]} relpath conversions for 200 folders"
    expected = per_path(split, lambda p: original(p, path))
    assert written.split == expected
    assert written.adapter_file == original(record.adapter_file, path)
    assert written.history is record.history  # shared, not copied: a finished run's record never changes in place
    assert record.split is split and split["train"][0][0].startswith(str(tmp_path))  # the run itself is untouched

    calls[0] = 0
    started = time.perf_counter()
    snapshot = controller._snapshot()
    again_s = time.perf_counter() - started
    assert calls[0] <= 2  # the adapter file; the split is converted once per run and folder
    assert controller._snapshot() == snapshot
    controller.runs.append(run_record(large_split(tmp_path / "elsewhere"), "2026-01-02T10:00:00"))
    assert controller._snapshot() != snapshot
    controller.runs.pop()
    assert controller._snapshot() == snapshot

    assert controller._write(path, quiet=True)
    stored = load_project(path).runs[0]
    assert stored.split == expected
    reopened = absolute_record(stored, path)
    assert reopened.split == split  # absolute again, as the run had them
    print(f"\n20,000-image run: written form {first_s * 1000:.1f} ms, compared again {again_s * 1000:.1f} ms")


def test_the_written_split_follows_the_project_when_it_moves(controller, tmp_path):
    split = large_split(tmp_path / "datasets" / "small", images=40, classes=4)
    controller.runs.append(run_record(split))
    here = controller.current_project(tmp_path / "a" / "p.mmaproj").runs[0].split
    there = controller.current_project(tmp_path / "a" / "b" / "p.mmaproj").runs[0].split
    assert here["train"][0][0] == "../datasets/small/species 000/img_000000.jpg"
    assert there["train"][0][0] == "../../datasets/small/species 000/img_000000.jpg"
