"""The command line's contract (issue 13 items 5-9, issue 11 items 12-17): fast help, honest
progress bars, strict flags, one-line reasons with exit 2 for plain mistakes, Unix pipe
behaviour, permission errors that name the file, escaped names, the formats Pillow can open.

Runs call `mma_studio.cli.main` in-process with `--model mma-tiny --pretrained random`; the
few that need a real process (stdout closed, a broken pipe, start-up imports) start one.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mma_studio.cli import main
from tests.image_factory import make_class_dataset, make_image, write_truncated
from tests.test_reliability_cli import run

REPO = Path(__file__).resolve().parents[1]
TINY = ["--model", "mma-tiny", "--pretrained", "random"]
CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox"]
SMALL = ["--shots", "2", "--val-per-class", "1", "--epochs", "1"]  # fits 6 images per class

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, *args],
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
        check=False,
        **kwargs,
    )


# --------------------------------------------------------------------------- item 5: fast help


def test_help_and_version_import_no_torch_open_clip_or_numpy():
    script = (
        "import contextlib, io, sys\n"
        "from mma_studio.cli import main\n"
        "for argv in (['--version'], ['--help'], *[[c, '--help'] for c in "
        "('check', 'train', 'eval', 'predict', 'example')]):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try: main(argv)\n"
        "        except SystemExit: pass\n"
        "print(sorted(m for m in ('torch', 'open_clip', 'numpy', 'PIL', 'tqdm') if m in sys.modules))\n"
    )
    done = python("-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_light_defaults_are_the_engines_defaults():
    from mma_studio.core import run_defaults
    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.pipeline import RunSettings
    from mma_studio.core.training import TrainConfig

    training, adapter, settings = TrainConfig(), AdapterConfig(), RunSettings()
    assert {k: getattr(training, k) for k in run_defaults.TRAINING_DEFAULTS} == run_defaults.TRAINING_DEFAULTS
    assert {k: getattr(adapter, k) for k in run_defaults.ADAPTER_DEFAULTS} == run_defaults.ADAPTER_DEFAULTS
    assert (settings.model, settings.pretrained) == (run_defaults.DEFAULT_MODEL, run_defaults.DEFAULT_PRETRAINED)
    assert settings.templates == list(run_defaults.DEFAULT_TEMPLATES)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-contract")
    make_class_dataset(root / "data", CLASSES, per_class=6)
    return root


@pytest.fixture(scope="module")
def adapter(workspace):
    """A 6-class mma-tiny adapter (random weights: the figures do not matter here)."""
    output = workspace / "adapter.safetensors"
    code = main(
        [
            "train",
            str(workspace / "data"),
            "-o",
            str(output),
            *TINY,
            "--cache-dir",
            str(workspace / "cache"),
            "--shots",
            "2",
            "--val-per-class",
            "1",
            "--epochs",
            "1",
            "--quiet",
        ]
    )
    assert code == 0
    return output


def deny(monkeypatch, target: Path) -> None:
    """Make `target` (a file, or a folder and everything below it) unreadable, as chmod 000 does
    for a user; injected at the OS calls, because the tests may run as root, whom chmod does
    not stop."""
    target = os.path.abspath(target)

    def refused(path) -> bool:
        if isinstance(path, int):
            return False
        text = os.path.abspath(os.fsdecode(path))
        return text == target or text.startswith(target + os.sep)

    def guard(real):
        def call(path, *args, **kwargs):
            if refused(path):
                raise PermissionError(13, "Permission denied", os.fsdecode(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "open", guard(os.open))
    monkeypatch.setattr(os, "scandir", guard(os.scandir))
    monkeypatch.setattr(os, "listdir", guard(os.listdir))
    monkeypatch.setattr("builtins.open", guard(open))


# --------------------------------------------------------------------------- items 6 and 7: progress bars


def bar_output(monkeypatch, events) -> str:
    """What the CLI's progress printer writes to a terminal for these engine events."""
    from mma_studio.cli.progress import ProgressPrinter

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    printer = ProgressPrinter()
    for event in events:
        printer(event)
    printer.close()
    return stream.getvalue()


