"""The command line surfaces the engine's guards of issue 11 (items 7-11): `check` reports
colliding class names as errors and lists duplicates; `train` refuses an unwritable output
before any work. (A diverging run is stopped by the engine: tests/test_run_guards.py; the
command line already refuses a learning rate as absurd as 1e30 when it parses it.)"""

from __future__ import annotations

import json
import shutil

import pytest

from mma_studio.cli import main
from tests.image_factory import make_class_dataset, try_symlink
from tests.test_cli import tiny


def test_check_reports_colliding_names_as_errors_and_lists_duplicates(tmp_path, capsys):
    root = tmp_path / "data"
    made = make_class_dataset(root, ["golden_retriever", "golden-retriever", "dog", "eel"], per_class=6)
    shutil.copyfile(made["dog"][0], root / "eel" / "copy.png")
    code = main(["check", str(root), "-q", "--shots", "2", "--val-per-class", "1"])
    text = capsys.readouterr().out
    assert code == 2
    assert f"cannot train: class folders {root / 'golden-retriever'} and {root / 'golden_retriever'}" in text
    [collision] = [line for line in text.splitlines() if line.startswith("cannot train: class folders")]
    assert "rename one of the folders" in collision  # the fix the command line has: it has no renames
    assert "duplicate: 2 paths are identical copies in classes 'dog', 'eel'" in text

    code = main(["check", str(root), "-q", "--json", "--shots", "2", "--val-per-class", "1"])
    report = json.loads(capsys.readouterr().out)
    assert (
        code == 2 and report["trainable"] is False and report["errors"] == report["problems"][: len(report["errors"])]
    )
    assert report["name_collisions"][0]["classes"] == ["golden-retriever", "golden_retriever"]
    assert report["duplicates"][0]["kind"] == "identical-content"


def test_check_names_a_folder_linked_into_another_class(tmp_path, capsys):
    root = tmp_path / "data"
    make_class_dataset(root, ["ant", "bee", "cat"], per_class=4)
    if not try_symlink(root / "ant" / "more", "../bee", directory=True):
        pytest.skip("no symlinks here")
    main(["check", str(root), "-q", "--json", "--shots", "1", "--val-per-class", "1"])
    report = json.loads(capsys.readouterr().out)
    across = [d for d in report["duplicates"] if d["across_classes"]]
    assert len(across) == 4 and all(sorted(d["classes"]) == ["ant", "bee"] for d in across)
    assert report["image_count"] == 16  # still counted (reported, not silently dropped)


def test_train_refuses_an_output_name_too_long_before_any_work(tmp_path, capsys):
    make_class_dataset(tmp_path / "data", ["ant", "bee", "cat"], per_class=6)
    output = tmp_path / ("猫" * 90 + ".safetensors")
    code = main(["train", str(tmp_path / "data"), "-o", str(output), *tiny(tmp_path), "--shots", "2", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write the adapter file" in err and "too long" in err
    assert not (tmp_path / "cache").exists()  # nothing was extracted
