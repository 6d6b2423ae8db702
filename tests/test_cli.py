"""Every CLI subcommand end to end with mma-tiny (random weights), as a user runs it."""

import json
import os
import subprocess
import sys

import pytest

from mma_studio.cli import main
from tests.image_factory import make_class_dataset, write_truncated

CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    make_class_dataset(root / "data", CLASSES, per_class=14)
    write_truncated(root / "data" / "cat" / "broken.jpg")
    (root / "notes.safetensors").write_text("These are my notes, not an adapter file at all.\n" * 4)
    return root


def tiny(workspace) -> list[str]:
    return ["--model", "mma-tiny", "--pretrained", "random", "--cache-dir", str(workspace / "cache")]


@pytest.fixture(scope="module")
def trained(workspace):
    output = workspace / "adapter.safetensors"
    code = main(
        [
            "train",
            str(workspace / "data"),
            "-o",
            str(output),
            *tiny(workspace),
            "--shots",
            "4",
            "--epochs",
            "3",
            "--quiet",
        ]
    )
    assert code == 0
    return output


def run_json(capsys, argv) -> tuple[int, list[dict]]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_check_reports_counts_and_skipped_files(workspace, capsys):
    code, [report] = run_json(capsys, ["check", str(workspace / "data"), "--json", "-q", "--shots", "4"])
    assert code == 0 and report["trainable"] is True
    counts = {c["name"]: c["image_count"] for c in report["classes"]}
    assert counts == dict.fromkeys(CLASSES, 14)
    assert any(s["path"].endswith("broken.jpg") and s["reason"] for s in report["skipped"])


def test_check_fails_when_the_dataset_cannot_be_trained(workspace, capsys):
    code, [report] = run_json(capsys, ["check", str(workspace / "data"), "--json", "-q", "--shots", "40"])
    assert code != 0 and report["trainable"] is False and report["problems"]


def test_train_json_events_and_summary(workspace, capsys):
    output = workspace / "json.safetensors"
    code, lines = run_json(
        capsys,
        [
            "train",
            str(workspace / "data"),
            "-o",
            str(output),
            *tiny(workspace),
            "--shots",
            "4",
            "--epochs",
            "2",
            "--json",
            "-q",
        ],
    )
    assert code == 0 and output.exists()
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "zero_shot" and kinds[-1] == "summary" and kinds.count("epoch") == 2 and "finished" in kinds
    summary = lines[-1]
    for model in ("zero_shot", "adapted"):
        assert set(summary[model]) >= {"base", "new", "hm", "all"}
    assert summary["base_classes"] == ["ant", "bee", "cat"] and summary["new_classes"] == ["dog", "eel", "fox"]


def test_eval_reads_the_adapter_back(workspace, trained, capsys):
    code, [summary] = run_json(
        capsys, ["eval", str(trained), str(workspace / "data"), "--json", "-q", "--cache-dir", str(workspace / "cache")]
    )
    assert code == 0
    assert summary["training_images_held_out"] is True
    assert summary["test_images"] == {"base": 3 * (14 - 4 - 4), "new": 3 * 14}
    assert 0.0 <= summary["adapted"]["base"] <= 1.0


def test_predict_into_trained_and_unseen_classes(workspace, trained, capsys):
    images = [str(workspace / "data" / "cat" / "img_000.png"), str(workspace / "data" / "dog")]
    code, lines = run_json(capsys, ["predict", str(trained), *images, "--top-k", "2", "--json", "-q"])
    assert code == 0 and len(lines) == 1 + 14
    assert len(lines[0]["top"]) == 2 and lines[0]["top"][0]["label"] in CLASSES
    assert abs(sum(p["probability"] for p in lines[0]["top"])) <= 1.0 + 1e-6
    code, lines = run_json(
        capsys, ["predict", str(trained), images[0], "--classes", "zebra, lion ,tiger", "--json", "-q"]
    )
    assert code == 0 and {t["label"] for t in lines[0]["top"]} == {"zebra", "lion", "tiger"}
    assert sum(t["probability"] for t in lines[0]["top"]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["train", "/no/such/folder", "-o", "x.safetensors"], "not found"),
        (["predict", "{adapter}", "/no/such.png"], "no such file"),
        (["eval", "{tmp}/notes.safetensors", "{data}"], "not a safetensors"),
        (["train", "{data}", "-o", "x.txt"], ".safetensors"),
        (["train", "{data}", "-o", "{tmp}/x.safetensors", "--shots", "50"], "Not enough images"),
        (["train", "{data}", "-o", "{tmp}/x.safetensors", "--template", "no placeholder"], "{}"),
    ],
)
def test_user_errors_are_one_line_without_traceback(workspace, trained, capsys, argv, fragment):
    argv = [a.format(adapter=trained, data=workspace / "data", tmp=workspace) for a in argv]
    code = main([*argv, *tiny(workspace)[:4], "-q"] if argv[0] == "train" else [*argv, "-q"])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("skipped ")]
    assert code == 2
    assert len(err) == 1 and "Traceback" not in err[0] and fragment in err[0], err
    assert err[0].startswith(f"mma-studio {argv[0]}: error: ")


def test_console_script_and_module_entry_points_show_help():
    for command in ([sys.executable, "-m", "mma_studio", "train", "--help"],):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ})
        assert done.returncode == 0
        assert "--shots" in done.stdout and "--pretrained" in done.stdout and "--blend" in done.stdout


def test_train_prints_the_runs_warnings(workspace, capsys):
    """14 images a class (one broken in cat), 10 shots + 4 validation: no base test image is left,
    so base accuracy reads "—" and the text output says why, beside the figures."""
    output = workspace / "no-base-test.safetensors"
    argv = ["train", str(workspace / "data"), "-o", str(output), *tiny(workspace), "--epochs", "2"]
    code = main([*argv, "--shots", "10", "--val-per-class", "4", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    figures = [line for line in out.splitlines() if line.startswith(("zero-shot", "adapted"))]
    assert len(figures) == 2 and all(line.split()[1] == "—" for line in figures)
    assert "warning: No base-class image is left for testing" in out
