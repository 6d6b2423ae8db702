"""Load a frozen open_clip CLIP: a pretrained tag, a local weights file or folder, the shipped
demo weights, or explicitly requested random weights.

Everything funnels into open_clip's own `create_model`, so a backbone built here is exactly
the model open_clip users know. What this module adds is what a desktop app needs around it:

- the `openai` tag always runs the QuickGELU variant of the architecture (open_clip would
  otherwise quietly pair OpenAI weights with the wrong activation);
- pretrained weights are looked up in the Hugging Face cache *before* anything touches the
  network, and without a network the load fails in seconds with a message that names the
  model, the cache folder and the local-file route (never a minute of retries);
- weights never fall back to random silently, and files are read without unpickling code;
- each backbone carries fingerprints of its weights and preprocessing, which key the
  feature cache and are written into adapter files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import hashlib
import json
import logging
import os
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from mma_studio.core.backbone_catalogue import (
    DEMO_TAG,
    FILE_PREFIX,
    LOCAL_DIR_PREFIX,
    RANDOM_TAG,
    TINY_MODEL,
    BackboneChoice,
    catalogue_choices,
    shipped_weights_path,
)
from mma_studio.core.backbone_catalogue import recommended_choice as _recommended_among
from mma_studio.core.cancellation import Cancelled, CancelToken, check
from mma_studio.core.devices import autocast_context, choose_device
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.hub_cache import cached_hub_file, hub_cache_dir, hub_weights_filenames
from mma_studio.core.images import load_rgb_image
from mma_studio.core.model_configs import register_shipped_model_configs
from mma_studio.core.recommended_backbones import RECOMMENDED_BACKBONES
from mma_studio.core.seeded_init import drawing_unseeded, seeded

WEIGHT_FILE_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
DEFAULT_RANDOM_SEED = 0
PROBE_TIMEOUT_S = 3.0
DEFAULT_HF_ENDPOINT = "https://huggingface.co"

# Shown first in the chooser: the paper's backbone and the common open_clip defaults
# (the list and its hub files live in `recommended_backbones`, read without open_clip).
SUGGESTED_PRETRAINED = tuple((entry.model, entry.pretrained) for entry in RECOMMENDED_BACKBONES)

LOCAL_FILE_HINT = (
    "use a local weights file instead: --pretrained /path/to/weights.safetensors (or 'Local weights file…' in the app)"
)


class BackboneLoadError(Exception):
    """A backbone could not be loaded; the message says which, why, and what to do."""

    def __init__(
        self,
        model: str,
        pretrained: str,
        reason: str,
        *,
        hint: str = "",
        cache_dir: Path | str | None = None,
    ) -> None:
        self.model = model
        self.pretrained = pretrained
        self.reason = reason
        self.hint = hint
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        message = f"Cannot load {model} · {pretrained}: {reason}"
        if self.cache_dir is not None:
            message += f" (Hugging Face cache: {self.cache_dir})"
        if hint:
            message += f". To fix: {hint}"
        super().__init__(message if message.endswith((".", "?", "!")) else message + ".")


# --------------------------------------------------------------------------- the loaded model


@dataclass
class Backbone:
    """A frozen CLIP ready to encode images and texts, with fingerprints of what it is."""

    model_name: str  # the open_clip architecture actually built (e.g. ViT-B-16-quickgelu)
    pretrained: str  # tag, "random", "random:<seed>", "file:<path>" or "local-dir:<path>"
    model: Any  # an open_clip CLIP (a torch.nn.Module with encode_image and encode_text)
    preprocess: Callable
    tokenizer: Callable
    device: torch.device
    embed_dim: int
    logit_scale: float
    weights_id: str
    preprocess_id: str
    is_random: bool
    preprocess_cfg: dict = dataclasses.field(default_factory=dict)
    text_batch_size: int = 256

    @property
    def decode_min_side(self) -> int:
        """The smallest side an image file is decoded at: twice the model's input side."""
        size = self.preprocess_cfg.get("size", 224) if self.preprocess_cfg else 224
        side = max(size) if isinstance(size, (list, tuple)) else int(size)
        return DECODE_SIDE_FACTOR * side

    def load_image(self, path: Path | str):
        """Decode an image file the way every engine path does before `preprocess`: upright RGB,
        a large JPEG at reduced scale (never below `decode_min_side`). Raises UnusableImageError."""
        return load_rgb_image(path, min_side=self.decode_min_side)

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) preprocessed pixels -> (B, D) float32 L2-normalised features, on the CPU."""
        with torch.inference_mode():
            pixels = pixels.to(self.device, non_blocking=True)
            with autocast_context(self.device):
                features = self.model.encode_image(pixels)
            features = F.normalize(features.float(), dim=-1).cpu()
        return features.clone()  # an ordinary tensor: callers may use it with autograd or in place

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Texts -> (T, D) float32 L2-normalised features, on the CPU."""
        texts = list(texts)
        if not texts:
            return torch.zeros(0, self.embed_dim)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.text_batch_size):
                tokens = self.tokenizer(texts[start : start + self.text_batch_size]).to(self.device)
                with autocast_context(self.device):
                    features = self.model.encode_text(tokens)
                chunks.append(F.normalize(features.float(), dim=-1).cpu())
            features = torch.cat(chunks)
        return features.clone()

    def describe(self) -> str:
        """A one-line human label, e.g. "ViT-B-16 · openai"."""
        if self.is_random:
            return f"{self.model_name} · random weights (for testing)"
        if self.pretrained == DEMO_TAG and self.model_name == TINY_MODEL:
            return f"{self.model_name} · {DEMO_TAG} (demo model)"
        if self.pretrained.startswith(FILE_PREFIX):
            return f"{self.model_name} · local file {Path(self.pretrained[len(FILE_PREFIX) :]).name}"
        if self.pretrained.startswith(LOCAL_DIR_PREFIX):
            return f"{self.model_name} · local folder {Path(self.pretrained[len(LOCAL_DIR_PREFIX) :]).name}"
        name = self.model_name
        if self.pretrained == "openai" and name.endswith("-quickgelu"):
            name = name[: -len("-quickgelu")]
        return f"{name} · {self.pretrained}"

    def to_metadata(self) -> dict:
        """What an adapter file records so that the same backbone can be reloaded and checked."""
        return {
            "model_name": self.model_name,
            "pretrained": self.pretrained,
            "weights_id": self.weights_id,
            "preprocess_id": self.preprocess_id,
            "preprocess": _jsonable(self.preprocess_cfg),
            "embed_dim": self.embed_dim,
            "logit_scale": self.logit_scale,
            "is_random": self.is_random,
            "description": self.describe(),
        }