def test_bars_state_only_true_units_totals_and_rates(monkeypatch):
    from mma_studio.core.events import Progress

    loading = bar_output(
        monkeypatch,
        [
            Progress("load_model", 0, None, message="Loading ViT-B-16 · openai"),
            Progress("load_model", 1, 1, message="Loaded ViT-B-16"),
        ],
    )
    assert "Loading ViT-B-16 · openai" in loading and "0img" not in loading and "img/s" not in loading
    listing = bar_output(monkeypatch, [Progress("scan", 40, None, rate=2_396_745.0, message="listing files")])
    assert "40 images found" in listing and "/s" not in listing
    cached = bar_output(monkeypatch, [Progress("extract", 900, 900, message="900 of 900 images cached")])
    assert cached == ""  # nothing left to do: no bar, no "0/900"
    scoring = bar_output(
        monkeypatch,
        [Progress("evaluate", 0, None, message="Scoring test images"), Progress("evaluate", 1, 1, message="Done")],
    )
    assert "Scoring the test images" in scoring and "1/1" not in scoring
    extracting = bar_output(
        monkeypatch,
        [
            Progress("extract", 0, 80, message="images"),
            Progress("extract", 64, 80, rate=90.2, eta_s=2.0, message="images"),
        ],
    )
    assert "0/80 images" in extracting and "64/80 images, 90.2 images/s, 0:02 left" in extracting
    training = bar_output(monkeypatch, [Progress("train", 3, 100, rate=1500.0, message="Training the adapter")])
    assert "3/100 epochs, 1500 samples/s" in training and "epochs/s" not in training


def test_an_error_starts_on_a_line_of_its_own_after_a_bar(workspace, capsys):
    """A run that fails after a bar was drawn (here: loading weights from /dev/zero) clears it."""
    code, out, err = run(
        capsys,
        [
            "train",
            workspace / "data",
            "-o",
            workspace / "x.safetensors",
            "--model",
            "mma-tiny",
            "--pretrained",
            "/dev/zero",
            "--cache-dir",
            workspace / "cache",
            *SMALL,
        ],
    )
    assert code == 2 and out == ""
    assert re.search(r"(^|[\r\n])mma-studio train: error: Cannot load mma-tiny · /dev/zero: ", err), err
    assert "img" not in err and "does not exist" not in err


# --------------------------------------------------------------------------- item 8: strict flags


@pytest.mark.parametrize(
    "flag, hint",
    [
        ("--pretrain", "did you mean --pretrained?"),
        ("--mod", "did you mean --model?"),
        ("--modle", "did you mean --model?"),
    ],
)
def test_abbreviated_or_mistyped_flags_are_refused_with_the_subcommands_usage(workspace, capsys, flag, hint):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(workspace / "data"), "-o", str(workspace / "y.safetensors"), flag, "mma-tiny"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("usage: mma-studio train ") and f"unrecognized arguments: {flag} ({hint})" in err


def test_every_option_states_its_default():
    from mma_studio.cli.parser import CommandLine

    for command, parser in CommandLine().commands.items():
        for action in parser._actions:
            if action.option_strings and not action.required and action.dest != "help":
                assert "default" in (action.help or ""), (command, action.option_strings)
                assert "None" not in action.help, (command, action.option_strings)  # a real value, or words
            if action.dest == "help":
                assert "default" not in action.help, command  # not "(default: ==SUPPRESS==)"


def test_the_defaults_help_states_are_the_ones_used():
    import torch

    from mma_studio.core import run_defaults
    from mma_studio.core.features import default_batch_size

    assert default_batch_size(torch.device("cpu")) == run_defaults.EXTRACTION_BATCH_SIZE["cpu"]
    assert default_batch_size(torch.device("cuda")) == run_defaults.EXTRACTION_BATCH_SIZE["gpu"]


def test_train_help_explains_the_base_ratio():
    from mma_studio.cli.parser import CommandLine

    [base_ratio] = [a for a in CommandLine().commands["train"]._actions if "--base-ratio" in a.option_strings]
    assert "never fewer than 2 base classes" in base_ratio.help and "at least 2 (" not in base_ratio.help


# --------------------------------------------------------------------------- item 9


def test_predict_fails_when_every_input_was_skipped(workspace, adapter, tmp_path, capsys):
    for name in ("a.png", "b.jpg"):
        write_truncated(tmp_path / "broken" / name)
    code, out, err = run(capsys, ["predict", adapter, tmp_path / "broken", "-q"])
    assert code == 2
    assert out.count(": skipped (") == 2
    assert "none of the 2 images could be classified" in err


def test_predict_classes_that_name_nothing_are_an_error(workspace, adapter, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(adapter), str(workspace / "data" / "ant"), "--classes", ","])
    assert exit_info.value.code == 2 and "names no class" in capsys.readouterr().err


