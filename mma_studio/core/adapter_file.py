"""The adapter file: one `.safetensors` file with the weights and everything needed to reload them.

Tensors: the adapter's parameters under their module names (`down.weight`, `attn.in_proj_weight`,
... as `nn.MultiheadAttention` packs them), plus `meta.class_text_features`, the frozen text
embeddings of the trained classes, which lets a reader check that it runs the same backbone.
Metadata (all strings, JSON where structured): format and version, adapter settings, backbone,
preprocessing, classes in order with their base/new role, prompt templates, training settings,
metrics. Loading never unpickles: safetensors holds raw tensors only, and every field is
validated before use, so a damaged or foreign file is refused with a one-line reason.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mma_studio import __version__
from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter
from mma_studio.core.atomic_write import write_bytes_atomically

FORMAT_NAME = "mma-studio-adapter"
FORMAT_VERSION = 1
TEXT_FEATURES_KEY = "meta.class_text_features"
MAX_HEADER_BYTES = 16 * 1024 * 1024  # an adapter's header is a few kB; refuse absurd claims early
# An adapter is kilobytes to a few MB (its class embeddings: 10,000 classes x 1280 x fp16 = 26 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024
ROLES = ("base", "new")

# What an adapter file may declare, checked before any text is encoded: every class name and
# template becomes prompts for the text encoder, so a forged 4 MB header declaring 200,000
# names kept `predict` busy for a minute (and 4 GB at 300,000). The class count is bounded by
# what the file stores (one stored embedding row per class) and by these caps.
MAX_CLASSES = 20_000  # ImageNet-21k's leaf classes would need about this many
MAX_CLASSES_WITHOUT_EMBEDDINGS = 1_000  # a file without stored class embeddings is not our trainer's
MAX_NAME_CHARS = 256  # CLIP reads 77 tokens; a longer name is truncated anyway
MAX_TEMPLATES = 128  # CoOp's ImageNet set has 80
MAX_TEMPLATE_CHARS = 256
MAX_PROMPTS = 100_000  # classes x templates: text-encoder passes


class AdapterFileError(Exception):
    """The file cannot be used as an adapter file; the message names the file and the reason."""


@dataclass
class AdapterFile:
    """The contents of an adapter file, validated."""

    adapter_config: AdapterConfig
    state_dict: dict[str, torch.Tensor]
    class_names: list[str]  # the prompts' class names, in label order
    roles: list[str]  # "base" or "new", per class
    templates: list[str]
    backbone: dict  # model, pretrained, weights_id, preprocess_id, embed_dim, logit_scale, ...
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    class_text_features: torch.Tensor | None = None  # (N, D), as the training backbone encoded them
    created: str = ""
    app_version: str = __version__
    format_version: int = FORMAT_VERSION

    @property
    def base_classes(self) -> list[str]:
        return [name for name, role in zip(self.class_names, self.roles) if role == "base"]

    @property
    def new_classes(self) -> list[str]:
        return [name for name, role in zip(self.class_names, self.roles) if role == "new"]

    def build_adapter(self) -> MultiModalAdapter:
        """The adapter with the file's weights, built on the meta device first: a random
        initialisation would be thrown away, and it drew from torch's global generator, which
        a thread building seeded random weights meanwhile shares (its weights then changed)."""
        with torch.device("meta"):
            adapter = MultiModalAdapter.from_config(self.adapter_config)
        dtypes = {name: t.dtype for name, t in adapter.state_dict().items()}
        weights = {name: t.to(dtype=dtypes.get(name, t.dtype), copy=True) for name, t in self.state_dict.items()}
        adapter.load_state_dict(weights, strict=True, assign=True)
        adapter.eval()
        for parameter in adapter.parameters():
            parameter.requires_grad_(False)
        return adapter

    def summary(self) -> dict:
        """What the app and `predict --json` show about a file."""
        return {
            "format_version": self.format_version,
            "app_version": self.app_version,
            "created": self.created,
            "backbone": self.backbone,
            "adapter": self.adapter_config.to_dict(),
            "classes": [{"name": n, "role": r} for n, r in zip(self.class_names, self.roles)],
            "templates": self.templates,
            "training": self.training,
            "metrics": self.metrics,
        }


def save_adapter_file(path: Path | str, contents: AdapterFile) -> Path:
    """Write atomically: a reader never sees a half-written file, an old file survives a failure."""
    from safetensors.torch import save

    _validate_classes(Path(path), contents.class_names, contents.roles)
    tensors = {name: tensor.detach().cpu().contiguous().float() for name, tensor in contents.state_dict.items()}
    if contents.class_text_features is not None:
        tensors[TEXT_FEATURES_KEY] = contents.class_text_features.detach().cpu().contiguous().to(torch.float16)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "app_version": __version__,
        "created": contents.created or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "adapter": json.dumps(contents.adapter_config.to_dict()),
        "backbone": json.dumps(contents.backbone),
        "classes": json.dumps(contents.class_names),
        "roles": json.dumps(contents.roles),
        "templates": json.dumps(contents.templates),
        "training": json.dumps(contents.training),
        "metrics": json.dumps(contents.metrics),
    }
    return write_bytes_atomically(Path(path), save(tensors, metadata=metadata))


def load_adapter_file(path: Path | str) -> AdapterFile:
    return load_adapter_file_and_bytes(path)[0]


def load_adapter_file_and_bytes(path: Path | str) -> tuple[AdapterFile, bytes]:
    """The adapter file and the bytes it was read from, for an export that copies the file:
    the copy is then the file that was checked, read once."""
    path = Path(path)

    def refuse(reason: str) -> AdapterFileError:
        return AdapterFileError(f"{path}: {reason}")

    header = _read_safetensors_header(path, refuse)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise refuse("not an MMA Studio adapter file (a safetensors file without the adapter metadata)")
    try:
        version = int(metadata.get("format_version", ""))
    except (TypeError, ValueError):
        raise refuse(f"unreadable format version {_brief(metadata.get('format_version'))}") from None
    if version > FORMAT_VERSION:
        raise refuse(
            f"format version {version} is newer than this MMA Studio understands ({FORMAT_VERSION}); update the app"
        )
    if version < 1:
        raise refuse(f"invalid format version {version}")

    def json_field(name: str, kind: type):
        if name not in metadata:
            raise refuse(f"metadata field '{name}' is missing")
        try:
            value = json.loads(metadata[name])
        except (TypeError, ValueError, RecursionError):  # also absurd nesting or 5000-digit numbers
            raise refuse(f"metadata field '{name}' is not valid JSON") from None
        if not isinstance(value, kind):
            raise refuse(f"metadata field '{name}' should be a JSON {kind.__name__}")
        return value

    adapter_config = _adapter_settings(json_field("adapter", dict), refuse)
    backbone = json_field("backbone", dict)
    class_names = json_field("classes", list)
    roles = json_field("roles", list)
    templates = json_field("templates", list)
    training = json_field("training", dict)
    metrics = json_field("metrics", dict)
    _check_types(backbone, BACKBONE_FIELDS, "backbone", refuse)
    _check_types(training, TRAINING_FIELDS, "training", refuse)
    for name in ("zero_shot", "adapted"):
        figures = metrics.get(name)
        if figures is None:
            continue
        if not isinstance(figures, dict) or not all(_is_number(v) or v is None for v in figures.values()):
            raise refuse(f"metadata field 'metrics' has unreadable {name} figures")
    if not all(isinstance(name, str) for name in class_names):
        raise refuse("class names must be strings")
    if not templates or not all(isinstance(t, str) and "{}" in t for t in templates):
        raise refuse("prompt templates must be strings containing '{}'")
    problem = class_list_problem(class_names, templates)
    if problem:
        raise refuse(problem)
    try:
        _validate_classes(path, class_names, roles)
    except AdapterFileError as exc:
        raise exc

    # Shapes from a module on the meta device: nothing is allocated, so a header that claims a
    # gigantic adapter cannot exhaust memory before the tensors are checked against the file.
    with torch.device("meta"):
        expected = {
            name: tuple(t.shape) for name, t in MultiModalAdapter.from_config(adapter_config).state_dict().items()
        }
    declared = {name: info for name, info in header.items() if name != "__metadata__"}
    declared_weights = {name for name in declared if name != TEXT_FEATURES_KEY}
    missing = sorted(set(expected) - declared_weights)
    extra = sorted(declared_weights - set(expected))
    if missing:
        raise refuse(f"missing adapter tensors: {', '.join(missing)}")
    if extra:
        raise refuse(f"unexpected tensors: {', '.join(extra)}")
    for name, shape in expected.items():
        got = tuple(declared[name].get("shape", ()))
        if got != shape:
            raise refuse(f"tensor {name} has shape {list(got)}, the adapter settings need {list(shape)}")
    if TEXT_FEATURES_KEY in declared:
        shape = tuple(declared[TEXT_FEATURES_KEY].get("shape", ()))
        if shape != (len(class_names), adapter_config.embed_dim):
            raise refuse(
                f"the class list has {len(class_names)} classes of dimension {adapter_config.embed_dim}, "
                f"but the stored class embeddings have shape {list(shape)}"
            )
    elif len(class_names) > MAX_CLASSES_WITHOUT_EMBEDDINGS:
        raise refuse(
            f"it declares {len(class_names)} classes but stores no class embeddings to back them "
            f"(at most {MAX_CLASSES_WITHOUT_EMBEDDINGS} without them)"
        )

    try:
        from safetensors.torch import load

        from mma_studio.core.user_files import read_regular_file

        # Read through the same checks as the header (the file could have been swapped for a
        # pipe since); the size is capped, so reading it whole is bounded.
        data = read_regular_file(path, MAX_FILE_BYTES, what="an adapter file")
        tensors = load(data)
    except Exception as exc:  # safetensors raises its own error types for damaged payloads
        raise refuse(f"damaged tensor data ({exc})") from None
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise refuse(f"tensor {name} contains NaN or infinite values")
    text_features = tensors.pop(TEXT_FEATURES_KEY, None)
    contents = AdapterFile(
        adapter_config=adapter_config,
        state_dict=tensors,
        class_names=class_names,
        roles=roles,
        templates=templates,
        backbone=backbone,
        training=training,
        metrics=metrics,
        class_text_features=text_features.float() if text_features is not None else None,
        created=str(metadata.get("created", "")),
        app_version=str(metadata.get("app_version", "")),
        format_version=version,
    )
    return contents, data


MAX_DIM = 65_536  # far above any CLIP width (ViT-bigG: 1280); refuses absurd settings early
MAX_HEADS = 1024
# Fields other code reads from `backbone` and `training`, with the types it relies on: a
# forged file with other types is refused here instead of failing later in predict or eval.
BACKBONE_FIELDS = {
    "model": str,
    "model_name": str,
    "pretrained": str,
    "description": str,
    "weights_id": str,
    "embed_dim": int,
    "is_random": bool,
}
TRAINING_FIELDS = {
    "folders": list,
    "shots": int,
    "val_per_class": int,
    "seed": int,
    "display_names": dict,
    "best_epoch": int,
    "epochs_run": int,
    "training": dict,
    "augment_views": int,
}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _adapter_settings(raw: dict, refuse) -> AdapterConfig:
    """Adapter settings with the types and ranges the module needs, or a refusal."""

    def bad(reason: str) -> AdapterFileError:
        return refuse(f"invalid adapter settings ({reason})")

    dims = {"embed_dim": raw.get("embed_dim", 512), "heads": raw.get("heads", 4)}
    if raw.get("bottleneck_dim") is not None:
        dims["bottleneck_dim"] = raw["bottleneck_dim"]
    for name, value in dims.items():
        limit = MAX_HEADS if name == "heads" else MAX_DIM
        if not _is_int(value) or not 1 <= value <= limit:
            raise bad(f"{name} must be a whole number from 1 to {limit}, not {_brief(value)}")
    for name in ("blend", "logit_scale"):
        value = raw.get(name, 1.0)
        if not _is_number(value) or not math.isfinite(value):
            raise bad(f"{name} must be a finite number, not {_brief(value)}")
    if raw.get("logit_scale", 1.0) <= 0:
        raise bad("logit_scale must be positive")
    for name in ("adapt", "mask", "projection"):
        if name in raw and not isinstance(raw[name], str):
            raise bad(f"{name} must be a string")
    try:
        return AdapterConfig.from_dict(raw)
    except (TypeError, ValueError) as exc:
        raise bad(str(exc)) from None


def _check_types(data: dict, types: dict, field_name: str, refuse) -> None:
    for key, kind in types.items():
        value = data.get(key)
        if value is None:
            continue
        ok = _is_int(value) if kind is int else isinstance(value, kind)
        if ok and key == "folders":
            ok = all(isinstance(item, str) for item in value)
        if ok and key == "display_names":
            ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        if not ok:
            raise refuse(f"metadata field '{field_name}' has an invalid {key!r} ({type(value).__name__})")


def class_list_problem(class_names, templates=("{}",)) -> str | None:
    """Why this class list and these templates are too much to encode, or None. The same
    caps apply to a file's classes and to names a user types for prediction."""
    if len(class_names) > MAX_CLASSES:
        return f"{len(class_names)} class names (at most {MAX_CLASSES})"
    long = next((n for n in class_names if len(n) > MAX_NAME_CHARS), None)
    if long is not None:
        return f"a class name of {len(long)} characters (at most {MAX_NAME_CHARS}): {_brief(long)}"
    if len(templates) > MAX_TEMPLATES:
        return f"{len(templates)} prompt templates (at most {MAX_TEMPLATES})"
    long = next((t for t in templates if len(t) > MAX_TEMPLATE_CHARS), None)
    if long is not None:
        return f"a prompt template of {len(long)} characters (at most {MAX_TEMPLATE_CHARS}): {_brief(long)}"
    if len(class_names) * len(templates) > MAX_PROMPTS:
        return (
            f"{len(class_names)} classes x {len(templates)} templates = {len(class_names) * len(templates)} "
            f"prompts to encode (at most {MAX_PROMPTS})"
        )
    return None


