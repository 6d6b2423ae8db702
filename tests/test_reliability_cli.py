"""Issue 7 through the command line: bad inputs and hostile files, as a user meets them.

- The bad-input corpus (`tests.image_factory.write_bad_input_corpus`, the same oracle the
  engine and app tests use) through `check`, `train` and `predict`: every usable file is used,
  every unusable one is reported with its reason, junk is ignored, nothing crashes.
- Datasets that cannot be trained (one class, nothing usable, loose images, a file instead of a
  folder, a FIFO named like an image, names that are not valid UTF-8).
- Broken and hostile adapter files through `predict` and `eval`: a one-line reason, exit 2,
  and nothing in the file executed (a pickle whose `__reduce__` would create a marker file
  never creates it, also in a real process). Hostile backbone checkpoints: the same.

Most runs call `mma_studio.cli.main` in-process (the CLI's own code path, without paying for a
torch import per run); one run per kind goes through a real `python -m mma_studio` process.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mma_studio.cli import main
from mma_studio.core.adapter_file import load_adapter_file, save_adapter_file
from tests.image_factory import make_class_dataset, make_image, write_bad_input_corpus, write_truncated
from tests.test_adapter_file import hostile_files, make_contents

REPO = Path(__file__).resolve().parents[1]
TINY = ["--model", "mma-tiny", "--pretrained", "random"]
# Base classes chosen so the odd-but-usable formats are training and validation images.
CORPUS_BASE = "usable formats,ünïcødé class & spaces"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_bad_input_corpus(tmp_path_factory.mktemp("corpus") / "dataset")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-reliability")


def run(capsys, argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and "unexpected error" not in text, text


def error_lines(err: str) -> list[str]:
    """stderr lines that are not per-file skip notices."""
    return [line for line in err.splitlines() if line.strip() and not line.startswith("skipped ")]


def corpus_train_argv(corpus, workspace: Path, output: Path) -> list:
    """`train` on the corpus with its base classes, through the shared feature cache (--json)."""
    return [
        "train",
        corpus.root,
        "-o",
        output,
        *TINY,
        "--cache-dir",
        workspace / "cache",
        "--shots",
        "2",
        "--val-per-class",
        "1",
        "--epochs",
        "2",
        "--base-classes",
        CORPUS_BASE,
        "--json",
        "-q",
    ]


@pytest.fixture(scope="module")
def corpus_adapter(corpus, workspace):
    """An adapter trained on the corpus, through the CLI (--json), with its summary."""
    output = workspace / "corpus.safetensors"
    code = main([str(a) for a in corpus_train_argv(corpus, workspace, output)])
    assert code == 0
    return output


# --------------------------------------------------------------------------- the corpus


def test_check_json_reports_the_corpus_as_documented(corpus, capsys):
    code, out, err = run(capsys, ["check", corpus.root, "--json", "-q", "--shots", "1", "--val-per-class", "0"])
    assert_no_traceback(out, err)
    assert code == 0 and len(out.strip().splitlines()) == 1  # one JSON object
    report = json.loads(out)
    assert report["trainable"] is True and report["problems"] == []
    assert {c["name"]: c["image_count"] for c in report["classes"]} == corpus.expected_counts()
    reasons = {Path(s["path"]): s["reason"] for s in report["skipped"]}
    assert set(reasons) == {e.path for e in corpus.by_expectation("skipped")}
    for entry in corpus.by_expectation("skipped"):
        assert reasons[entry.path].strip() and "\n" not in reasons[entry.path]
        if entry.reason_hint:
            assert entry.reason_hint in reasons[entry.path].lower(), (entry.what, reasons[entry.path])
    for entry in corpus.by_expectation("ignored"):
        if entry.what == "non-image file":  # named as ignored (issue 13 item 9), never as skipped
            assert report["ignored_paths"].count(str(entry.path)) == 1
            continue
        assert json.dumps(str(entry.path))[1:-1] not in out, entry.what  # junk and hidden: never mentioned
    assert report["empty_folders"] == [str(corpus.empty_class)]
    assert any("empty class" in w and "left out" in w for w in report["warnings"])


def test_check_text_names_every_skipped_file_with_its_reason(corpus, capsys):
    code, out, err = run(capsys, ["check", corpus.root, "-q", "--shots", "1", "--val-per-class", "0"])
    assert_no_traceback(out, err)
    assert code == 0
    lines = out.splitlines()
    for entry in corpus.by_expectation("skipped"):
        matching = [line for line in lines if line.startswith(f"skipped {entry.path}: ")]
        assert len(matching) == 1, entry.what
        assert not entry.reason_hint or entry.reason_hint in matching[0].lower()
    assert f"{len(corpus.by_expectation('used'))} usable images" in lines[0]


def test_train_on_the_corpus_uses_every_usable_image_and_loses_none(corpus, corpus_adapter, workspace, capsys):
    # A second run reads the cache; its JSON lines and summary are what a script would parse.
    output = workspace / "again.safetensors"
    code, out, err = run(capsys, corpus_train_argv(corpus, workspace, output))
    assert_no_traceback(out, err)
    assert code == 0 and error_lines(err) == []
    events = [json.loads(line) for line in out.splitlines()]
    summary = events[-1]
    assert summary["event"] == "summary"
    assert sum(summary["counts"].values()) == len(corpus.by_expectation("used"))  # every usable image
    assert summary["skipped_images"] == []  # what the scan accepted, extraction decoded
    assert sorted(summary["base_classes"]) == sorted(CORPUS_BASE.split(","))
    skipped_notices = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert len(skipped_notices) == len(corpus.by_expectation("skipped"))
    loaded = load_adapter_file(corpus_adapter)
    assert set(loaded.class_names) == set(corpus.expected_counts())


def test_predict_on_the_corpus_classifies_usable_files_and_names_the_rest(corpus, corpus_adapter, capsys):
    code, out, err = run(capsys, ["predict", corpus_adapter, corpus.root, "--json", "-q", "--top-k", "2"])
    assert_no_traceback(out, err)
    assert code == 0
    results = {Path(r["path"]): r for r in map(json.loads, out.splitlines())}
    for entry in corpus.by_expectation("used"):
        assert "top" in results[entry.path] and len(results[entry.path]["top"]) == 2, entry.what
    for entry in corpus.by_expectation("skipped"):
        # Broken links and loops are not listed; a second link to a good image is classified
        # (predict classifies files, it does not deduplicate a dataset).
        if entry.path in results and entry.reason_hint != "same file":
            assert results[entry.path]["error"], entry.what
            if entry.reason_hint and entry.reason_hint != "symbolic link":
                assert entry.reason_hint in results[entry.path]["error"].lower(), entry.what
    for entry in corpus.by_expectation("ignored"):
        assert entry.path not in results, entry.what


def test_predict_text_output_survives_every_odd_file(corpus, corpus_adapter, capsys):
    code, out, err = run(capsys, ["predict", corpus_adapter, corpus.root / "broken files", "-q"])
    assert_no_traceback(out, err)
    assert code == 0
    assert sum(": skipped (" in line for line in out.splitlines()) == 7  # 8 broken, .heic is not an image name
    assert any("the_only_good_one.png: " in line and "%" in line for line in out.splitlines())


# --------------------------------------------------------------------------- datasets that cannot train


def _dataset(kind: str, root: Path) -> Path:
    if kind == "one class":
        make_class_dataset(root, {"only": 8})
    elif kind == "only an empty class":
        (root / "empty").mkdir(parents=True)
        (root / "empty" / ".DS_Store").write_bytes(bytes(8))
    elif kind == "only broken files":
        write_truncated(root / "a" / "x.jpg")
        (root / "b").mkdir(parents=True)
        (root / "b" / "y.png").write_bytes(b"")
    elif kind == "loose images":
        for i in range(3):
            make_image(root / f"{i}.png")
    elif kind == "a file, not a folder":
        root.parent.mkdir(parents=True, exist_ok=True)
        make_image(root.with_suffix(".png"))
        return root.with_suffix(".png")
    elif kind == "missing":
        pass
    return root


CANNOT_TRAIN = {
    "one class": "at least 2 base classes",
    "only an empty class": "no usable images",
    "only broken files": "no usable images",
    "loose images": "holds 3 image(s) directly",
    "a file, not a folder": "not a folder",
    "missing": "not found",
}


@pytest.mark.parametrize("kind", list(CANNOT_TRAIN))
def test_untrainable_datasets_get_a_one_line_reason_from_check_and_train(kind, tmp_path, capsys):
    data = _dataset(kind, tmp_path / "data")
    fragment = CANNOT_TRAIN[kind]
    code, out, err = run(capsys, ["check", data, "-q", "--shots", "2", "--val-per-class", "1"])
    assert_no_traceback(out, err)
    assert code == 2
    assert fragment in out + err
    code, out, err = run(
        capsys,
        [
            "train",
            data,
            "-o",
            tmp_path / "x.safetensors",
            *TINY,
            "--shots",
            "2",
            "--val-per-class",
            "1",
            "--cache-dir",
            tmp_path / "cache",
            "-q",
        ],
    )
    assert_no_traceback(out, err)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines
    assert lines[0].startswith("mma-studio train: error: ")
    assert not (tmp_path / "x.safetensors").exists()


def test_two_classes_train_as_two_base_classes_and_one_chosen_base_class_is_refused(tmp_path, capsys):
    make_class_dataset(tmp_path / "data", {"ant": 6, "bee": 6})
    common = [*TINY, "--shots", "2", "--val-per-class", "1", "--cache-dir", tmp_path / "cache", "-q"]
    code, out, err = run(capsys, ["check", tmp_path / "data", "-q", "--shots", "2", "--val-per-class", "1"])
    assert code == 0 and "base class" not in out + err, out + err
    code, out, err = run(capsys, ["train", tmp_path / "data", "-o", tmp_path / "two.safetensors", *common, "--json"])
    assert_no_traceback(out, err)
    assert code == 0 and (tmp_path / "two.safetensors").is_file()
    code, out, err = run(
        capsys, ["train", tmp_path / "data", "-o", tmp_path / "one.safetensors", *common, "--base-classes", "ant"]
    )
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "at least 2 base classes" in lines[0], lines
    assert not (tmp_path / "one.safetensors").exists()


def test_a_fifo_named_like_an_image_neither_hangs_nor_counts(tmp_path, capsys):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    make_class_dataset(tmp_path / "data", {"ant": 4, "bee": 4})
    os.mkfifo(tmp_path / "data" / "ant" / "pipe.png")  # opening it for reading would block forever
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mma_studio",
            "check",
            str(tmp_path / "data"),
            "--json",
            "-q",
            "--shots",
            "1",
            "--val-per-class",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_no_traceback(done.stdout, done.stderr)
    report = json.loads(done.stdout)
    assert {c["name"]: c["image_count"] for c in report["classes"]} == {"ant": 4, "bee": 4}


def test_names_that_are_not_valid_utf8_are_scanned_trained_and_printed(tmp_path, capsys):
    """A Latin-1 folder and file name (an old zip's), which Python sees as lone surrogates."""
    if sys.platform in ("win32", "darwin"):
        pytest.skip("the file system only stores valid Unicode names")
    data = tmp_path / "data"
    make_class_dataset(data, {"ant": 6, "bee": 6, "cat": 6})
    odd_folder = Path(os.fsdecode(os.fsencode(data) + b"/caf\xe9"))
    for i in range(6):
        make_image(Path(os.fsdecode(os.fsencode(odd_folder) + b"/img\xff%d.png" % i)), color=(40 * i, 90, 90))
    code, out, err = run(capsys, ["check", data, "-q", "--json", "--shots", "2", "--val-per-class", "1"])
    report = json.loads(out)
    assert {c["display_name"]: c["image_count"] for c in report["classes"]}["caf\ufffd"] == 6
    output = tmp_path / "odd.safetensors"
    code, out, err = run(
        capsys,
        [
            "train",
            data,
            "-o",
            output,
            *TINY,
            "--shots",
            "2",
            "--val-per-class",
            "1",
            "--epochs",
            "2",
            "--cache-dir",
            tmp_path / "cache",
            "-q",
            "--json",
        ],
    )
    assert_no_traceback(out, err)
    assert code == 0 and sum(json.loads(out.splitlines()[-1])["counts"].values()) == 24
    code, out, err = run(capsys, ["eval", output, data, "-q", "--json", "--cache-dir", tmp_path / "cache"])
    assert_no_traceback(out, err)
    assert code == 0
    # Text output in a real process (one interpreter for both commands): the folder's original
    # bytes, as `ls` shows them, and its readable name.
    script = (
        f"import sys; from mma_studio.cli import main; "
        f"sys.exit(main(['check', sys.argv[1], '-q', '--shots', '2', '--val-per-class', '1']) "
        f"or main(['predict', {str(output)!r}, sys.argv[2], '-q', '--top-k', '1']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, os.fsencode(data), os.fsencode(odd_folder)],
        cwd=REPO,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    assert b"  caf\xe9 " in done.stdout and '"caf\ufffd"'.encode() in done.stdout
    assert done.stdout.count(b"/caf\xe9/img\xff") == 6


# --------------------------------------------------------------------------- hostile adapter files


class _CreatesMarker:
    """Unpickling this calls open(marker, "w"): proof that a loader executed the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _forged_settings(path: Path, **adapter_changes) -> Path:
    contents = make_contents()
    save_adapter_file(path, contents)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    settings = json.loads(header["__metadata__"]["adapter"])
    settings.update(adapter_changes)
    header["__metadata__"]["adapter"] = json.dumps(settings)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + length :])
    return path


def hostile_adapter_files(folder: Path, marker: Path) -> dict[str, Path]:
    """Every damaged or hostile adapter file of the engine tests, plus executable pickles and
    forged settings that would allocate terabytes or crash later if trusted."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = hostile_files(folder)
    (folder / "pickle_marker.safetensors").write_bytes(pickle.dumps({"down.weight": _CreatesMarker(marker)}))
    cases["pickle_marker.safetensors"] = folder / "pickle_marker.safetensors"
    torch.save({"down.weight": _CreatesMarker(marker)}, folder / "torch_zip_marker.safetensors")
    cases["torch_zip_marker.safetensors"] = folder / "torch_zip_marker.safetensors"
    for name, changes in {
        "terabyte_dims": {"embed_dim": 60_000, "bottleneck_dim": 60_000},
        "absurd_dims": {"embed_dim": 10**12},
        "float_dims": {"embed_dim": 64.5},
        "string_scale": {"logit_scale": "inf"},
        "bool_heads": {"heads": True},
    }.items():
        cases[f"{name}.safetensors"] = _forged_settings(folder / f"{name}.safetensors", **changes)
    missing = make_contents()
    del missing.state_dict["up.bias"]
    cases["missing_tensor.safetensors"] = save_adapter_file(folder / "missing_tensor.safetensors", missing)
    extra = make_contents()
    extra.state_dict["evil.payload"] = torch.zeros(3)
    cases["extra_tensor.safetensors"] = save_adapter_file(folder / "extra_tensor.safetensors", extra)
    deep = b"[" * 100_000 + b"]" * 100_000
    (folder / "deep_json.safetensors").write_bytes(struct.pack("<Q", len(deep)) + deep)
    cases["deep_json.safetensors"] = folder / "deep_json.safetensors"
    return cases


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "EXECUTED"
    return hostile_adapter_files(folder / "files", marker), marker


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    make_class_dataset(root, {"ant": 3, "bee": 3})
    return root


@pytest.mark.parametrize("command", ["predict", "eval"])
def test_hostile_adapter_files_are_refused_in_one_line_and_never_executed(command, hostile, image_dir, capsys):
    cases, marker = hostile
    assert len(cases) == 23
    for name, path in cases.items():
        argv = (
            [command, path, image_dir / "ant" / "img_000.png"] if command == "predict" else [command, path, image_dir]
        )
        code, out, err = run(capsys, [*argv, "-q"])
        assert_no_traceback(out, err)
        lines = error_lines(err)
        assert code == 2, (name, err)
        assert len(lines) == 1 and lines[0].startswith(f"mma-studio {command}: error: {path}: "), (name, lines)
        assert len(lines[0]) < 400, (name, lines[0])
        assert out == ""
    assert not marker.exists(), "a hostile file was executed"


def test_a_pickle_adapter_in_a_real_process_is_refused_and_not_executed(tmp_path, image_dir):
    marker = tmp_path / "EXECUTED"
    evil = tmp_path / "adapter.safetensors"
    torch.save({"down.weight": _CreatesMarker(marker)}, evil)
    assert not marker.exists()
    done = subprocess.run(
        [sys.executable, "-m", "mma_studio", "predict", str(evil), str(image_dir), "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"mma-studio predict: error: {evil}: ")
    assert not marker.exists()
    # control: the same bytes really would have created the marker if unpickled
    control = tmp_path / "control.pt"
    control.write_bytes(evil.read_bytes())
    torch.load(control, weights_only=False)
    assert marker.exists()


def test_a_hostile_backbone_checkpoint_is_refused_and_not_executed(tmp_path, image_dir, capsys):
    marker = tmp_path / "EXECUTED"
    weights = tmp_path / "weights.pt"
    torch.save({"state_dict": {"visual.proj": _CreatesMarker(marker)}}, weights)
    output = tmp_path / "x.safetensors"
    code, out, err = run(
        capsys,
        [
            "train",
            image_dir,
            "-o",
            output,
            "--model",
            "mma-tiny",
            "--pretrained",
            weights,
            "--shots",
            "1",
            "--val-per-class",
            "1",
            "--base-ratio",
            "1",
            "-q",
        ],
    )
    assert_no_traceback(out, err)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "pickled" in lines[0] and "weights_only" in lines[0], lines
    assert not marker.exists() and not output.exists()


def test_an_adapter_file_that_is_a_folder_or_unreadable_is_refused(tmp_path, image_dir, capsys):
    folder = tmp_path / "dir.safetensors"
    folder.mkdir()
    code, out, err = run(capsys, ["predict", folder, image_dir, "-q"])
    assert code == 2 and "is a folder" in err and error_lines(err) == [err.strip()]