def test_another_model_alone_gets_its_own_weights_not_the_adapters_tag():
    from types import SimpleNamespace

    from mma_studio.core.classifier_backbone import classifier_backbone_arguments

    adapter_file = SimpleNamespace(backbone={"model_name": "mma-tiny", "pretrained": "shapes"})

    def choose(model, pretrained):
        return classifier_backbone_arguments(adapter_file, model, pretrained)

    assert choose(None, None) == ("mma-tiny", "shapes")
    assert choose("mma-tiny", None) == ("mma-tiny", "shapes")
    assert choose("ViT-B-16", None) == ("ViT-B-16", "openai")
    assert choose("ViT-B-16", "laion2b_s34b_b88k") == ("ViT-B-16", "laion2b_s34b_b88k")


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--model", "ViT-B-16"], ("ViT-B-16", "openai")),  # not "ViT-B-16 · random", a tag the user never typed
        ([], ("mma-tiny", "random")),
        (["--pretrained", "shapes"], ("mma-tiny", "shapes")),
    ],
)
def test_export_chooses_the_backbone_as_predict_does(workspace, adapter, monkeypatch, capsys, options, expected):
    from mma_studio.core import backbone, classifier_backbone
    from mma_studio.core.adapter_file import load_adapter_file

    asked = []

    def refuse(model, pretrained, **kwargs):
        asked.append((model, pretrained))
        raise backbone.BackboneLoadError(model, pretrained, "not loaded in this test")

    monkeypatch.setattr(backbone, "load_backbone", refuse)
    code, _out, _err = run(capsys, ["export", adapter, workspace / "export-backbone", "-q", *options])
    assert code == 2 and len(asked) == 1
    model = options[1] if options[:1] == ["--model"] else None
    pretrained = options[1] if options[:1] == ["--pretrained"] else None
    assert (
        asked[0]
        == expected
        == classifier_backbone.classifier_backbone_arguments(load_adapter_file(adapter), model, pretrained)
    )


def test_check_with_too_many_shots_says_it_once(workspace, capsys):
    code, out, _ = run(capsys, ["check", workspace / "data", "-q", "--shots", "1000"])
    assert code == 2
    assert sum("1004" in line for line in out.splitlines()) == 1  # one paragraph, not two that disagree
    code, out, _err = run(capsys, ["check", workspace / "data", "-q", "--json", "--shots", "1000"])
    report = json.loads(out)
    assert len(report["problems"]) == 1 and not any("1004" in line for line in report["advice"])


def test_eval_on_a_folder_with_few_of_the_adapters_classes_says_what_was_scored(workspace, adapter, tmp_path, capsys):
    make_class_dataset(tmp_path / "two", ["ant", "dog"], per_class=4)
    args = ["eval", adapter, tmp_path / "two", "-q", "--cache-dir", workspace / "cache"]
    code, out, _ = run(capsys, args)
    assert code == 0
    assert "scored among the 2 classes in this folder, not among all 6 classes" in out
    assert "4 of the adapter's classes are not in this folder" in out
    code, out, _err = run(capsys, [*args, "--json"])
    summary = json.loads(out)
    assert summary["adapter_classes"] == 6 and summary["evaluated_classes"] == ["ant", "dog"]
    assert summary["adapter_classes_missing"] == ["bee", "cat", "eel", "fox"]


def test_check_names_ignored_files(workspace, tmp_path, capsys):
    make_class_dataset(tmp_path / "data", ["ant", "bee"], per_class=3)
    (tmp_path / "data" / "ant" / "notes.txt").write_text("my notes")
    _, out, _ = run(capsys, ["check", tmp_path / "data", "-q", "--shots", "1", "--val-per-class", "0"])
    assert f"ignored {tmp_path / 'data' / 'ant' / 'notes.txt'}: not an image file" in out.splitlines()
    assert "1 other files ignored" in out.splitlines()[0]
    _code, out, _err = run(capsys, ["check", tmp_path / "data", "-q", "--json", "--shots", "1", "--val-per-class", "0"])
    report = json.loads(out)
    assert report["ignored_files"] == 1 and report["ignored_paths"] == [str(tmp_path / "data" / "ant" / "notes.txt")]


