"""Opening and saving projects in the engine (no Qt): unknown keys survive a save, the window's
state is kept, data locations come back absolute with what is missing named, and the Autosaved
folder keeps only the newest few."""

from __future__ import annotations

import json
import os

from mma_studio.core.project import Project, RunRecord, load_project, save_project
from mma_studio.core.project_store import (
    new_autosave_path,
    open_project_file,
    prune_autosaved,
    with_project_suffix,
)


def test_keys_a_later_version_added_are_written_back_unchanged(tmp_path):
    path = tmp_path / "p.mmaproj"
    save_project(Project(name="p", runs=[RunRecord("t", {}, {}, [], {})]), path)
    data = json.loads(path.read_text())
    data["exclusions"] = {"cat/3.jpg": "blurry"}  # e.g. what the data doctor stores
    data["runs"][0]["notes"] = "first try"
    path.write_text(json.dumps(data))
    project = load_project(path)
    assert project.extra == {"exclusions": {"cat/3.jpg": "blurry"}}
    save_project(project, path)
    again = json.loads(path.read_text())
    assert again["exclusions"] == {"cat/3.jpg": "blurry"} and again["runs"][0]["notes"] == "first try"
    assert again["format"] == "mma-studio-project" and again["version"] == 1


def test_the_windows_state_round_trips(tmp_path):
    state = {"page": 3, "demo": {"image": "../photos/a.jpg", "classes": ["zebra"]}}
    path = save_project(Project(ui_state=state), tmp_path / "p.mmaproj")
    assert load_project(path).ui_state == state


def test_opening_makes_data_absolute_and_names_what_is_gone(tmp_path):
    (tmp_path / "data" / "cat").mkdir(parents=True)
    image = tmp_path / "data" / "cat" / "1.jpg"
    image.write_bytes(b"x")
    project = Project(
        data_root="data",
        class_folders=["gone-folder"],
        class_files={"chosen": ["data/cat/1.jpg"], "lost": ["nowhere.jpg"]},
    )
    path = save_project(project, tmp_path / "projects" / ".." / "p.mmaproj")
    opened = open_project_file(path)
    assert opened.data.root == (tmp_path / "data").resolve()
    assert opened.data.folders == []
    assert opened.data.class_files["chosen"] == [image.resolve()]
    assert any("gone-folder" in item for item in opened.data.missing)
    assert "the images of class 'lost'" in opened.data.missing
    assert not opened.data.empty


def test_the_autosaved_folder_keeps_the_newest(tmp_path):
    files = []
    for index in range(5):
        path = save_project(Project(), new_autosave_path(tmp_path).with_name(f"Untitled {index}.mmaproj"))
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
        files.append(path)
    removed = prune_autosaved(tmp_path, keep=2)
    assert sorted(removed) == sorted(files[:3])
    assert sorted(tmp_path.glob("*.mmaproj")) == sorted(files[3:])
    assert with_project_suffix(tmp_path / "x").name == "x.mmaproj"
    assert with_project_suffix(tmp_path / "x.MMAPROJ").name == "x.MMAPROJ"
