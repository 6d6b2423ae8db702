"""The standalone ONNX export (issue 15): onnxruntime and the shipped predict.py must reproduce
`mma-studio predict` for mma-tiny adapters (random and `shapes` weights), for the adapter's
classes and for a changed class list, in float32 and with float16 weights; a cancel, a full
disk or a missing [onnx] extra leaves nothing behind."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mma_studio.cli import main
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.export import (
    ExportError,
    ExportRequest,
    OnnxUnavailableError,
    verification_images,
    write_export_set,
)
from tests.image_factory import write_exif_rotated_jpeg
from tests.ui.trained_run import train_small_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FLOAT32_TOLERANCE = 1e-4
FLOAT16_TOLERANCE = 1e-2


@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    """A TrainingRun on mma-tiny with random weights (near-uniform probabilities)."""
    return train_small_run(tmp_path_factory.mktemp("onnx-random"))[1]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """An adapter file trained on the example shapes with the `shapes` weights (confident
    predictions), and check images: held-out PNGs, a large JPEG (decoded at reduced scale) and an
    EXIF-rotated JPEG."""
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings, train_adapter
    from mma_studio.core.training import TrainConfig
    from mma_studio.toy.example_dataset import write_example_dataset

    root = tmp_path_factory.mktemp("onnx-shapes")
    data = write_example_dataset(root / "data", per_class=6)
    settings = RunSettings(
        model="mma-tiny",
        pretrained="shapes",
        device="cpu",
        shots=3,
        val_per_class=1,
        training=TrainConfig(epochs=8, patience=0),
    )
    run = train_adapter(scan_dataset(data), settings, cache=FeatureCache(root / "cache"))
    adapter = run.save(root / "shapes.safetensors")
    images = root / "images"
    images.mkdir()
    for index, path in enumerate(verification_images(run.adapted, 6)):
        Image.open(path).save(images / f"test{index}.png")
    big = Image.open(verification_images(run.adapted, 1)[0]).convert("RGB").resize((403, 301), Image.BICUBIC)
    big.save(images / "large.jpg", quality=92)  # 403x301 > 2 x 32: libjpeg decodes it at reduced scale
    write_exif_rotated_jpeg(images / "rotated.jpg")
    return adapter, images


def run_predict_py(folder: Path, model: str, images: list[Path], top_k: int) -> list[dict]:
    """The written predict.py in a fresh interpreter where torch and mma_studio cannot be imported."""
    script = (
        "import runpy, sys; sys.modules['torch'] = None; sys.modules['mma_studio'] = None; "
        f"sys.argv = ['predict.py', *{[model, *map(str, images), '--top-k', str(top_k), '--json']!r}]; "
        "runpy.run_path('predict.py', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def engine_predict(capsys, adapter: Path, images: list[Path], top_k: int, classes: str | None = None) -> list[dict]:
    """`mma-studio predict --json`: the engine's own answer."""
    capsys.readouterr()
    argv = ["predict", str(adapter), *map(str, images), "--top-k", str(top_k), "--json", "-q"]
    assert main(argv + (["--classes", classes] if classes else [])) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def assert_same_predictions(standalone: list[dict], engine: list[dict], tolerance: float) -> None:
    assert [Path(r["path"]).name for r in standalone] == [Path(r["path"]).name for r in engine]
    for ours, theirs in zip(standalone, engine):
        assert ours["top"][0]["label"] == theirs["top"][0]["label"], (ours, theirs)
        expected = {t["label"]: t["probability"] for t in theirs["top"]}
        for entry in ours["top"]:
            if entry["label"] in expected:
                assert entry["probability"] == pytest.approx(expected[entry["label"]], abs=tolerance)


def export_cli(capsys, adapter: Path, out: Path, *options: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["export", str(adapter), str(out), "--onnx", "--json", "-q", *options])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return code, lines[-1] if lines else {}