def test_the_default_models_load_failure_names_the_offline_route(workspace, monkeypatch, capsys):
    from mma_studio.core import backbone

    def offline(model, pretrained, **kwargs):
        raise backbone.BackboneLoadError(model, pretrained, "the weights are not downloaded and there is no network")

    monkeypatch.setattr(backbone, "load_backbone", offline)
    code, _out, err = run(
        capsys,
        [
            "train",
            workspace / "data",
            "-o",
            workspace / "z.safetensors",
            "-q",
            "--cache-dir",
            workspace / "cache",
            *SMALL,
        ],
    )
    assert code == 2 and err.count("\n") == 1
    assert "Cannot load ViT-B-16 · openai" in err and "--model mma-tiny --pretrained shapes" in err


# --------------------------------------------------------------------------- issue 11 item 12: plain mistakes


PARSE_MISTAKES = {
    "--lr nan": (["train", "D", "-o", "O", "--lr", "nan"], "argument --lr: nan is not a finite number"),
    "--weight-decay nan": (["train", "D", "-o", "O", "--weight-decay", "nan"], "argument --weight-decay: nan is not"),
    "--lr inf": (["train", "D", "-o", "O", "--lr", "inf"], "argument --lr: inf is not a finite number"),
    "huge seed": (["train", "D", "-o", "O", "--seed", "99999999999999999999"], "use 0 to 4294967295"),
    "huge bottleneck": (["train", "D", "-o", "O", "--bottleneck-dim", "100000"], "use 1 to 4096"),
    "negative shots": (["check", "D", "--shots", "-1"], "argument --shots: -1 is out of range"),
    "no images per class": (["example", "E", "--per-class", "0"], "argument --per-class: 0 is out of range"),
    "zero top-k": (["predict", "O", "D", "--top-k", "0"], "argument --top-k: 0 is out of range"),
    "device typo": (["train", "D", "-o", "O", "--device", "gpu"], "'gpu' is not a device"),
}


@pytest.mark.parametrize("name", list(PARSE_MISTAKES))
def test_plain_mistakes_in_values_are_one_line_and_exit_2(name, capsys):
    argv, reason = PARSE_MISTAKES[name]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert reason in err.splitlines()[-1] and "unexpected" not in err


def test_a_huge_bottleneck_is_refused_by_the_engine_before_allocation():
    from mma_studio.core.adapter import AdapterConfig

    with pytest.raises(ValueError, match="1 to 4096"):
        AdapterConfig(bottleneck_dim=100_000)


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_a_device_this_machine_lacks_is_one_line_and_exit_2(workspace, device, capsys):
    from mma_studio.core.devices import available_devices

    if device in available_devices():
        pytest.skip(f"this machine has {device}")
    code, _out, err = run(
        capsys,
        ["train", workspace / "data", "-o", workspace / "d.safetensors", *TINY, "--device", device, "-q", *SMALL],
    )
    assert code == 2 and err.count("\n") == 1 and "error:" in err and "unexpected" not in err


def test_example_into_a_non_empty_or_impossible_folder_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "photo.jpg").write_bytes(b"my photo")
    code, _, err = run(capsys, ["example", tmp_path / "mine", "-q"])
    assert code == 2 and "is not empty" in err and err.count("\n") == 1
    assert (tmp_path / "mine" / "photo.jpg").read_bytes() == b"my photo"
    (tmp_path / "a-file").write_text("x")
    code, _out, err = run(capsys, ["example", tmp_path / "a-file" / "inside", "-q"])
    assert code == 2 and "cannot write the example dataset" in err and err.count("\n") == 1


def test_pretrained_dev_zero_is_not_a_weights_file(workspace, capsys):
    code, _out, err = run(
        capsys,
        [
            "train",
            workspace / "data",
            "-o",
            workspace / "w.safetensors",
            "--model",
            "mma-tiny",
            "--pretrained",
            "/dev/zero",
            "-q",
            *SMALL,
        ],
    )
    assert code == 2 and "not a weights file" in err and "does not exist" not in err


def test_a_folder_that_cannot_be_listed_is_named(workspace, adapter, tmp_path, monkeypatch, capsys):
    make_class_dataset(tmp_path / "photos", ["ant"], per_class=2)
    deny(monkeypatch, tmp_path / "photos")
    code, _out, err = run(capsys, ["predict", adapter, tmp_path / "photos", "-q"])
    assert code == 2 and f"{tmp_path / 'photos'}: cannot list the folder (permission denied)" in err


