"""Adapter files round-trip exactly, and damaged or hostile files are refused with a reason."""

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter
from mma_studio.core.adapter_file import AdapterFile, AdapterFileError, load_adapter_file, save_adapter_file


def make_contents(dim=64, classes=("cat", "dog", "fox")) -> AdapterFile:
    torch.manual_seed(0)
    config = AdapterConfig(embed_dim=dim, logit_scale=42.0, blend=0.3)
    adapter = MultiModalAdapter.from_config(config)
    with torch.no_grad():
        for p in adapter.parameters():
            p.normal_(0, 0.1)
    return AdapterFile(
        adapter_config=config,
        state_dict=adapter.state_dict(),
        class_names=list(classes),
        roles=["base", "base", "new"][: len(classes)],
        templates=["a photo of a {}."],
        backbone={"model": "mma-tiny", "pretrained": "random", "embed_dim": dim},
        training={"epochs": 3},
        metrics={"adapted": {"base": 0.9}},
        class_text_features=torch.nn.functional.normalize(torch.randn(len(classes), dim), dim=-1),
    )


def test_round_trip_gives_identical_logits(tmp_path):
    contents = make_contents()
    path = save_adapter_file(tmp_path / "a.safetensors", contents)
    loaded = load_adapter_file(path)
    original = MultiModalAdapter.from_config(contents.adapter_config)
    original.load_state_dict(contents.state_dict)
    image, text = torch.randn(5, 64), torch.randn(3, 64)
    assert torch.equal(original(image, text), loaded.build_adapter()(image, text))
    assert loaded.class_names == ["cat", "dog", "fox"] and loaded.roles == ["base", "base", "new"]
    assert loaded.base_classes == ["cat", "dog"] and loaded.new_classes == ["fox"]
    assert loaded.adapter_config.to_dict() == contents.adapter_config.to_dict()
    assert loaded.backbone["model"] == "mma-tiny"
    assert loaded.metrics == {"adapted": {"base": 0.9}}
    assert loaded.class_text_features.shape == (3, 64)
    assert path.stat().st_size < 200_000
    assert not list(tmp_path.glob("*.tmp"))


def test_building_the_adapter_draws_nothing_from_the_global_generator_and_copies_the_weights():
    """Its random initialisation would be overwritten at once; drawing it shifted the numbers a
    thread building seeded random backbone weights got meanwhile (their features then differed
    from the ones cached under the same name)."""
    contents = make_contents()
    half = {name: t.half() for name, t in contents.state_dict.items()}
    torch.manual_seed(7)
    expected = torch.rand(4)
    torch.manual_seed(7)
    adapter = AdapterFile(**{**contents.__dict__, "state_dict": half}).build_adapter()
    assert torch.equal(torch.rand(4), expected)
    for name, tensor in adapter.state_dict().items():
        assert tensor.dtype == torch.float32 and tensor.device.type == "cpu"  # the module's own dtype
        assert torch.equal(tensor, half[name].float()) and tensor.data_ptr() != half[name].data_ptr()
    assert not any(p.requires_grad for p in adapter.parameters()) and not adapter.training


def test_failed_write_leaves_the_earlier_file_intact(tmp_path, monkeypatch):
    path = save_adapter_file(tmp_path / "a.safetensors", make_contents())
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_adapter_file(path, make_contents(classes=("a", "b")))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.safetensors"]


