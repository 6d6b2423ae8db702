"""The model card's "How to use these files": the exact commands for each exported file."""

from __future__ import annotations

from pathlib import Path


def usage_markdown(
    adapter_path: Path,
    *,
    class_names: list[str],
    onnx_path: Path | None = None,
    onnx_classes: list[str] | None = None,
    metrics_paths: list[Path] | None = None,
) -> str:
    adapter = adapter_path.name
    example = ",".join([*class_names[:2], "another class"]) if class_names else "a,b,c"
    lines = [
        "## How to use these files",
        "",
        f"### `{adapter}`: the adapter (open vocabulary, needs MMA Studio)",
        "",
        (
            "It holds the adapter's weights and names its backbone; MMA Studio loads that backbone and scores any "
            "class names, also ones it never trained on."
        ),
        "",
        "```sh",
        f"mma-studio predict {adapter} photo.jpg                 # the classes it was trained with",
        f'mma-studio predict {adapter} photos/ --classes "{example}"',
        f"mma-studio eval {adapter} DATA_DIR                     # figures on a folder of class folders",
        f"mma-studio export {adapter} OUT_DIR --onnx             # a standalone ONNX model",
        "```",
        "",
        "In the app: drop the file on the Demo page.",
    ]
    if onnx_path is not None:
        model = onnx_path.name
        classes = onnx_classes or class_names
        lines += [
            "",
            f"### `{model}`: the standalone classifier (needs only an ONNX runtime)",
            "",
            (
                f"The image encoder, the adapter and the class embeddings in one file, for these {len(classes)} classes "
                f"in this order: {', '.join(classes)}. `{model}.json` (the same JSON is in the model's metadata) gives "
                "the input size, the resize and crop, the mean and std, the class names, the backbone and the adapter's "
                "settings. `predict.py` beside it prepares images exactly as MMA Studio does:"
            ),
            "",
            "```sh",
            "pip install onnxruntime numpy pillow",
            f"python predict.py {model} photo.jpg --top-k 3",
            f"python predict.py {model} photos/ --json",
            "```",
            "",
            (
                "From your own code (any ONNX runtime): input `pixels`, float32, N x 3 x H x W, prepared as the JSON's "
                "`preprocessing` says; outputs `probabilities` and `logits`, N x classes."
            ),
            "",
            "```python",
            "import onnxruntime, numpy as np",
            "import predict  # the predict.py beside the model",
            f'meta = predict.load_metadata("{model}")',
            f'session = onnxruntime.InferenceSession("{model}", providers=["CPUExecutionProvider"])',
            'pixels = np.stack([predict.prepare("photo.jpg", meta["preprocessing"])])',
            'probabilities = session.run(["probabilities"], {"pixels": pixels})[0]',
            'print(meta["class_names"][int(probabilities[0].argmax())])',
            "```",
        ]
    if metrics_paths:
        names = " and ".join(f"`{path.name}`" for path in metrics_paths)
        lines += [
            "",
            f"### {names}: the figures",
            "",
            (
                "Zero-shot and adapted accuracy (per class too) as JSON; the adapter's confusion matrix as CSV "
                "(rows: true class, columns: predicted)."
            ),
        ]
    return "\n".join(lines) + "\n"