def test_export_check_images_are_listed_as_predict_lists_them(workspace, adapter, tmp_path, monkeypatch, capsys):
    """--check-images goes through `core.images_to_classify`, as predict does: hidden files and
    formats this Pillow cannot open are left out, an unlistable sub-folder is a warning naming it,
    an unlistable named folder an error naming it (not a raw OSError)."""
    from mma_studio.core.export import ExportError, adapter_file_run
    from mma_studio.core.images_to_classify import images_to_classify

    checked = []

    def export_adapter_file(path, out_dir, **options):
        checked.append(options["check_images"])
        raise ExportError("stopped by the test")

    monkeypatch.setattr(adapter_file_run, "export_adapter_file", export_adapter_file)
    photos = tmp_path / "photos"
    make_image(photos / "a.png")
    make_image(photos / ".hidden.png")
    (photos / "drawing.svg").write_text("<svg/>")
    make_image(photos / "locked" / "b.png")
    deny(monkeypatch, photos / "locked")
    code, _out, err = run(capsys, ["export", adapter, tmp_path / "out", "--onnx", "--check-images", photos, "-q"])
    assert code == 2 and "stopped by the test" in err
    assert checked == [[photos / "a.png"]] == [images_to_classify(photos)]
    assert (
        f"mma-studio export: warning: {photos / 'locked'}: cannot list the folder (permission denied); "
        "its images are left out"
    ) in err.splitlines()
    deny(monkeypatch, photos)
    code, _out, err = run(capsys, ["export", adapter, tmp_path / "out", "--onnx", "--check-images", photos, "-q"])
    assert code == 2 and len(checked) == 1
    assert err.splitlines() == [
        f"mma-studio export: error: --check-images: {photos}: cannot list the folder (permission denied)"
    ]


def test_results_to_a_full_disk_are_one_line_and_exit_2(workspace, adapter):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = python("-m", "mma_studio", "predict", str(adapter), str(workspace / "data" / "ant"), "-q", stdout=full)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mma-studio predict: error: cannot write the results to standard output (No space left on device)"
    ]


# --------------------------------------------------------------------------- item 13: pipes


def test_a_reader_that_goes_away_stops_the_command_quietly(workspace, adapter):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "mma_studio", "predict", str(adapter), str(workspace / "data"), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    process.stdout.close()  # `| head -0`: the reader is gone before the first line
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err.decode() == ""  # no BrokenPipeError, no "Exception ignored"


def test_a_closed_stdout_is_refused_before_any_work(workspace, adapter):
    done = python(
        "-c",
        "import os, sys; os.close(1); from mma_studio.cli import main; "
        f"sys.exit(main(['predict', {str(adapter)!r}, {str(workspace / 'data')!r}, '-q']))",
    )
    assert done.returncode == 2
    assert "standard output is closed" in done.stderr and "Traceback" not in done.stderr


# --------------------------------------------------------------------------- item 14: permission denied


def test_permission_denied_names_the_file_everywhere(workspace, adapter, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    make_class_dataset(data, ["ant", "bee"], per_class=4)
    secret = data / "ant" / "img_000.png"
    deny(monkeypatch, secret)
    code, out, err = run(capsys, ["check", data, "-q", "--shots", "1", "--val-per-class", "0"])
    assert f"skipped {secret}: permission denied" in out.splitlines()
    code, out, err = run(capsys, ["predict", adapter, secret, "-q"])
    assert f"{secret}: skipped (permission denied)" in out
    code, out, err = run(capsys, ["eval", adapter, data, "-q", "--json", "--cache-dir", tmp_path / "cache"])
    assert code == 0 and f"skipped {secret}: permission denied" in err.splitlines()
    monkeypatch.undo()

    deny(monkeypatch, adapter)
    code, out, err = run(capsys, ["predict", adapter, secret, "-q"])
    assert code == 2 and f"{adapter}: permission denied" in err
    monkeypatch.undo()

    locked = tmp_path / "locked"
    locked.mkdir()
    deny(monkeypatch, locked)
    code, out, err = run(
        capsys,
        [
            "train",
            data,
            "-o",
            locked / "a.safetensors",
            *TINY,
            "-q",
            "--shots",
            "1",
            "--val-per-class",
            "1",
            "--epochs",
            "1",
            "--cache-dir",
            tmp_path / "cache",
        ],
    )
    assert code == 2 and str(locked / "a.safetensors") in err and "Permission denied" in err


# --------------------------------------------------------------------------- item 15: decoder warnings


def write_tiff_with_oversized_tag(path: Path) -> Path:
    """A TIFF that decodes, but whose description tag claims more bytes than the file holds:
    Pillow warns "Tag data larger than file. Skipping tag 271" without naming the file."""
    from PIL import Image, TiffImagePlugin

    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[271] = "M" * 64
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), (200, 0, 0)).save(path, tiffinfo=info)
    data = bytearray(path.read_bytes())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for index in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * index
        if struct.unpack_from("<H", data, entry)[0] == 271:
            struct.pack_into("<I", data, entry + 4, 4 * len(data))  # the count: larger than the file
    path.write_bytes(bytes(data))
    return path


