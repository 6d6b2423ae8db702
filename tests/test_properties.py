"""Property-based tests (hypothesis) that complement tests/test_split.py and the file tests.

Split (what test_split.py's properties do not cover yet): explicit base/new lists, the order
classes come in, nesting of shot sets across shot counts, storage round trips, and class or
file names of any kind (including names that are not valid UTF-8).
Adapter file: arbitrary class names (any Unicode), roles, templates, adapter settings and
training/metrics dicts survive save -> load unchanged, with identical logits; and any
mutation of the metadata or any damage to the bytes is either loaded consistently or refused
with `AdapterFileError` — never another exception.
Project file: round trip with any names; any JSON document loads or is refused with
`ProjectError`.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter
from mma_studio.core.adapter_file import AdapterFile, AdapterFileError, load_adapter_file, save_adapter_file
from mma_studio.core.dataset import ClassFolder, ScanResult, readable_class_name
from mma_studio.core.project import Project, ProjectError, RunRecord, load_project, save_project
from mma_studio.core.split import DatasetSplit, SplitError, make_split

ROOT = Path("/data")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def scan_of(counts: dict[str, int], order: list[str] | None = None) -> ScanResult:
    names = order if order is not None else sorted(counts)
    classes = [
        ClassFolder(
            name, readable_class_name(name), ROOT / name, [ROOT / name / f"{i:04d}.png" for i in range(counts[name])]
        )
        for name in names
    ]
    return ScanResult(root=ROOT, classes=classes, skipped=[], warnings=[])


def paths(samples) -> set[Path]:
    return {s.path for s in samples}


def all_paths(split: DatasetSplit) -> list[Path]:
    return [s.path for group in (split.train, split.val, split.test_base, split.test_new) for s in group]


# Class names of any kind a file system hands over: Unicode (no '/' or NUL), and bytes that
# are not valid UTF-8, which Python represents with lone surrogates (os.fsdecode).
unicode_names = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=12
)
undecodable_names = (
    st.binary(min_size=1, max_size=8).filter(lambda b: b"/" not in b and b"\0" not in b).map(os.fsdecode)
)
class_names = unicode_names | undecodable_names
datasets = st.dictionaries(keys=class_names, values=st.integers(1, 25), min_size=1, max_size=7)


# --------------------------------------------------------------------------- split


@FAST
@given(
    counts=datasets,
    data=st.data(),
    shots=st.integers(0, 6),
    val_per_class=st.integers(0, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_explicit_roles_are_respected_and_invariants_hold(counts, data, shots, val_per_class, seed):
    names = sorted(counts)
    base = data.draw(st.lists(st.sampled_from(names), unique=True, min_size=1), label="base")
    others = [n for n in names if n not in base]
    new = data.draw(st.lists(st.sampled_from(others), unique=True) if others else st.just([]), label="new")
    need = shots + val_per_class
    if any(counts[n] < need for n in base):
        with pytest.raises(SplitError):
            make_split(
                scan_of(counts), shots=shots, val_per_class=val_per_class, seed=seed, base_classes=base, new_classes=new
            )
        return
    split = make_split(
        scan_of(counts), shots=shots, val_per_class=val_per_class, seed=seed, base_classes=base, new_classes=new
    )
    assert sorted(split.base_names) == sorted(base) and sorted(split.new_names) == sorted(new)
    left_out = set(names) - set(base) - set(new)
    used_classes = {split.classes[s.class_index] for s in (*split.train, *split.val, *split.test_base, *split.test_new)}
    assert not used_classes & left_out  # classes in neither list are left out entirely
    base_index = set(split.base)
    assert Counter(s.class_index for s in split.train) == (dict.fromkeys(base_index, shots) if shots else Counter())
    assert Counter(s.class_index for s in split.val) == (
        dict.fromkeys(base_index, val_per_class) if val_per_class else Counter()
    )
    assert {s.class_index for s in split.test_new} <= set(split.new)
    found = all_paths(split)
    assert len(found) == len(set(found)) == sum(counts[n] for n in (*base, *new))
    again = make_split(
        scan_of(counts),
        shots=shots,
        val_per_class=val_per_class,
        seed=seed,
        base_classes=list(reversed(base)),
        new_classes=new,
    )
    assert again == split  # the same result for the same seed, whatever order the lists come in


@FAST
@given(counts=datasets, seed=st.integers(0, 10_000), permutation_seed=st.randoms(use_true_random=False))
def test_the_order_classes_are_scanned_in_does_not_change_the_split(counts, seed, permutation_seed):
    order = sorted(counts)
    permutation_seed.shuffle(order)
    minimum = min(counts.values())
    shots, val = max(0, minimum - 1), min(1, minimum)
    reference = make_split(scan_of(counts), shots=shots, val_per_class=val, seed=seed, base_ratio=1.0)
    assert make_split(scan_of(counts, order), shots=shots, val_per_class=val, seed=seed, base_ratio=1.0) == reference


@FAST
@given(
    counts=st.dictionaries(class_names, st.integers(6, 30), min_size=1, max_size=6),
    small=st.integers(0, 5),
    extra=st.integers(0, 5),
    val=st.integers(0, 3),
    seed=st.integers(0, 10_000),
)
def test_more_shots_keep_the_validation_set_and_contain_the_fewer_shots(counts, small, extra, val, seed):
    large = small + extra
    assume(all(n >= large + val for n in counts.values()))
    few = make_split(scan_of(counts), shots=small, val_per_class=val, seed=seed, base_ratio=1.0)
    many = make_split(scan_of(counts), shots=large, val_per_class=val, seed=seed, base_ratio=1.0)
    assert paths(few.val) == paths(many.val)
    assert paths(few.train) <= paths(many.train)
    assert paths(many.test_base) <= paths(few.test_base)


@FAST
@given(counts=datasets, seed=st.integers(0, 10_000), ratio=st.sampled_from([0.3, 0.5, 1.0]), relative=st.booleans())
def test_a_stored_split_comes_back_identical(counts, seed, ratio, relative):
    minimum = min(counts.values())
    split = make_split(
        scan_of(counts), shots=max(0, minimum - 1), val_per_class=min(1, minimum), seed=seed, base_ratio=ratio
    )
    stored = json.loads(json.dumps(split.to_dict(ROOT if relative else None)))
    assert DatasetSplit.from_dict(stored, ROOT if relative else None) == split


# --------------------------------------------------------------------------- adapter file

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Free-form dicts, minus the keys whose types loaders rely on (those are drawn typed below).
free_dicts = st.dictionaries(
    st.text(max_size=12).filter(
        lambda k: (
            k
            not in {
                "folders",
                "shots",
                "val_per_class",
                "seed",
                "display_names",
                "best_epoch",
                "epochs_run",
                "training",
                "augment_views",
                "zero_shot",
                "adapted",
                "model",
                "model_name",
                "pretrained",
                "description",
                "weights_id",
                "embed_dim",
                "is_random",
            }
        )
    ),
    json_values,
    max_size=5,
)
figures = st.fixed_dictionaries({}, optional={k: st.none() | st.floats(0, 1) for k in ("base", "new", "hm", "all")})
templates = st.lists(
    st.tuples(st.text(max_size=10), st.text(max_size=10)).map(lambda t: t[0] + "{}" + t[1]), min_size=1, max_size=3
)


@st.composite
def adapter_configs(draw) -> AdapterConfig:
    heads = draw(st.sampled_from([1, 2, 4]))
    bottleneck = heads * draw(st.integers(1, 4))
    return AdapterConfig(
        embed_dim=draw(st.integers(bottleneck, 24)),
        bottleneck_dim=bottleneck,
        heads=heads,
        blend=draw(st.floats(0, 1)),
        adapt=draw(st.sampled_from(["both", "text", "image"])),
        mask=draw(st.sampled_from(["cross-modal", "full"])),
        projection=draw(st.sampled_from(["linear", "mlp"])),
        logit_scale=draw(st.floats(0.01, 1000)),
    )


@st.composite
def adapter_files(draw) -> AdapterFile:
    config = draw(adapter_configs())
    names = draw(st.lists(st.text(max_size=16), min_size=1, max_size=6, unique=True))
    torch.manual_seed(draw(st.integers(0, 2**16)))
    adapter = MultiModalAdapter.from_config(config)
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.normal_(0, 0.2)
    training = draw(free_dicts)
    training.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "folders": st.lists(st.text(max_size=8), max_size=4),
                    "shots": st.integers(0, 64),
                    "seed": st.integers(),
                    "display_names": st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3),
                    "training": st.dictionaries(st.text(max_size=6), json_scalars, max_size=3),
                },
            )
        )
    )
    metrics = draw(free_dicts)
    metrics.update(draw(st.fixed_dictionaries({}, optional={"zero_shot": figures, "adapted": figures})))
    backbone = draw(free_dicts)
    backbone.update(
        draw(
            st.fixed_dictionaries(
                {"model_name": st.text(max_size=12)},
                optional={
                    "pretrained": st.text(max_size=12),
                    "embed_dim": st.integers(1, 4096),
                    "is_random": st.booleans(),
                },
            )
        )
    )
    return AdapterFile(
        adapter_config=config,
        state_dict=adapter.state_dict(),
        class_names=names,
        roles=draw(st.lists(st.sampled_from(["base", "new"]), min_size=len(names), max_size=len(names))),
        templates=draw(templates),
        backbone=backbone,
        training=training,
        metrics=metrics,
        class_text_features=draw(
            st.none() | st.just(torch.nn.functional.normalize(torch.randn(len(names), config.embed_dim), dim=-1))
        ),
        created=draw(st.text(max_size=20)),
    )


def _temporary_file() -> Path:
    handle, name = tempfile.mkstemp(suffix=".safetensors")
    os.close(handle)
    return Path(name)


@settings(max_examples=60, deadline=None)
@given(contents=adapter_files())
@example(contents=None)  # the fixed example below: every awkward kind of name at once
def test_adapter_metadata_round_trip(contents):
    if contents is None:
        config = AdapterConfig(embed_dim=16, heads=2)
        contents = AdapterFile(
            adapter_config=config,
            state_dict=MultiModalAdapter.from_config(config).state_dict(),
            class_names=["", "café", "写真", "🦊 fox", 'say "hi"\n\tthere', "{}", "a/b\\c", "\u200b"],
            roles=["base", "new"] * 4,
            templates=["{}", "ein Foto von {}.", "{} {}"],
            backbone={"model_name": "m"},
            training={"display_names": {"x": "ü"}, "nested": [[{"k": None}]]},
            metrics={"adapted": {"base": 0.5}},
        )
    path = _temporary_file()
    try:
        save_adapter_file(path, contents)
        loaded = load_adapter_file(path)
    finally:
        path.unlink()
    assert loaded.class_names == contents.class_names and loaded.roles == contents.roles
    assert loaded.templates == contents.templates
    assert loaded.training == contents.training and loaded.metrics == contents.metrics
    assert loaded.backbone == contents.backbone
    assert loaded.adapter_config.to_dict() == contents.adapter_config.to_dict()  # bottleneck None -> resolved
    assert loaded.created == (contents.created or loaded.created)  # empty: stamped at save
    if contents.class_text_features is None:
        assert loaded.class_text_features is None
    else:
        torch.testing.assert_close(loaded.class_text_features, contents.class_text_features.half().float())
    original = MultiModalAdapter.from_config(contents.adapter_config)
    original.load_state_dict(contents.state_dict)
    images, texts = torch.randn(3, contents.adapter_config.embed_dim), torch.randn(4, contents.adapter_config.embed_dim)
    for name, tensor in contents.state_dict.items():  # the weights come back bit for bit
        assert torch.equal(loaded.state_dict[name], tensor.float()), name
    with torch.no_grad():  # and give the same logits (the 'full' mask's attention kernel may differ in the last bit)
        torch.testing.assert_close(
            loaded.build_adapter()(images, texts),
            original.eval()(images, texts),
            rtol=1e-5,
            atol=1e-5 * contents.adapter_config.logit_scale,
        )


@pytest.fixture(scope="module")
def good_file_bytes(tmp_path_factory) -> bytes:
    config = AdapterConfig(embed_dim=16, heads=2)
    contents = AdapterFile(
        adapter_config=config,
        state_dict=MultiModalAdapter.from_config(config).state_dict(),
        class_names=["a", "b"],
        roles=["base", "new"],
        templates=["a photo of a {}."],
        backbone={"model_name": "mma-tiny"},
        training={"shots": 4},
        metrics={},
        class_text_features=torch.nn.functional.normalize(torch.randn(2, 16), dim=-1),
    )
    return save_adapter_file(tmp_path_factory.mktemp("good") / "a.safetensors", contents).read_bytes()


def _split_header(raw: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def _load_or_refuse(raw: bytes) -> AdapterFile | None:
    """Load `raw` as an adapter file: a consistent AdapterFile, or None when refused."""
    path = _temporary_file()
    try:
        path.write_bytes(raw)
        try:
            loaded = load_adapter_file(path)
        except AdapterFileError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            return None
    finally:
        path.unlink()
    adapter = loaded.build_adapter()  # what loading promises: these weights build this adapter
    dim = loaded.adapter_config.embed_dim
    logits = adapter(torch.randn(2, dim), torch.randn(len(loaded.class_names), dim))
    assert logits.shape == (2, len(loaded.class_names))
    return loaded


METADATA_FIELDS = [
    "format",
    "format_version",
    "adapter",
    "backbone",
    "classes",
    "roles",
    "templates",
    "training",
    "metrics",
    "created",
    "app_version",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(METADATA_FIELDS),
    value=json_values,
    as_json=st.booleans(),
    adapter_key=st.sampled_from(
        ["embed_dim", "bottleneck_dim", "heads", "blend", "adapt", "mask", "projection", "logit_scale"]
    ),
)
def test_any_metadata_mutation_is_loaded_consistently_or_refused(good_file_bytes, field, value, as_json, adapter_key):
    header, payload = _split_header(good_file_bytes)
    metadata = header["__metadata__"]
    if field == "adapter" and as_json:  # change one setting inside the adapter JSON
        settings_dict = json.loads(metadata["adapter"])
        settings_dict[adapter_key] = value
        metadata["adapter"] = json.dumps(settings_dict)
    else:
        metadata[field] = json.dumps(value) if as_json else value  # also non-strings, which safetensors forbids
    encoded = json.dumps(header).encode()
    _load_or_refuse(struct.pack("<Q", len(encoded)) + encoded + payload)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_damage_to_the_bytes_is_loaded_consistently_or_refused(good_file_bytes, data):
    raw = bytearray(good_file_bytes)
    damage = data.draw(st.sampled_from(["truncate", "flip", "splice", "replace header length"]))
    if damage == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif damage == "flip":
        for position in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8)):
            raw[position] ^= data.draw(st.integers(1, 255))
    elif damage == "splice":
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        raw[:8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1)))
    _load_or_refuse(bytes(raw))


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=512))
def test_arbitrary_bytes_are_refused(raw):
    assert _load_or_refuse(raw) is None


# --------------------------------------------------------------------------- project file

project_texts = unicode_names | undecodable_names | st.text(max_size=10)


@FAST
@given(
    name=st.text(max_size=20),
    folders=st.lists(project_texts, max_size=4),
    names=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4),
    settings_dict=free_dicts,
    history=st.lists(st.dictionaries(st.text(max_size=5), json_scalars, max_size=3), max_size=3),
)
def test_project_round_trip_with_any_names(name, folders, names, settings_dict, history):
    project = Project(
        name=name or "Untitled",
        data_root=folders[0] if folders else None,
        class_folders=folders,
        display_names=names,
        base_classes=list(names),
        settings=settings_dict,
        runs=[RunRecord(finished_at="t", summary={}, zero_shot={}, history=history, settings={})],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = save_project(project, Path(folder) / "p.mmaproj")
        assert load_project(path) == project


@FAST
@given(
    document=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "data_root",
                "class_folders",
                "display_names",
                "base_classes",
                "new_classes",
                "backbone",
                "settings",
                "runs",
                "version",
                "other",
            ]
        ),
        json_values,
        max_size=6,
    ),
    version=st.sampled_from([1, 1, 1, 0, 2, "1", True, None]),
)
def test_any_json_project_document_loads_or_is_refused(document, version):
    document = {**document, "format": "mma-studio-project", "version": version}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.mmaproj"
        path.write_text(json.dumps(document))
        try:
            project = load_project(path)
        except ProjectError as exc:
            assert "\n" not in str(exc)
            return
    assert isinstance(project.name, str) and all(isinstance(f, str) for f in project.class_folders)
    assert all(isinstance(run.history, list) and all(isinstance(e, dict) for e in run.history) for run in project.runs)