# --------------------------------------------------------------------------- name resolution


def resolve_architecture(model_name: str, pretrained: str) -> tuple[str, bool]:
    """The open_clip architecture to build for (model, tag), and whether to force QuickGELU.

    OpenAI's weights were trained with QuickGELU. open_clip ships `<name>-quickgelu` configs
    for them, but `create_model("ViT-B-16", "openai")` uses the plain config and only warns.
    We build the `-quickgelu` config instead, or force QuickGELU where no such config exists.
    """
    register_shipped_model_configs()
    import open_clip
    from open_clip.pretrained import get_pretrained_cfg

    name = model_name.replace("/", "-")
    tag_cfg = get_pretrained_cfg(name, pretrained) if pretrained else {}
    wants_quick_gelu = pretrained == "openai" or bool(tag_cfg.get("quick_gelu", False))
    if not wants_quick_gelu or name.endswith("-quickgelu"):
        return name, False
    config = open_clip.get_model_config(name) or {}
    if config.get("quick_gelu", False):
        return name, False
    variant = f"{name}-quickgelu"
    if variant in open_clip.list_models():
        return variant, False
    return name, True


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT).rstrip("/")


def hub_offline() -> bool:
    """True when the user told huggingface_hub not to use the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_candidates(tag_cfg: dict) -> tuple[str, list[str]] | None:
    """(repo id, filenames to try in order) for a pretrained config; safetensors first."""
    hf_hub = tag_cfg.get("hf_hub", "")
    if not hf_hub:
        return None
    repo_id, filename = os.path.split(hf_hub)
    return repo_id, hub_weights_filenames(filename)


def _cached_checkpoint(tag_cfg: dict) -> str | None:
    """The path of the weights in the local cache, or None (never touches the network)."""
    if tag_cfg.get("file"):
        return tag_cfg["file"] if os.path.isfile(tag_cfg["file"]) else None
    candidates = _hub_candidates(tag_cfg)
    if candidates is None:
        url = tag_cfg.get("url", "")
        target = os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(url)) if url else ""
        return target if target and os.path.isfile(target) else None
    repo_id, filenames = candidates  # the same folder reading the chooser's catalogue does
    found = cached_hub_file(repo_id, filenames, hub_cache_dir())
    return str(found) if found is not None else None


def is_pretrained_cached(model_name: str, tag: str) -> bool:
    """True when (model, tag) loads without a network: cached, shipped, local or random."""
    kind, value = _classify(model_name, tag)
    if kind == "random":
        return True
    if kind == "demo":
        return shipped_weights_path().is_file()
    if kind == "file":
        return Path(value).is_file()
    if kind == "local-dir":
        return Path(value).is_dir()
    from open_clip.pretrained import get_pretrained_cfg

    arch, _ = resolve_architecture(model_name, tag)
    tag_cfg = get_pretrained_cfg(arch, tag)
    return bool(tag_cfg) and _cached_checkpoint(tag_cfg) is not None


def _classify(model_name: str, pretrained: str) -> tuple[str, str]:
    """Which loading route a (model, pretrained) pair takes: (kind, value)."""
    spec = (pretrained or "").strip()
    if model_name.startswith(LOCAL_DIR_PREFIX):
        return "local-dir", model_name[len(LOCAL_DIR_PREFIX) :]
    if spec == RANDOM_TAG or spec.startswith(RANDOM_TAG + ":"):
        return "random", spec
    if spec.startswith(FILE_PREFIX):
        return "file", spec[len(FILE_PREFIX) :]
    if spec.startswith(LOCAL_DIR_PREFIX):
        return "local-dir", spec[len(LOCAL_DIR_PREFIX) :]
    if model_name == TINY_MODEL and spec == DEMO_TAG:
        return "demo", spec
    looks_like_path = (
        os.sep in spec or "/" in spec or spec.lower().endswith(WEIGHT_FILE_SUFFIXES) or spec.startswith("~")
    )
    if spec and looks_like_path:  # a bare word is always a tag, even if a file has that name
        expanded = os.path.expanduser(spec)
        return ("local-dir" if os.path.isdir(expanded) else "file"), expanded
    return "tag", spec


# --------------------------------------------------------------------------- fingerprints

_hash_memo: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def _check_weights_file(model_name: str, pretrained: str, path: Path) -> None:
    """A weights file the user named must be a regular file: a FIFO would block open_clip's
    reader for ever, and `/dev/zero` would never end."""
    from mma_studio.core.user_files import UserFileError, check_regular_file

    try:
        check_regular_file(path, what="a weights file")
    except FileNotFoundError:
        raise BackboneLoadError(
            model_name, pretrained, f"the weights file {path} does not exist", hint="check the path"
        ) from None
    except PermissionError:
        raise BackboneLoadError(
            model_name,
            pretrained,
            f"permission denied reading the weights file {path}",
            hint="check the file's permissions",
        ) from None
    except UserFileError as exc:
        raise BackboneLoadError(model_name, pretrained, str(exc), hint="choose a weights file") from None
    except OSError as exc:
        raise BackboneLoadError(model_name, pretrained, f"cannot read {path} ({exc.strerror or exc})") from None


def file_sha256(path: Path | str) -> str:
    """sha256 of a file, memoised by (path, size, mtime) so a reload does not rehash gigabytes."""
    from mma_studio.core.user_files import open_regular_file

    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        if key in _hash_memo:
            return _hash_memo[key]
    digest = hashlib.sha256()
    with open_regular_file(path, what="a weights file") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _hash_lock:
        _hash_memo[key] = value
    return value


# JPEGs are decoded at no less than this many times the model's input side (see
# `Backbone.load_image`): a 55 dB match with a full decode, measured on a 12-MP photo.
DECODE_SIDE_FACTOR = 2
DECODE_POLICY = f"jpeg-dct-scaled>={DECODE_SIDE_FACTOR}x"


def preprocess_fingerprint(preprocess_cfg: dict) -> str:
    """A short, stable id of the eval preprocessing (size, mean, std, interpolation, resize,
    and how files are decoded), so cached features never mix two ways of making pixels."""
    fields = {
        key: _jsonable(preprocess_cfg.get(key))
        for key in ("size", "mode", "mean", "std", "interpolation", "resize_mode", "fill_color")
    }
    fields["decode"] = DECODE_POLICY
    text = json.dumps(fields, sort_keys=True)
    size = fields["size"]
    side = size[0] if isinstance(size, list) and size else size
    return (
        f"{side}px-{fields['interpolation']}-{fields['resize_mode']}-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    if isinstance(value, float):
        return round(value, 8)
    return value


# --------------------------------------------------------------------------- network


def _probe_hub(timeout: float | None = None) -> str | None:
    """Try a TCP connection to the hub (or the proxy in front of it). None when reachable,
    otherwise a short reason. Runs in a thread so that slow DNS cannot exceed `timeout`
    (default `PROBE_TIMEOUT_S`, read at each call)."""
    timeout = PROBE_TIMEOUT_S if timeout is None else timeout
    endpoint = hub_endpoint()
    parsed = urllib.parse.urlsplit(endpoint)
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parsed.scheme) or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = proxy_parts.hostname or host, proxy_parts.port or 8080
    if not host:
        return f"the hub address {endpoint!r} is not a valid URL"
    outcome: list[str | None] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as exc:
            outcome.append(exc.strerror or str(exc) or type(exc).__name__)

    worker = threading.Thread(target=attempt, name="hub-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        return f"no answer from {host}:{port} within {timeout:.0f} s"
    if outcome[0] is None:
        return None
    return f"cannot connect to {host}:{port} ({outcome[0]})"


def _progress_tqdm(on_progress: ProgressCallback | None, token: CancelToken | None, label: str):
    """A tqdm class for huggingface_hub that reports bytes through `on_progress` and stops on cancel."""
    from tqdm.auto import tqdm

    class _ReportingTqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = False
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115  # closed in close(); the caller renders progress
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            result = super().update(n)
            if on_progress is not None:
                rate = self.format_dict.get("rate")
                remaining = (self.total - self.n) if self.total else None
                eta = remaining / rate if rate and remaining is not None else None
                mb = self.n / 1e6
                total_mb = f" of {self.total / 1e6:.0f} MB" if self.total else " MB"
                on_progress(
                    Progress(
                        "load_model",
                        int(self.n),
                        int(self.total) if self.total else None,
                        rate,
                        eta,
                        f"Downloading {label}: {mb:.0f}{total_mb}",
                    )
                )
            check(token)  # raising here aborts the download; the partial file resumes next time
            return result

        def close(self):
            file = self.fp if hasattr(self, "fp") else None
            super().close()
            try:
                if file is not None:
                    file.close()
            except Exception:
                pass

    return _ReportingTqdm


def _fetch_pretrained(
    model: str, tag: str, tag_cfg: dict, on_progress: ProgressCallback | None, token: CancelToken | None
) -> str:
    """Cached weights path, downloading them first when the hub is reachable; fails fast offline."""
    cached = _cached_checkpoint(tag_cfg)
    if cached is not None:
        return cached
    cache = hub_cache_dir()
    candidates = _hub_candidates(tag_cfg)
    if candidates is None:
        raise BackboneLoadError(
            model,
            tag,
            "these weights are only distributed by URL and are not in the local cache",
            hint=LOCAL_FILE_HINT,
            cache_dir=cache,
        )
    if hub_offline():
        raise BackboneLoadError(
            model,
            tag,
            "the weights are not downloaded and HF_HUB_OFFLINE forbids downloading them",
            hint=f"unset HF_HUB_OFFLINE and connect to download them once, or {LOCAL_FILE_HINT}",
            cache_dir=cache,
        )
    unreachable = _probe_hub()
    if unreachable is not None:
        raise BackboneLoadError(
            model,
            tag,
            f"the weights are not downloaded and the model hub {hub_endpoint()} is unreachable ({unreachable})",
            hint=f"connect to the internet and retry (the download is cached), or {LOCAL_FILE_HINT}",
            cache_dir=cache,
        )
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    repo_id, filenames = candidates
    tqdm_class = _progress_tqdm(on_progress, token, f"{model} · {tag}")
    last_error: Exception | None = None
    for filename in filenames:
        check(token)
        try:
            return hf_hub_download(
                repo_id,
                filename,
                cache_dir=str(cache),
                endpoint=hub_endpoint(),
                tqdm_class=tqdm_class,
                library_name="open_clip",
            )
        except EntryNotFoundError as exc:  # e.g. no safetensors copy in this repo: try the next name
            last_error = exc
        except Cancelled:
            raise
        except Exception as exc:
            raise BackboneLoadError(
                model,
                tag,
                f"the download of {repo_id}/{filename} failed ({_short(exc)})",
                hint=f"retry (an interrupted download resumes), or {LOCAL_FILE_HINT}",
                cache_dir=cache,
            ) from exc
    raise BackboneLoadError(
        model,
        tag,
        f"the hub has no weights file for it in {repo_id} ({_short(last_error)})",
        hint=LOCAL_FILE_HINT,
        cache_dir=cache,
    )


# --------------------------------------------------------------------------- building


def _short(exc: BaseException | None, limit: int = 300) -> str:
    if exc is None:
        return "unknown error"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _weights_error(model: str, pretrained: str, path: str, exc: Exception, *, cached: bool) -> BackboneLoadError:
    """Turn whatever a weights loader raised into one actionable message."""
    text = str(exc)
    if "Error(s) in loading state_dict" in text or "size mismatch" in text or "Missing key" in text:
        reason = f"the weights in {path} do not fit the {model} architecture ({_short(exc, 240)})"
        hint = "choose the model name these weights were trained with"
    elif "Weights only load failed" in text and ("Unsupported global" in text or "allowed global" in text):
        reason = f"{path} contains pickled Python objects, which are never loaded (weights_only=True)"
        hint = "save the weights as a plain state dict (torch.save(model.state_dict())) or as .safetensors"
    else:
        reason = f"the weights file {path} is damaged or not a weights file ({type(exc).__name__}: {_short(exc, 200)})"
        hint = (
            f"delete {path} and load again to re-download it, or {LOCAL_FILE_HINT}"
            if cached
            else "check the file (a complete download of an open_clip .safetensors/.pt/.bin state dict)"
        )
    return BackboneLoadError(model, pretrained, reason, hint=hint, cache_dir=hub_cache_dir() if cached else None)


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No pretrained weights loaded")


@contextlib.contextmanager
def _quiet_random_init_warning():
    """open_clip warns on the root logger when it builds random weights; here they were asked for."""
    root = logging.getLogger()
    quiet = _DropRandomInitWarning()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


@functools.lru_cache(maxsize=8)
def _builtin_tokenizer(arch: str):
    import open_clip

    return open_clip.get_tokenizer(arch)


def _create(arch: str, checkpoint: str | None, *, force_quick_gelu: bool, preprocess: dict | None):
    import open_clip

    with drawing_unseeded():  # open_clip initialises every layer before loading the weights
        return open_clip.create_model(
            arch,
            pretrained=checkpoint,
            force_quick_gelu=force_quick_gelu,
            force_preprocess_cfg=preprocess or None,
            device="cpu",
            weights_only=True,
        )


def load_backbone(
    model_name: str,
    pretrained: str = "openai",
    *,
    device: str | torch.device = "auto",
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> Backbone:
    """Build a frozen backbone. Raises `BackboneLoadError` with an actionable message.

    `pretrained` is an open_clip tag (`openai`, `laion2b_s34b_b88k`, …), `shapes` for the shipped
    demo weights of `mma-tiny`, `random` or `random:<seed>` for seeded random weights (tests
    only), a path or `file:<path>` to a .safetensors/.pt/.bin state dict, or `local-dir:<path>`
    for a folder holding `open_clip_config.json` and weights.
    """
    label = f"{model_name} · {pretrained}"
    if on_progress is not None:  # before open_clip's import, which takes seconds the first time
        on_progress(Progress("load_model", 0, None, message=f"Loading {label}"))
    register_shipped_model_configs()
    import open_clip
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained_tags_by_model

    check(token)
    torch_device = choose_device(device)
    kind, value = _classify(model_name, pretrained)

    if kind == "local-dir":
        return _load_local_dir(model_name, value, torch_device, on_progress)

    arch, force_quick_gelu = resolve_architecture(model_name, value if kind == "tag" else "")
    if open_clip.get_model_config(arch) is None:
        known = open_clip.list_models()
        close = difflib.get_close_matches(arch, known, n=3)
        suggestion = f"did you mean {', '.join(close)}?" if close else f"known models include {', '.join(known[:8])}, …"
        raise BackboneLoadError(model_name, pretrained, "unknown model architecture", hint=suggestion)

    checkpoint: str | None = None
    preprocess_override: dict = {}
    is_random = False
    if kind == "random":
        seed = DEFAULT_RANDOM_SEED
        if ":" in value:
            try:
                seed = int(value.split(":", 1)[1])
            except ValueError:
                raise BackboneLoadError(
                    model_name,
                    pretrained,
                    "the random seed must be an integer",
                    hint="use --pretrained random or random:<seed>",
                ) from None
        stored_pretrained = RANDOM_TAG if seed == DEFAULT_RANDOM_SEED else f"{RANDOM_TAG}:{seed}"
        weights_id = f"random:{seed}"
        is_random = True
    elif kind == "demo":
        path = shipped_weights_path()
        if not path.is_file():
            raise BackboneLoadError(
                model_name,
                pretrained,
                f"the shipped demo weights are missing ({path}); this installation is incomplete",
                hint=f"reinstall MMA Studio, use --pretrained random for a test run, or {LOCAL_FILE_HINT}",
            )
        checkpoint = str(path)
        stored_pretrained = DEMO_TAG
        weights_id = f"{DEMO_TAG}@{file_sha256(path)[:16]}"
    elif kind == "file":
        path = Path(value).expanduser()
        _check_weights_file(model_name, pretrained, path)
        path = path.resolve()
        checkpoint = str(path)
        stored_pretrained = f"{FILE_PREFIX}{path}"
        weights_id = f"sha256:{file_sha256(path)}"
    else:
        tag_cfg = get_pretrained_cfg(arch, value)
        if not value or not tag_cfg:
            tags = list_pretrained_tags_by_model(arch) or list_pretrained_tags_by_model(model_name)
            extra = [DEMO_TAG, RANDOM_TAG] if arch == TINY_MODEL else [RANDOM_TAG]
            raise BackboneLoadError(
                model_name,
                pretrained,
                "this is not a known pretrained tag for the model nor an existing file",
                hint=f"use one of: {', '.join([*tags, *extra])}, or a path to a weights file",
            )
        checkpoint = _fetch_pretrained(model_name, value, tag_cfg, on_progress, token)
        preprocess_override = {
            key: tag_cfg[key] for key in ("mean", "std", "interpolation", "resize_mode") if key in tag_cfg
        }
        stored_pretrained = value
        weights_id = value

    check(token)
    if on_progress is not None:
        on_progress(Progress("load_model", 0, None, message=f"Building {label}"))
    try:
        if is_random:
            with seeded(seed), _quiet_random_init_warning():
                model = _create(arch, None, force_quick_gelu=force_quick_gelu, preprocess=None)
        else:
            model = _create(arch, checkpoint, force_quick_gelu=force_quick_gelu, preprocess=preprocess_override)
    except BackboneLoadError:
        raise
    except Exception as exc:
        if checkpoint is None:
            raise BackboneLoadError(model_name, pretrained, f"open_clip could not build it ({_short(exc)})") from exc
        raise _weights_error(model_name, pretrained, checkpoint, exc, cached=kind == "tag") from exc

    tokenizer = _builtin_tokenizer(arch)
    backbone = _finish(model, arch, stored_pretrained, tokenizer, torch_device, weights_id, is_random)
    if on_progress is not None:
        on_progress(Progress("load_model", 1, 1, message=f"Loaded {backbone.describe()}"))
    return backbone


def _load_local_dir(model_name: str, folder: str, device: torch.device, on_progress) -> Backbone:
    """A folder in open_clip's `local-dir:` layout: open_clip_config.json + one weights file."""
    import open_clip
    from open_clip.factory import _find_checkpoint_in_dir

    spec = f"{LOCAL_DIR_PREFIX}{folder}"
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise BackboneLoadError(model_name, spec, f"the folder {path} does not exist", hint="check the path")
    path = path.resolve()
    if not (path / "open_clip_config.json").is_file():
        raise BackboneLoadError(
            model_name,
            spec,
            f"{path} has no open_clip_config.json",
            hint="a local-dir folder holds open_clip_config.json (with model_cfg) and the weights file",
        )
    checkpoint = _find_checkpoint_in_dir(path)
    if checkpoint is None:  # open_clip would quietly build random weights here
        raise BackboneLoadError(
            model_name,
            spec,
            f"{path} holds no .safetensors/.bin/.pth weights file",
            hint="put the weights next to open_clip_config.json",
        )
    name = model_name if model_name and not model_name.startswith(LOCAL_DIR_PREFIX) else path.name
    _check_weights_file(name, spec, Path(checkpoint))
    try:
        with drawing_unseeded():
            model = open_clip.create_model(f"{LOCAL_DIR_PREFIX}{path}", device="cpu", weights_only=True)
        tokenizer = open_clip.get_tokenizer(f"{LOCAL_DIR_PREFIX}{path}")
    except Exception as exc:
        if isinstance(exc, (ValueError, FileNotFoundError)) and "config" in str(exc):
            raise BackboneLoadError(name, spec, f"its open_clip_config.json is unusable ({_short(exc)})") from exc
        raise _weights_error(name, spec, checkpoint, exc, cached=False) from exc
    weights_id = f"sha256:{file_sha256(checkpoint)}"
    backbone = _finish(model, name, f"{LOCAL_DIR_PREFIX}{path}", tokenizer, device, weights_id, False)
    if on_progress is not None:
        on_progress(Progress("load_model", 1, 1, message=f"Loaded {backbone.describe()}"))
    return backbone