def test_decoder_warnings_name_their_file_once_each(tmp_path, capsys):
    make_class_dataset(tmp_path / "data", ["ant", "bee"], per_class=2)
    odd = [write_tiff_with_oversized_tag(tmp_path / "data" / name / "odd.tif") for name in ("ant", "bee")]
    code, _out, err = run(capsys, ["check", tmp_path / "data", "-q", "--shots", "1", "--val-per-class", "0"])
    assert code == 0
    for path in odd:
        line = f"mma-studio check: warning: {path}: Tag data larger than file. Skipping tag 271"
        assert err.splitlines().count(line) == 1, err


# --------------------------------------------------------------------------- item 16: control characters


def test_names_with_control_characters_are_escaped_in_text_and_raw_in_json(tmp_path, capsys):
    names = ["line\nbreak", "esc\x1b[31mred", "tab\there"]
    make_class_dataset(tmp_path / "data", names, per_class=2)
    _, out, _ = run(capsys, ["check", tmp_path / "data", "-q", "--shots", "1", "--val-per-class", "0"])
    assert "\x1b" not in out and "\t" not in out
    lines = out.splitlines()
    assert len(lines) == 1 + len(names) + 1  # summary, one line per class, the missing-formats note
    for escaped in ("line\\nbreak", "esc\\e[31mred", "tab\\there"):
        assert any(line.startswith(f"  {escaped}") for line in lines), lines
    _code, out, _err = run(capsys, ["check", tmp_path / "data", "-q", "--json", "--shots", "1", "--val-per-class", "0"])
    assert sorted(c["name"] for c in json.loads(out)["classes"]) == sorted(names)


def test_printable_escapes_controls_but_keeps_text():
    from mma_studio.cli.output import printable

    assert printable("café 猫 🐈") == "café 猫 🐈"
    assert printable("a\nb\rc\td\x1be\x07f\x7fg") == "a\\nb\\rc\\td\\ee\\x07f\\x7fg"
    assert printable("evil\u202egpj.exe") == "evil\\u202egpj.exe"
    assert printable("raw\udcffbyte") == "raw\udcffbyte"  # a non-UTF-8 byte, printed as the byte


# --------------------------------------------------------------------------- item 17: image formats


def test_the_accepted_extensions_are_what_this_pillow_opens():
    from PIL import features

    from mma_studio.core.image_formats import (
        missing_common_formats,
        readable_extensions,
    )

    readable = readable_extensions()
    assert {".jpg", ".png"} <= readable
    assert (".avif" in readable) == bool(features.check("avif"))
    assert (".webp" in readable) == bool(features.check("webp"))
    assert ".eps" not in readable and ".ps" not in readable  # Ghostscript would run on them
    assert ("AVIF" in missing_common_formats()) == (not features.check("avif"))


def test_avif_images_are_used_where_pillow_decodes_them_and_missing_formats_are_named(tmp_path, capsys):
    from PIL import features

    from mma_studio.core.image_formats import missing_common_formats

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF support")
    make_class_dataset(tmp_path / "data", ["ant", "bee"], per_class=2)
    make_image(tmp_path / "data" / "ant" / "photo.avif", fmt="AVIF")
    (tmp_path / "data" / "bee" / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(32))
    _, out, _ = run(capsys, ["check", tmp_path / "data", "-q", "--json", "--shots", "1", "--val-per-class", "0"])
    report = json.loads(out)
    assert {c["name"]: c["image_count"] for c in report["classes"]} == {"ant": 3, "bee": 2}
    assert report["unreadable_formats"] == missing_common_formats()
    if "HEIC/HEIF" in missing_common_formats():
        [skipped] = report["skipped"]
        assert skipped["path"].endswith("phone.heic") and "not supported" in skipped["reason"]
        _code, out, _err = run(capsys, ["check", tmp_path / "data", "-q", "--shots", "1", "--val-per-class", "0"])
        assert any(
            line.startswith("note: this installation cannot open ") and "HEIC/HEIF" in line for line in out.splitlines()
        )