def test_a_random_weights_run_exports_an_onnx_model_that_reproduces_predict(random_run, tmp_path, capsys):
    out = tmp_path / "out"
    result = write_export_set(
        ExportRequest(random_run, out / "m.safetensors", model_card=False, metrics=False, onnx=True)
    )
    assert sorted(p.name for p in out.iterdir()) == ["m.onnx", "m.onnx.json", "m.safetensors", "predict.py"]
    assert result.verified and result.onnx_verified, result.describe()
    assert result.onnx_check.checked == 8 and result.onnx_check.largest_gap < FLOAT32_TOLERANCE
    assert "ONNX model verified" in result.describe()

    images = [Path(p) for p in verification_images(random_run.adapted, 4)]
    assert_same_predictions(
        run_predict_py(out, "m.onnx", images, 3),
        engine_predict(capsys, out / "m.safetensors", images, 3),
        FLOAT32_TOLERANCE,
    )

    import onnx  # the metadata a user needs, inside the model and beside it

    props = {p.key: p.value for p in onnx.load(str(out / "m.onnx"), load_external_data=False).metadata_props}
    beside = json.loads((out / "m.onnx.json").read_text(encoding="utf-8"))
    assert json.loads(props["mma_studio"]) == beside
    assert beside["class_names"] == list(random_run.prompt_names) == json.loads(props["class_names"])
    assert beside["preprocessing"]["input_size"] == [32, 32] and beside["preprocessing"]["jpeg_min_side"] == 64
    assert beside["backbone"]["model_name"] == "mma-tiny" and beside["adapter"]["blend"] == 0.2
    assert props["mma_studio_version"] == beside["mma_studio_version"]


def test_shapes_adapter_through_the_cli_reproduces_predict_on_pngs_a_large_jpeg_and_an_exif_photo(
    shapes, tmp_path, capsys
):
    adapter, images = shapes
    code, report = export_cli(capsys, adapter, tmp_path / "out", "--model-card", "--check-images", str(images))
    assert code == 0 and report["verified"], report
    assert report["onnx_check"]["checked"] == 8 and report["onnx_check"]["max_standalone_gap"] < FLOAT32_TOLERANCE
    paths = sorted(images.iterdir())
    assert_same_predictions(
        run_predict_py(tmp_path / "out", "shapes.onnx", paths, 5),
        engine_predict(capsys, adapter, paths, 5),
        FLOAT32_TOLERANCE,
    )
    card = (tmp_path / "out" / "shapes.md").read_text(encoding="utf-8")
    assert "python predict.py shapes.onnx photo.jpg" in card and "mma-studio predict shapes.safetensors" in card

    # The model card's Python example runs as printed, without torch or MMA Studio.
    snippet = card.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "out" / "photo.jpg").write_bytes((images / "large.jpg").read_bytes())
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['torch'] = None; "
            "sys.modules['mma_studio'] = None; sys.path.insert(0, '.')\n" + snippet,
        ],
        check=False,
        cwd=tmp_path / "out",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    expected = engine_predict(capsys, adapter, [images / "large.jpg"], 1)[0]["top"][0]["label"]
    assert done.stdout.strip() == expected


def test_a_changed_class_list_is_scored_as_predict_classes_scores_it(shapes, tmp_path, capsys):
    adapter, images = shapes
    classes = "red circle,a yellow banana,blue star,green ring"
    code, report = export_cli(capsys, adapter, tmp_path / "out", "--classes", classes, "--check-images", str(images))
    assert code == 0 and report["verified"], report
    metadata = json.loads((tmp_path / "out" / "shapes.onnx.json").read_text(encoding="utf-8"))
    assert metadata["class_names"] == classes.split(",") and metadata["classes_from"] == "export list"
    paths = sorted(images.iterdir())
    assert_same_predictions(
        run_predict_py(tmp_path / "out", "shapes.onnx", paths, 4),
        engine_predict(capsys, adapter, paths, 4, classes),
        FLOAT32_TOLERANCE,
    )