def _validate_classes(path: Path, class_names: list, roles: list) -> None:
    if not class_names:
        raise AdapterFileError(f"{path}: the class list is empty")
    if len(roles) != len(class_names):
        raise AdapterFileError(f"{path}: {len(class_names)} classes but {len(roles)} roles")
    if any(role not in ROLES for role in roles):
        raise AdapterFileError(f"{path}: class roles must be 'base' or 'new'")
    if len(set(class_names)) != len(class_names):
        raise AdapterFileError(f"{path}: the class list has duplicate names")


def _read_safetensors_header(path: Path, refuse) -> dict:
    """Read and sanity-check the JSON header without trusting any declared size."""
    from mma_studio.core.user_files import UserFileError, open_regular_file

    try:
        with open_regular_file(path, MAX_FILE_BYTES, what="an adapter file") as stream:
            size = os.fstat(stream.fileno()).st_size
            prefix = stream.read(8)
            if size == 0:
                raise refuse("the file is empty")
            if len(prefix) < 8:
                raise refuse("the file is truncated (shorter than a safetensors header)")
            (header_length,) = struct.unpack("<Q", prefix)
            if header_length > MAX_HEADER_BYTES or header_length > size - 8:
                raise refuse("not a safetensors file, or truncated (its header length is impossible)")
            raw = stream.read(header_length)
    except FileNotFoundError:
        raise AdapterFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AdapterFileError(f"{path}: is a folder, not an adapter file") from None
    except PermissionError:
        raise AdapterFileError(f"{path}: permission denied") from None
    except UserFileError as exc:
        raise AdapterFileError(str(exc)) from None
    except OSError as exc:
        raise AdapterFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, absurd nesting or 5000-digit numbers
        raise refuse("not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise refuse("not a safetensors file (its header is not a JSON object)")
    payload = size - 8 - header_length
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or "data_offsets" not in info or "shape" not in info:
            raise refuse(f"tensor entry {name!r} is malformed")
        offsets = info["data_offsets"]
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
            or offsets[1] > payload
        ):
            raise refuse(f"tensor {name!r} points outside the file (truncated or forged)")
    return header