def _finish(model, name, pretrained, tokenizer, device, weights_id, is_random) -> Backbone:
    from open_clip.transform import PreprocessCfg, image_transform_v2

    model.eval()
    model.requires_grad_(False)
    model.to(device)
    preprocess_cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in model.visual.preprocess_cfg.items()}
    preprocess = image_transform_v2(PreprocessCfg(**preprocess_cfg), is_train=False)
    embed_dim = _embed_dim(model)
    logit_scale = float(model.logit_scale.detach().float().exp().reshape(-1)[0].item())
    return Backbone(
        model_name=name,
        pretrained=pretrained,
        model=model,
        preprocess=preprocess,
        tokenizer=tokenizer,
        device=device,
        embed_dim=embed_dim,
        logit_scale=logit_scale,
        weights_id=weights_id,
        preprocess_id=preprocess_fingerprint(preprocess_cfg),
        is_random=is_random,
        preprocess_cfg=preprocess_cfg,
    )


def _embed_dim(model: Any) -> int:
    projection = getattr(model, "text_projection", None)
    if isinstance(projection, torch.Tensor) and projection.ndim == 2:
        return int(projection.shape[1])
    output_dim = getattr(getattr(model, "visual", None), "output_dim", None)
    if output_dim:
        return int(output_dim)
    with torch.inference_mode():  # last resort: ask the text tower
        return int(
            model.encode_text(torch.zeros(1, 77, dtype=torch.long, device=next(model.parameters()).device)).shape[-1]
        )