def test_float16_weights_halve_the_file_and_stay_within_their_tolerance(shapes, tmp_path, capsys):
    import onnx

    adapter, images = shapes
    assert export_cli(capsys, adapter, tmp_path / "f32", "--check-images", str(images))[0] == 0
    code, report = export_cli(capsys, adapter, tmp_path / "f16", "--float16", "--check-images", str(images))
    assert code == 0 and report["verified"], report
    assert report["onnx_check"]["tolerance"] == FLOAT16_TOLERANCE and report["onnx_check"]["float16"]
    size32 = (tmp_path / "f32" / "shapes.onnx").stat().st_size
    size16 = (tmp_path / "f16" / "shapes.onnx").stat().st_size
    assert size16 < 0.65 * size32  # mma-tiny's small tensors stay float32; ViT-B-16: 173 of 346 MB
    model = onnx.load(str(tmp_path / "f16" / "shapes.onnx"))
    halves = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert halves and all(t.name.endswith(".float16") for t in halves)
    paths = sorted(images.iterdir())
    assert_same_predictions(
        run_predict_py(tmp_path / "f16", "shapes.onnx", paths, 3),
        engine_predict(capsys, adapter, paths, 3),
        FLOAT16_TOLERANCE,
    )


def test_predict_py_prepares_every_kind_of_image_exactly_as_the_engine_does(tmp_path):
    """The standalone preprocessing is the engine's, pixel for pixel: decode (EXIF, alpha, 16-bit
    grey, CMYK, palette, reduced-scale JPEG), bicubic resize, center crop, normalisation."""
    import numpy as np

    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.export.onnx_model import preprocessing_metadata
    from mma_studio.core.export.standalone_predict import prepare
    from tests.image_factory import make_image, write_palette_png_with_transparency

    backbone = load_backbone("mma-tiny", "random", device="cpu")
    preprocessing = preprocessing_metadata(backbone)
    images = [
        make_image(tmp_path / "photo.jpg", size=(1203, 807), noise=40, seed=1, quality=90),  # decoded at 1/8
        make_image(tmp_path / "portrait.jpg", size=(97, 211), noise=40, seed=2),  # too small to decode at reduced scale
        make_image(tmp_path / "rotated.jpg", size=(300, 140), noise=30, seed=3, exif_orientation=6),
        make_image(tmp_path / "cmyk.jpg", size=(150, 150), mode="CMYK", noise=20, seed=4),
        make_image(tmp_path / "grey16.png", size=(70, 50), mode="I;16", noise=30, seed=5),
        make_image(tmp_path / "alpha.png", size=(45, 33), mode="RGBA", alpha=90, noise=20, seed=6),
        make_image(tmp_path / "grey.webp", size=(64, 64), mode="L", noise=20, seed=7),
        write_palette_png_with_transparency(tmp_path / "palette.png"),
        make_image(tmp_path / "exact.png", size=(32, 32), noise=50, seed=8),  # no resize at all
    ]
    for path in images:
        engine = backbone.preprocess(backbone.load_image(path)).numpy()
        standalone = prepare(path, preprocessing)
        assert standalone.dtype == np.float32 and standalone.shape == engine.shape == (3, 32, 32)
        assert np.array_equal(standalone, engine), (path.name, float(np.abs(standalone - engine).max()))


def test_the_float32_cpu_reference_used_for_gpu_backbones_equals_predict_on_the_cpu(random_run):
    """A GPU engine encodes images in bfloat16; the ONNX check then compares with a float32 CPU copy
    of the encoder and adapter. On a CPU backbone both routes must agree."""
    import numpy as np
    import torch

    from mma_studio.core.export.onnx_check import (
        float32_cpu_probabilities,
        reference_probabilities,
    )
    from mma_studio.core.predict import Classifier

    backbone = random_run.backbone
    classifier = Classifier(backbone, random_run.to_adapter_file())
    paths = verification_images(random_run.adapted, 4)
    pixels = torch.stack([backbone.preprocess(backbone.load_image(p)) for p in paths])
    on_cpu = reference_probabilities(classifier, pixels)
    copied = float32_cpu_probabilities(backbone.model.visual, classifier.adapter, classifier.text_features, pixels)
    assert on_cpu.shape == (4, len(random_run.prompt_names))
    np.testing.assert_allclose(copied, on_cpu, atol=1e-6)


