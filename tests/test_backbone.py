"""Backbone loading: every route (random, shipped demo, local file, local-dir, pretrained tag
from the Hugging Face cache or a download), the QuickGELU mapping, and every failure message.

No test reaches the internet: HF_ENDPOINT points at a closed loopback port unless a test
starts its own tiny hub on 127.0.0.1, and the Hugging Face cache is a temporary folder.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import open_clip
import pytest
import torch
from safetensors.torch import save as save_safetensors

from mma_studio.core import backbone as backbone_module
from mma_studio.core.backbone import (
    Backbone,
    BackboneLoadError,
    hub_cache_dir,
    is_pretrained_cached,
    list_backbone_choices,
    load_backbone,
    recommended_choice,
    resolve_architecture,
)
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.devices import DeviceError, autocast_context, choose_device
from mma_studio.core.model_configs import shipped_config_dir

CLOSED_PORT_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens, connection refused at once
FAKE_REPO = "mma-test/tiny-weights"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT_ENDPOINT)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("NO_PROXY", "no_proxy"):  # the loopback fake hub must never go through a proxy
        monkeypatch.setenv(name, "127.0.0.1,localhost")


def random_state_dict(seed: int = 3) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in load_backbone("mma-tiny", f"random:{seed}").model.state_dict().items()}


def fp16_bytes(state_dict: dict[str, torch.Tensor]) -> bytes:
    return save_safetensors({k: v.to(torch.float16).contiguous() for k, v in state_dict.items()})


def put_in_hub_cache(filename: str, data: bytes, repo: str = FAKE_REPO) -> Path:
    """Lay out one file as huggingface_hub's cache stores it (refs/main -> snapshots/<commit>/)."""
    folder = hub_cache_dir() / f"models--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    target = folder / "snapshots" / commit / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def register_fake_tag(monkeypatch, tag: str, **extra) -> dict:
    """Register a pretrained tag for mma-tiny that points at FAKE_REPO, as open_clip's registry
    does (undone with `monkeypatch`); the fault tests of the CLI and the app use it too."""
    cfg = {
        "url": "",
        "hf_hub": f"{FAKE_REPO}/",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "interpolation": "bilinear",
        "resize_mode": "shortest",
        **extra,
    }
    tags = dict(open_clip.pretrained._PRETRAINED.get("mma-tiny", {}))
    tags[tag] = cfg
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "mma-tiny", tags)
    return cfg


@pytest.fixture
def fake_tag(monkeypatch):
    """`register_fake_tag` bound to this test's monkeypatch."""
    return functools.partial(register_fake_tag, monkeypatch)


def assert_same_weights(backbone: Backbone, state_dict: dict[str, torch.Tensor], atol: float = 0.0) -> None:
    loaded = backbone.model.state_dict()
    for key, value in state_dict.items():
        torch.testing.assert_close(loaded[key].float(), value.float(), atol=atol, rtol=0)


# --------------------------------------------------------------------------- random weights


def test_random_weights_are_seeded_frozen_and_labelled():
    first = load_backbone("mma-tiny", "random", device="cpu")
    again = load_backbone("mma-tiny", "random", device="cpu")
    other = load_backbone("mma-tiny", "random:1", device="cpu")
    assert_same_weights(again, first.model.state_dict())
    assert not torch.equal(first.model.visual.conv1.weight, other.model.visual.conv1.weight)
    assert first.is_random and first.weights_id == "random:0" and other.weights_id == "random:1"
    assert first.pretrained == "random" and other.pretrained == "random:1"
    assert first.describe() == "mma-tiny · random weights (for testing)"
    assert not first.model.training
    assert not any(p.requires_grad for p in first.model.parameters())
    assert first.embed_dim == 64 and first.device == torch.device("cpu")
    assert first.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)  # open_clip's initial temperature
    # the global RNG is left alone: random weights do not shift anyone else's seeds
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_backbone("mma-tiny", "random")
    assert torch.equal(torch.rand(3), expected)