def hostile_files(tmp_path):
    good = save_adapter_file(tmp_path / "good.safetensors", make_contents())
    data = good.read_bytes()
    cases = {}

    def write(name, payload: bytes):
        path = tmp_path / name
        path.write_bytes(payload)
        cases[name] = path

    write("empty.safetensors", b"")
    write("truncated.safetensors", data[: len(data) // 2])
    write("short.safetensors", data[:5])
    write("random.safetensors", bytes(range(256)) * 8)
    write("pickle.safetensors", pickle.dumps({"down.weight": [1, 2, 3]}))
    header = json.dumps(
        {"down.weight": {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 4 * 10**18]}}
    ).encode()
    write("enormous.safetensors", struct.pack("<Q", len(header)) + header + b"\0" * 16)
    write("huge_header_claim.safetensors", struct.pack("<Q", 2**60) + b"{}")

    def with_metadata(name, **changes):
        contents = make_contents()
        path = save_adapter_file(tmp_path / name, contents)
        raw = path.read_bytes()
        (length,) = struct.unpack("<Q", raw[:8])
        head = json.loads(raw[8 : 8 + length])
        head["__metadata__"].update(changes)
        new_head = json.dumps(head).encode()
        path.write_bytes(struct.pack("<Q", len(new_head)) + new_head + raw[8 + length :])
        cases[name] = path

    with_metadata("not_json.safetensors", adapter="{not json")
    with_metadata("newer.safetensors", format_version="99")
    with_metadata("class_mismatch.safetensors", classes=json.dumps(["cat", "dog"]), roles=json.dumps(["base", "new"]))
    with_metadata("roles_mismatch.safetensors", roles=json.dumps(["base"]))
    with_metadata(
        "wrong_dim.safetensors",
        adapter=json.dumps({**make_contents().adapter_config.to_dict(), "embed_dim": 128, "bottleneck_dim": 32}),
    )

    tensors = {k: v.float() for k, v in make_contents().state_dict.items()}
    foreign = tmp_path / "foreign.safetensors"
    save_file(tensors, str(foreign))
    cases["foreign.safetensors"] = foreign
    return cases


EXPECTED_REASONS = {
    "empty.safetensors": "empty",
    "truncated.safetensors": "truncated|points outside|damaged",
    "short.safetensors": "truncated",
    "random.safetensors": "not a safetensors|impossible",
    "pickle.safetensors": "not a safetensors|impossible",
    "enormous.safetensors": "outside the file|not an MMA",
    "huge_header_claim.safetensors": "impossible",
    "not_json.safetensors": "not valid JSON",
    "newer.safetensors": "newer",
    "class_mismatch.safetensors": "stored class embeddings",
    "roles_mismatch.safetensors": "roles",
    "wrong_dim.safetensors": "shape",
    "foreign.safetensors": "not an MMA Studio adapter",
}


def test_broken_and_hostile_files_are_refused_with_a_reason(tmp_path):
    cases = hostile_files(tmp_path)
    assert set(cases) == set(EXPECTED_REASONS)
    for name, path in cases.items():
        with pytest.raises(AdapterFileError, match=EXPECTED_REASONS[name]) as info:
            load_adapter_file(path)
        message = str(info.value)
        assert str(path) in message and "\n" not in message, name


def test_missing_and_extra_tensors_are_named(tmp_path):
    contents = make_contents()
    del contents.state_dict["up.bias"]
    with pytest.raises(RuntimeError):
        MultiModalAdapter.from_config(contents.adapter_config).load_state_dict(contents.state_dict)
    path = save_adapter_file(tmp_path / "missing.safetensors", contents)
    with pytest.raises(AdapterFileError, match="missing adapter tensors: up.bias"):
        load_adapter_file(path)
    contents = make_contents()
    contents.state_dict["evil.payload"] = torch.zeros(3)
    path = save_adapter_file(tmp_path / "extra.safetensors", contents)
    with pytest.raises(AdapterFileError, match="unexpected tensors: evil.payload"):
        load_adapter_file(path)


def test_no_such_file(tmp_path):
    with pytest.raises(AdapterFileError, match="no such file"):
        load_adapter_file(tmp_path / "nope.safetensors")


def forged_header_file(path, names, templates=("a photo of a {}.",), with_embeddings=False):
    """An adapter file whose metadata declares `names` (valid weights, valid JSON)."""
    contents = make_contents(classes=("a", "b"))
    contents.class_names = list(names)
    contents.roles = ["base"] * len(names)
    contents.templates = list(templates)
    contents.class_text_features = torch.zeros(len(names), 64) if with_embeddings else None
    return save_adapter_file(path, contents)


@pytest.mark.timeout(30)
def test_a_forged_file_declaring_200000_names_is_refused_before_any_text_is_encoded(tmp_path, monkeypatch):
    """Issue 11.5: the declared class list is bounded by what the file stores and by caps."""
    from mma_studio.core import adapter_file as module

    path = forged_header_file(tmp_path / "forged.safetensors", [f"class {i}" for i in range(200_000)])
    assert path.stat().st_size < module.MAX_HEADER_BYTES
    with pytest.raises(AdapterFileError, match="200000 class names") as info:
        load_adapter_file(path)
    assert str(path) in str(info.value)

    # Under the hard cap but with nothing stored to back the names.
    path = forged_header_file(
        tmp_path / "bare.safetensors", [f"c{i}" for i in range(module.MAX_CLASSES_WITHOUT_EMBEDDINGS + 1)]
    )
    with pytest.raises(AdapterFileError, match="stores no class embeddings"):
        load_adapter_file(path)
    # ... the same count with one stored embedding per class is a real file.
    path = forged_header_file(
        tmp_path / "backed.safetensors",
        [f"c{i}" for i in range(module.MAX_CLASSES_WITHOUT_EMBEDDINGS + 1)],
        with_embeddings=True,
    )
    assert len(load_adapter_file(path).class_names) == module.MAX_CLASSES_WITHOUT_EMBEDDINGS + 1


def test_absurd_names_and_templates_are_refused(tmp_path):
    from mma_studio.core import adapter_file as module

    cases = {
        "a class name of 10000 characters": {"names": ["a", "x" * 10_000]},
        "200 prompt templates": {"names": ["a", "b"], "templates": [f"{i} {{}}" for i in range(200)]},
        "a prompt template of 1000 characters": {"names": ["a", "b"], "templates": ["{}" + " " * 998]},
    }
    for reason, case in cases.items():
        path = forged_header_file(tmp_path / "f.safetensors", case["names"], case.get("templates", ("a {}",)))
        with pytest.raises(AdapterFileError, match=reason):
            load_adapter_file(path)
    assert module.class_list_problem(["a"] * 2000, ["{}"] * 100) is not None  # 200,000 prompts
    assert module.class_list_problem(["cat", "dog"], ["a photo of a {}."]) is None