def test_cancel_while_the_onnx_model_is_built_leaves_nothing(random_run, tmp_path):
    token = CancelToken()

    def cancel_when_building(progress):
        if progress.message.startswith("Building"):
            token.cancel()

    request = ExportRequest(random_run, tmp_path / "m.safetensors", model_card=True, metrics=True, onnx=True)
    with pytest.raises(Cancelled):
        write_export_set(request, cancel_when_building, token)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("full_on", [".onnx", "predict.py"])
def test_a_full_disk_during_the_onnx_export_leaves_nothing_half_written(random_run, tmp_path, monkeypatch, full_on):
    real_replace = os.replace

    def no_space_for(src, dst):
        if str(dst).endswith(full_on):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", no_space_for)
    request = ExportRequest(random_run, tmp_path / "m.safetensors", model_card=True, metrics=True, onnx=True)
    with pytest.raises(ExportError, match="disk is full") as raised:
        write_export_set(request)
    assert full_on.lstrip(".") in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # no adapter, card, metrics or ONNX file, and no temp file


def hide_onnxruntime(monkeypatch):
    import importlib.util

    from mma_studio.core.export import onnx_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(
        onnx_extra.importlib.util, "find_spec", lambda name, *args: None if name == "onnxruntime" else real(name, *args)
    )


def test_without_the_onnx_extra_the_export_says_how_to_install_it_and_writes_nothing(
    random_run, shapes, tmp_path, monkeypatch, capsys
):
    hide_onnxruntime(monkeypatch)
    request = ExportRequest(random_run, tmp_path / "m.safetensors", onnx=True)
    with pytest.raises(OnnxUnavailableError, match=r'onnxruntime.*pip install "mma-studio\[onnx\]"'):
        write_export_set(request)
    assert list(tmp_path.iterdir()) == []

    capsys.readouterr()
    assert main(["export", str(shapes[0]), str(tmp_path / "cli"), "--onnx", "-q"]) == 2
    assert 'pip install "mma-studio[onnx]"' in capsys.readouterr().err
    assert not (tmp_path / "cli").exists() or list((tmp_path / "cli").iterdir()) == []


def test_an_onnx_model_that_disagrees_with_predict_is_reported_and_not_called_verified(
    random_run, tmp_path, monkeypatch
):
    from mma_studio.core.export import onnx_model

    real_forward = onnx_model.StandaloneClassifier.forward

    def reversed_classes(self, pixels):
        _probabilities, logits = real_forward(self, pixels)
        logits = logits.flip(-1) * 5
        return logits.softmax(-1), logits

    monkeypatch.setattr(onnx_model.StandaloneClassifier, "forward", reversed_classes)
    result = write_export_set(
        ExportRequest(random_run, tmp_path / "m.safetensors", model_card=False, metrics=False, onnx=True)
    )
    assert result.adapter_verified and not result.onnx_verified and not result.verified
    assert result.onnx_check.mismatches
    assert "ONNX mismatch" in result.describe() and (tmp_path / "m.onnx").exists()  # kept, and the user is told


def test_train_with_export_options_writes_and_checks_the_whole_set(tmp_path, capsys):
    from tests.image_factory import make_class_dataset

    make_class_dataset(tmp_path / "data", ["ant", "bee", "cat", "dog"], per_class=6)
    out = tmp_path / "out"
    capsys.readouterr()
    code = main(
        [
            "train",
            str(tmp_path / "data"),
            "-o",
            str(out / "m.safetensors"),
            "--model",
            "mma-tiny",
            "--pretrained",
            "random",
            "--device",
            "cpu",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--shots",
            "2",
            "--val-per-class",
            "1",
            "--epochs",
            "2",
            "--model-card",
            "--metrics",
            "--onnx",
            "--json",
            "-q",
        ]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0, lines
    assert lines[-1]["event"] == "export" and lines[-1]["verified"], lines[-1]
    assert sorted(p.name for p in out.iterdir()) == [
        "m.confusion.csv",
        "m.md",
        "m.metrics.json",
        "m.onnx",
        "m.onnx.json",
        "m.safetensors",
        "predict.py",
    ]