# --------------------------------------------------------------------------- the chooser


def list_backbone_choices() -> list[BackboneChoice]:
    """Chooser entries: the catalogue's (`backbone_catalogue.catalogue_choices`: downloaded
    recommended weights first, then the demo model, the recommended downloads, random weights
    and the local-file route), plus any other open_clip weights found cached through open_clip's
    registry, listed with the downloaded ones. The app lists the catalogue alone at start-up
    (no open_clip import); this fuller list is for scripts and the command line."""
    register_shipped_model_configs()
    from open_clip.pretrained import get_pretrained_cfg, list_pretrained

    choices = catalogue_choices(demo_weights=shipped_weights_path(), cache_dir=hub_cache_dir())
    seen = {(resolve_architecture(c.model, c.pretrained)[0], c.pretrained) for c in choices if c.kind == "pretrained"}
    extra: list[BackboneChoice] = []
    for model, tag in list_pretrained():
        arch, _ = resolve_architecture(model, tag)
        if (arch, tag) in seen:
            continue
        tag_cfg = get_pretrained_cfg(arch, tag)
        if tag_cfg and _cached_checkpoint(tag_cfg) is not None:
            seen.add((arch, tag))
            user_name = model[: -len("-quickgelu")] if tag == "openai" and model.endswith("-quickgelu") else model
            extra.append(BackboneChoice(user_name, tag, f"{user_name} · {tag}", True, "pretrained"))
    downloaded = sum(1 for c in choices if c.kind == "pretrained" and c.downloaded)
    return [*choices[:downloaded], *extra, *choices[downloaded:]]


def recommended_choice(choices: list[BackboneChoice] | None = None) -> BackboneChoice:
    """What the chooser should preselect: downloaded pretrained weights if any, else the demo
    model when it is installed (the offline experience), else the paper's backbone to download."""
    return _recommended_among(list_backbone_choices() if choices is None else choices)
