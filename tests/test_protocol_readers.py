"""Every dataset reader of the paper's protocol on a fake layout in CoOp's format: classes,
readable names, base/new halves, shots, validation images and prompt templates."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict

import pytest

from mma_studio.core.protocols import (
    DATASETS,
    PAPER_ORDER,
    ProtocolDataError,
    get_spec,
    missing_files,
    protocol_split,
    read_dataset,
)
from tests.coop_layouts import write_layout

# name -> (raw class names as the split/folders hold them, the readable names CoOp prompts with)
CASES = {
    "ImageNet": (
        ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark"],
        ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead shark"],
    ),
    "Caltech101": (
        ["accordion", "airplanes", "anchor", "Faces", "Leopards"],
        ["accordion", "airplane", "anchor", "face", "leopard"],
    ),
    "OxfordPets": (
        ["abyssinian", "american_bulldog", "basset_hound", "beagle", "bengal"],
        ["abyssinian", "american bulldog", "basset hound", "beagle", "bengal"],
    ),
    "StanfordCars": (
        [
            "2000 AM General Hummer SUV",
            "2012 Acura RL Sedan",
            "2012 Acura TL Sedan",
            "2008 Acura TL Type-S",
            "2012 Acura TSX Sedan",
        ],
        [
            "2000 AM General Hummer SUV",
            "2012 Acura RL Sedan",
            "2012 Acura TL Sedan",
            "2008 Acura TL Type-S",
            "2012 Acura TSX Sedan",
        ],
    ),
    "Flowers102": (
        ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold"],
        ["pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold"],
    ),
    "Food101": (
        ["apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio", "beef_tartare"],
        ["apple pie", "baby back ribs", "baklava", "beef carpaccio", "beef tartare"],
    ),
    "FGVCAircraft": (
        ["707-320", "727-200", "737-200", "737-300", "A300B4"],
        ["707-320", "727-200", "737-200", "737-300", "A300B4"],
    ),
    "SUN397": (
        ["indoor abbey", "airplane cabin", "outdoor airport terminal", "alley", "amphitheater"],
        ["indoor abbey", "airplane cabin", "outdoor airport terminal", "alley", "amphitheater"],
    ),
    "DTD": (["banded", "blotchy", "braided", "bubbly", "bumpy"], ["banded", "blotchy", "braided", "bubbly", "bumpy"]),
    "EuroSAT": (
        ["AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "SeaLake"],
        ["Annual Crop Land", "Forest", "Herbaceous Vegetation Land", "Highway or Road", "Sea or Lake"],
    ),
    "UCF101": (
        ["Apply_Eye_Makeup", "Apply_Lipstick", "Archery", "Baby_Crawling", "Balance_Beam"],
        ["Apply Eye Makeup", "Apply Lipstick", "Archery", "Baby Crawling", "Balance Beam"],
    ),
}

TEMPLATES = {  # CoOp's CUSTOM_TEMPLATES, as issue 17 lists them
    "OxfordPets": "a photo of a {}, a type of pet.",
    "Flowers102": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DTD": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "Food101": "a photo of {}, a type of food.",
    "UCF101": "a photo of a person doing {}.",
}

FOLDERS = {  # CoOp's DATASETS.md
    "ImageNet": "imagenet",
    "Caltech101": "caltech-101",
    "OxfordPets": "oxford_pets",
    "StanfordCars": "stanford_cars",
    "Flowers102": "oxford_flowers",
    "Food101": "food-101",
    "FGVCAircraft": "fgvc_aircraft",
    "SUN397": "sun397",
    "DTD": "dtd",
    "EuroSAT": "eurosat",
    "UCF101": "ucf101",
}


def dassl_few_shot(items, shots, seed_then_stream):
    """Dassl's generate_fewshot_dataset, written out again: group by label in first-appearance
    order, random.sample per group, on the global `random` seeded by set_random_seed."""
    tracker = defaultdict(list)
    for item in items:
        tracker[item.label].append(item)
    out = []
    for group in tracker.values():
        out.extend(seed_then_stream.sample(group, shots) if len(group) >= shots else group)
    return out


def test_the_registry_holds_the_papers_eleven_datasets_in_coops_folders():
    assert list(PAPER_ORDER) == list(CASES)
    assert {name: spec.folder for name, spec in DATASETS.items()} == FOLDERS
    for name, spec in DATASETS.items():
        assert spec.template == TEMPLATES.get(name, "a photo of a {}.")
    assert get_spec("oxfordflowers").name == "Flowers102" and get_spec("DescribableTextures").name == "DTD"


@pytest.mark.parametrize("name", list(CASES))
def test_each_reader_reads_its_layout_with_names_halves_shots_and_template(tmp_path, name):
    raw, readable = CASES[name]
    ignored = {"BACKGROUND_Google": len(raw)} if name == "Caltech101" else None
    written = write_layout(tmp_path, name, raw, counts=(8, 5, 2), ignored=ignored)
    spec = get_spec(name)
    assert missing_files(spec, tmp_path) == []

    contents = read_dataset(spec, tmp_path)
    assert contents.class_names == readable
    assert len(contents.train) == written["train"] and len(contents.test) == written["test"]
    assert all(item.path.is_file() for item in contents.train + contents.test)
    assert sorted({item.label for item in contents.train}) == list(range(len(raw)))

    split = protocol_split(contents, seed=2, shots=4)
    assert split.base == [0, 1, 2] and split.new == [3, 4]  # ceil(5/2) first labels are base
    assert split.base_display_names == readable[:3] and split.new_display_names == readable[3:]
    per_class = defaultdict(int)
    for sample in split.train:
        per_class[sample.class_index] += 1
    assert dict(per_class) == {0: 4, 1: 4, 2: 4}  # k shots per base class, none of the new
    val_counts = defaultdict(int)
    for sample in split.val:
        val_counts[sample.class_index] += 1
    assert dict(val_counts) == {0: 4, 1: 4, 2: 4}  # min(k, 4) per base class
    assert not {s.path for s in split.train} & {s.path for s in split.val}
    assert {s.class_index for s in split.test_base} == {0, 1, 2} and {s.class_index for s in split.test_new} == {3, 4}
    assert len(split.test_base) + len(split.test_new) == written["test"]
    assert split.local_labels(split.test_new, "new") == [s.class_index - 3 for s in split.test_new]  # relabelled
    prompt = spec.template.replace("{}", split.display_names[0])
    assert prompt == TEMPLATES.get(name, "a photo of a {}.").format(readable[0])


@pytest.mark.parametrize("name", ["OxfordPets", "FGVCAircraft"])
def test_shots_are_the_images_coop_draws_for_the_seed(tmp_path, name):
    raw, _ = CASES[name]
    write_layout(tmp_path, name, raw, counts=(9, 6, 1))
    contents = read_dataset(get_spec(name), tmp_path)
    for seed in (1, 2, 3):
        stream = random.Random(seed)
        train = dassl_few_shot(contents.train, 8, stream)
        val = dassl_few_shot(contents.val, 4, stream)
        split = protocol_split(contents, seed=seed, shots=8)
        assert [s.path for s in split.train] == [i.path for i in train if i.label < 3]
        assert [s.path for s in split.val] == [i.path for i in val if i.label < 3]
    assert {s.path for s in protocol_split(contents, 1, 8).train} != {
        s.path for s in protocol_split(contents, 2, 8).train
    }
    small = protocol_split(contents, seed=1, shots=20)  # more shots than images: all of them
    assert len(small.train) == 3 * 9 and len(small.val) == 3 * 4


def test_imagenet_validation_comes_from_unused_training_images(tmp_path):
    raw, _ = CASES["ImageNet"]
    write_layout(tmp_path, "ImageNet", raw, counts=(7, 0, 2))
    contents = read_dataset(get_spec("ImageNet"), tmp_path)
    assert contents.val is None and contents.notes
    split = protocol_split(contents, seed=1, shots=3)
    train_paths = {s.path for s in split.train}
    assert len(split.val) == 3 * 3 and not train_paths & {s.path for s in split.val}
    assert all("/images/train/" in s.path.as_posix() for s in split.val)
    assert all("/images/val/" in s.path.as_posix() for s in split.test_base + split.test_new)


def test_missing_files_are_named_and_malformed_split_files_say_where(tmp_path):
    spec = get_spec("EuroSAT")
    assert missing_files(spec, tmp_path) == [
        tmp_path / "eurosat" / "split_zhou_EuroSAT.json",
        tmp_path / "eurosat" / "2750",
    ]
    write_layout(tmp_path, "EuroSAT", CASES["EuroSAT"][0], counts=(2, 1, 1))
    split_file = tmp_path / "eurosat" / "split_zhou_EuroSAT.json"
    data = json.loads(split_file.read_text())
    data["train"][0] = ["only/a/path.jpg"]
    split_file.write_text(json.dumps(data))
    with pytest.raises(ProtocolDataError, match=r"split_zhou_EuroSAT\.json: train\[0\]"):
        read_dataset(spec, tmp_path)
    aircraft = get_spec("FGVCAircraft")
    assert tmp_path / "fgvc_aircraft" / "variants.txt" in missing_files(aircraft, tmp_path)


def test_half_of_an_odd_class_count_rounds_up_to_base(tmp_path):
    write_layout(tmp_path, "DTD", ["a", "b", "c", "d", "e", "f", "g"], counts=(2, 1, 1))
    split = protocol_split(read_dataset(get_spec("DTD"), tmp_path), seed=1, shots=1)
    assert len(split.base) == math.ceil(7 / 2) == 4 and len(split.new) == 3