def test_encoders_return_normalised_float32_features():
    backbone = load_backbone("mma-tiny", "random")
    images = backbone.encode_images(torch.randn(5, 3, 32, 32))
    texts = backbone.encode_texts(["a photo of a red circle.", "a photo of a blue square.", "x"])
    assert images.shape == (5, 64) and texts.shape == (3, 64)
    assert images.dtype == texts.dtype == torch.float32
    torch.testing.assert_close(images.norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(texts.norm(dim=-1), torch.ones(3))
    assert not torch.allclose(texts[0], texts[1])
    images.add_(1.0)  # an ordinary tensor, not an inference-mode one
    assert backbone.encode_texts([]).shape == (0, 64)


def test_metadata_records_what_reloads_the_backbone():
    backbone = load_backbone("mma-tiny", "random:7")
    meta = backbone.to_metadata()
    json.dumps(meta)  # adapter files store it as JSON
    assert meta["model_name"] == "mma-tiny" and meta["pretrained"] == "random:7"
    assert meta["weights_id"] == "random:7" and meta["preprocess_id"] == backbone.preprocess_id
    assert meta["preprocess"]["size"] == [32, 32] and meta["embed_dim"] == 64 and meta["is_random"] is True
    reloaded = load_backbone(meta["model_name"], meta["pretrained"])
    assert reloaded.weights_id == backbone.weights_id
    assert_same_weights(reloaded, backbone.model.state_dict())


# --------------------------------------------------------------------------- local weights


def test_local_safetensors_file_loads_by_path_and_file_prefix(tmp_path):
    state = random_state_dict(3)
    path = tmp_path / "my weights.safetensors"
    path.write_bytes(fp16_bytes(state))
    by_path = load_backbone("mma-tiny", str(path))
    by_prefix = load_backbone("mma-tiny", f"file:{path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for backbone in (by_path, by_prefix):
        assert backbone.pretrained == f"file:{path.resolve()}"
        assert backbone.weights_id == f"sha256:{digest}"
        assert not backbone.is_random
        assert backbone.describe() == "mma-tiny · local file my weights.safetensors"
        assert_same_weights(backbone, {k: v.half() for k, v in state.items()})


def test_local_pt_file_loads_with_weights_only(tmp_path):
    state = random_state_dict(4)
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)  # DDP-style checkpoint
    backbone = load_backbone("mma-tiny", str(path))
    assert_same_weights(backbone, state)


class _Exploit:
    """Unpickling this would create a marker file; a weights_only load must never do it."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_code_in_a_checkpoint_is_refused_not_run(tmp_path):
    marker = tmp_path / "pwned"
    exploit = _Exploit()
    exploit.marker = marker
    path = tmp_path / "evil.bin"
    torch.save({"state_dict": random_state_dict(4), "payload": exploit}, path)
    with pytest.raises(BackboneLoadError) as caught:
        load_backbone("mma-tiny", str(path))
    assert "pickled" in str(caught.value) and str(path) in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "name, payload",
    [
        ("garbage.safetensors", b"\x00not a safetensors header" * 10),
        ("truncated.safetensors", None),
        ("garbage.pt", os.urandom(2000)),
        ("empty.bin", b""),
    ],
)
def test_corrupted_local_weights_file_gives_a_clear_error(tmp_path, name, payload):
    path = tmp_path / name
    if payload is None:
        full = fp16_bytes(random_state_dict(5))
        payload = full[: len(full) // 2]
    path.write_bytes(payload)
    with pytest.raises(BackboneLoadError) as caught:
        load_backbone("mma-tiny", str(path))
    message = str(caught.value)
    assert "mma-tiny" in message and str(path) in message
    assert "damaged or not a weights file" in message


def test_weights_of_another_shape_are_reported_as_mismatch(tmp_path):
    state = random_state_dict(3)
    state.pop("visual.conv1.weight")
    path = tmp_path / "partial.safetensors"
    path.write_bytes(fp16_bytes(state))
    with pytest.raises(BackboneLoadError, match="do not fit the mma-tiny architecture"):
        load_backbone("mma-tiny", str(path))


def test_missing_local_file_is_reported(tmp_path):
    with pytest.raises(BackboneLoadError, match="does not exist"):
        load_backbone("mma-tiny", str(tmp_path / "nope.safetensors"))


def _write_local_dir(folder: Path, state: dict | None) -> Path:
    config = json.loads((shipped_config_dir() / "mma-tiny.json").read_text())
    folder.mkdir(parents=True)
    preprocess = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bilinear"}
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": config, "preprocess_cfg": preprocess}))
    if state is not None:
        (folder / "open_clip_model.safetensors").write_bytes(fp16_bytes(state))
    return folder


def test_local_dir_loads_config_preprocessing_and_weights(tmp_path):
    state = random_state_dict(6)
    folder = _write_local_dir(tmp_path / "tiny-export", state)
    backbone = load_backbone("mma-tiny", f"local-dir:{folder}")
    assert backbone.pretrained == f"local-dir:{folder.resolve()}"
    assert backbone.preprocess_cfg["mean"] == (0.5, 0.5, 0.5)
    assert backbone.preprocess_cfg["interpolation"] == "bilinear"
    assert backbone.weights_id.startswith("sha256:")
    assert "local folder tiny-export" in backbone.describe()
    assert_same_weights(backbone, {k: v.half() for k, v in state.items()})
    assert backbone.encode_texts(["a red circle"]).shape == (1, 64)
    # open_clip's own spelling (schema in the model name) works too
    assert load_backbone(f"local-dir:{folder}", "").weights_id == backbone.weights_id


def test_local_dir_without_weights_never_falls_back_to_random(tmp_path):
    folder = _write_local_dir(tmp_path / "no-weights", None)
    with pytest.raises(BackboneLoadError, match="holds no .safetensors"):
        load_backbone("mma-tiny", f"local-dir:{folder}")


# --------------------------------------------------------------------------- shipped demo weights


def test_shipped_demo_tag_loads_the_resources_file(tmp_path, monkeypatch):
    state = random_state_dict(8)
    fake = tmp_path / "mma-tiny-shapes.safetensors"
    fake.write_bytes(fp16_bytes(state))
    monkeypatch.setattr(backbone_module, "shipped_weights_path", lambda: fake)
    backbone = load_backbone("mma-tiny", "shapes")
    assert backbone.pretrained == "shapes" and not backbone.is_random
    assert backbone.weights_id == f"shapes@{hashlib.sha256(fake.read_bytes()).hexdigest()[:16]}"
    assert backbone.describe() == "mma-tiny · shapes (demo model)"
    assert_same_weights(backbone, {k: v.half() for k, v in state.items()})
    assert is_pretrained_cached("mma-tiny", "shapes")


def test_missing_demo_weights_are_an_error_not_random(tmp_path, monkeypatch):
    missing = tmp_path / "mma-tiny-shapes.safetensors"
    monkeypatch.setattr(backbone_module, "shipped_weights_path", lambda: missing)
    with pytest.raises(BackboneLoadError) as caught:
        load_backbone("mma-tiny", "shapes")
    assert str(missing) in str(caught.value) and "--pretrained" in str(caught.value)
    assert not is_pretrained_cached("mma-tiny", "shapes")


# --------------------------------------------------------------------------- pretrained tags


def test_openai_tag_maps_to_the_quickgelu_architecture():
    assert resolve_architecture("ViT-B-16", "openai") == ("ViT-B-16-quickgelu", False)
    assert resolve_architecture("ViT-B/32", "openai") == ("ViT-B-32-quickgelu", False)
    assert resolve_architecture("RN50", "openai") == ("RN50-quickgelu", False)
    assert resolve_architecture("ViT-B-16-quickgelu", "openai") == ("ViT-B-16-quickgelu", False)
    assert resolve_architecture("ViT-B-16", "laion2b_s34b_b88k") == ("ViT-B-16", False)
    assert resolve_architecture("mma-tiny", "random") == ("mma-tiny", False)
    # no `-quickgelu` config exists for mma-tiny: QuickGELU is forced instead
    assert resolve_architecture("mma-tiny", "openai") == ("mma-tiny", True)


def test_cached_tag_loads_offline_with_the_tag_preprocessing(fake_tag, monkeypatch):
    fake_tag("cachedtest")
    state = random_state_dict(9)
    put_in_hub_cache("open_clip_model.safetensors", fp16_bytes(state))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert is_pretrained_cached("mma-tiny", "cachedtest")
    backbone = load_backbone("mma-tiny", "cachedtest")
    assert backbone.weights_id == "cachedtest" and backbone.pretrained == "cachedtest"
    assert backbone.preprocess_cfg["mean"] == (0.5, 0.5, 0.5)
    assert backbone.preprocess_cfg["interpolation"] == "bilinear"
    assert_same_weights(backbone, {k: v.half() for k, v in state.items()})
    labels = [(c.model, c.pretrained, c.downloaded) for c in list_backbone_choices()]
    assert ("mma-tiny", "cachedtest", True) in labels


def test_openai_tag_really_builds_quickgelu(fake_tag):
    fake_tag("openai", quick_gelu=True)
    put_in_hub_cache("open_clip_model.safetensors", fp16_bytes(random_state_dict(2)))
    backbone = load_backbone("mma-tiny", "openai")
    activation = backbone.model.visual.transformer.resblocks[0].mlp.gelu
    assert type(activation).__name__ == "QuickGELU"
    plain = load_backbone("mma-tiny", "random").model.visual.transformer.resblocks[0].mlp.gelu
    assert type(plain).__name__ != "QuickGELU"


def test_corrupted_cached_weights_name_the_file_to_delete(fake_tag):
    fake_tag("cachedtest")
    path = put_in_hub_cache("open_clip_model.safetensors", b"\x13\x00\x00\x00\x00\x00\x00\x00{broken")
    with pytest.raises(BackboneLoadError) as caught:
        load_backbone("mma-tiny", "cachedtest")
    message = str(caught.value)
    assert "damaged" in message and f"delete {path}" in message


def _assert_fast_offline_failure(model: str, tag: str, expect: str, monkeypatch) -> None:
    """Fast by construction, not by a stopwatch (a loaded machine makes any bound flaky): the
    failure comes before any HTTP request, so no download timeout or retry can be waited for."""
    import huggingface_hub

    def no_download(*args, **kwargs):
        raise AssertionError("an offline load must not start a download")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    with pytest.raises(BackboneLoadError) as caught:
        load_backbone(model, tag)
    message = str(caught.value)
    assert model in message and tag in message
    assert str(hub_cache_dir()) in message
    assert "--pretrained /path/to/weights.safetensors" in message and "Local weights file" in message
    assert expect in message
    assert caught.value.cache_dir == hub_cache_dir()


def test_uncached_tag_without_network_fails_within_seconds(monkeypatch):
    _assert_fast_offline_failure("ViT-B-16", "openai", "unreachable", monkeypatch)
    assert not is_pretrained_cached("ViT-B-16", "openai")


def test_uncached_tag_with_hf_hub_offline_fails_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:1")  # must not even be probed
    monkeypatch.setattr(backbone_module, "_probe_hub", lambda *args, **kwargs: pytest.fail("probed"))
    _assert_fast_offline_failure("ViT-B-32", "laion2b_s34b_b79k", "HF_HUB_OFFLINE", monkeypatch)


def test_unknown_model_and_tag_messages():
    with pytest.raises(BackboneLoadError, match="did you mean ViT-B-16"):
        load_backbone("ViT-B-61", "openai")
    with pytest.raises(BackboneLoadError) as caught:
        load_backbone("mma-tiny", "laion2b")
    assert "shapes" in str(caught.value) and "random" in str(caught.value)


# --------------------------------------------------------------------------- a local fake hub


class _FakeHub:
    """A loopback server speaking the two requests huggingface_hub makes for one file.

    While it runs, the engine's reachability probe may wait up to a minute instead of 3 s: the
    probe's thread and the server's share the CPUs with whatever else runs, and on a loaded
    machine a loopback connection has been seen to take over a second to be scheduled."""

    PROBE_TIMEOUT_S = 60.0

    def __init__(self, payload: bytes, *, break_first_download: bool = False, forbid: bool = False):
        self.payload = payload
        self.break_first_download = break_first_download
        self.forbid = forbid
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _start(self, body_length: int | None = None, status: int = 200, offset: int = 0) -> bool:
                hub.requests.append(f"{self.command} {self.path}")
                if not self.path.endswith("/open_clip_model.safetensors") or hub.forbid and self.command == "GET":
                    self.send_response(404 if not hub.forbid else 403)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                self.send_response(status)
                self.send_header("X-Repo-Commit", "f" * 40)
                self.send_header("ETag", f'"{hashlib.sha256(hub.payload).hexdigest()}"')
                self.send_header("Content-Length", str(len(hub.payload) - offset))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {offset}-{len(hub.payload) - 1}/{len(hub.payload)}")
                self.end_headers()
                return True

            def do_HEAD(self):
                self._start()

            def do_GET(self):
                offset = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    offset = int(self.headers["Range"][6:].split("-")[0])
                if not self._start(status=206 if offset else 200, offset=offset):
                    return
                body = hub.payload[offset:]
                if hub.break_first_download:
                    hub.break_first_download = False
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self._patch = pytest.MonkeyPatch()
        self._patch.setattr(backbone_module, "PROBE_TIMEOUT_S", self.PROBE_TIMEOUT_S)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self._patch.undo()


def test_download_reports_progress_then_loads_from_cache_offline(fake_tag, monkeypatch):
    fake_tag("hubtest")
    state = random_state_dict(10)
    payload = fp16_bytes(state)
    events = []
    with _FakeHub(payload) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        backbone = load_backbone("mma-tiny", "hubtest", on_progress=events.append)
    assert_same_weights(backbone, {k: v.half() for k, v in state.items()})
    downloads = [e for e in events if e.message.startswith("Downloading")]
    assert downloads and downloads[-1].done == len(payload) and downloads[-1].total == len(payload)
    assert all(e.stage == "load_model" for e in events)
    assert events[-1].message.startswith("Loaded")
    # the hub is gone now: the cached copy loads without any network
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT_ENDPOINT)
    assert is_pretrained_cached("mma-tiny", "hubtest")
    assert_same_weights(load_backbone("mma-tiny", "hubtest"), {k: v.half() for k, v in state.items()})


def test_interrupted_download_resumes(fake_tag, monkeypatch):
    fake_tag("hubtest")
    state = random_state_dict(11)
    with _FakeHub(fp16_bytes(state), break_first_download=True) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        backbone = load_backbone("mma-tiny", "hubtest")
    assert any("Range" in r or r.startswith("GET") for r in hub.requests)
    assert sum(r.startswith("GET") for r in hub.requests) >= 2
    assert_same_weights(backbone, {k: v.half() for k, v in state.items()})


def test_refused_download_is_a_clear_error(fake_tag, monkeypatch):
    fake_tag("hubtest")
    with _FakeHub(b"x" * 100, forbid=True) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        with pytest.raises(BackboneLoadError) as caught:
            load_backbone("mma-tiny", "hubtest")
    assert "download" in str(caught.value) and "Local weights file" in str(caught.value)


def test_download_can_be_cancelled(fake_tag, monkeypatch):
    fake_tag("hubtest")
    token = CancelToken()

    def cancel_on_first_bytes(event):
        if event.message.startswith("Downloading"):
            token.cancel()

    with _FakeHub(fp16_bytes(random_state_dict(12))) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        with pytest.raises(Cancelled):
            load_backbone("mma-tiny", "hubtest", on_progress=cancel_on_first_bytes, token=token)
    assert not is_pretrained_cached("mma-tiny", "hubtest")


# --------------------------------------------------------------------------- chooser and devices


def test_backbone_choices_cover_every_route(monkeypatch, tmp_path):
    monkeypatch.setattr(backbone_module, "shipped_weights_path", lambda: tmp_path / "absent.safetensors")
    choices = list_backbone_choices()
    by_kind = {}
    for choice in choices:
        by_kind.setdefault(choice.kind, []).append(choice)
    assert set(by_kind) == {"pretrained", "demo", "random", "local"}
    paper = next(c for c in by_kind["pretrained"] if (c.model, c.pretrained) == ("ViT-B-16", "openai"))
    assert not paper.downloaded  # the cache is an empty temporary folder
    assert by_kind["demo"][0].pretrained == "shapes" and not by_kind["demo"][0].downloaded
    assert by_kind["random"][0].label == "mma-tiny · random weights (for testing)"
    assert choices[-1].kind == "local"


def test_recommended_choice_prefers_downloaded_then_demo(monkeypatch, tmp_path, fake_tag):
    absent, present = tmp_path / "absent.safetensors", tmp_path / "present.safetensors"
    present.write_bytes(b"x")
    monkeypatch.setattr(backbone_module, "shipped_weights_path", lambda: absent)
    assert (recommended_choice().model, recommended_choice().pretrained) == ("ViT-B-16", "openai")
    monkeypatch.setattr(backbone_module, "shipped_weights_path", lambda: present)
    assert recommended_choice().kind == "demo"  # offline with nothing cached: the demo model
    fake_tag("cachedtest")
    put_in_hub_cache("open_clip_model.safetensors", b"x")
    assert (recommended_choice().pretrained, recommended_choice().downloaded) == ("cachedtest", True)


def test_requested_random_weights_do_not_log_a_warning(caplog):
    with caplog.at_level("WARNING"):
        load_backbone("mma-tiny", "random:4")
    assert not [r for r in caplog.records if "initialized randomly" in r.getMessage()]


def test_device_choice():
    assert choose_device("cpu") == torch.device("cpu")
    auto = choose_device("auto")
    assert auto.type in {"cuda", "mps", "cpu"}
    if not torch.cuda.is_available():
        assert auto.type in {"mps", "cpu"}
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            choose_device("cuda")
    with pytest.raises(DeviceError, match="Unknown device 'tpu'"):
        choose_device("tpu")
    with autocast_context(torch.device("cpu")):
        assert torch.get_autocast_dtype("cpu") is not None  # the CPU context is a no-op
        assert not torch.is_autocast_enabled("cpu")
    with pytest.raises(DeviceError):
        load_backbone("mma-tiny", "random", device="cuda:99")
