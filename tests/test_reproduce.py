"""`reproduce` end to end on two fake datasets in CoOp's layouts with the random `mma-tiny`
backbone: tables written, a missing dataset skipped with the files it lacked, and a rerun
that continues (no new work when everything is done, one cell when one is missing)."""

from __future__ import annotations

import csv
import json

import pytest

from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.protocols.reproduce import ReproduceSettings, run_reproduction
from mma_studio.core.protocols.results_store import ResultsConflictError
from mma_studio.core.training import TrainConfig
from tests.coop_layouts import write_layout

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def settings_for(tmp_path, **changes) -> ReproduceSettings:
    values = {
        "data_root": tmp_path / "data",
        "out_dir": tmp_path / "out",
        "datasets": ["OxfordPets", "EuroSAT", "DTD"],
        "seeds": [1, 2],
        "shots": 2,
        "methods": ["zero-shot", "mma"],
        "model": "mma-tiny",
        "pretrained": "random:0",
        "device": "cpu",
        "training": TrainConfig(epochs=2, patience=0),
    }
    values.update(changes)
    return ReproduceSettings(**values)


@pytest.fixture
def fake_data(tmp_path):
    write_layout(tmp_path / "data", "OxfordPets", ["abyssinian", "beagle", "bengal", "boxer"], counts=(3, 2, 2))
    write_layout(
        tmp_path / "data", "EuroSAT", ["AnnualCrop", "Forest", "Highway", "River", "SeaLake"], counts=(3, 2, 2)
    )
    return tmp_path


def test_reproduce_writes_the_tables_skips_a_missing_dataset_and_resumes(fake_data):
    tmp_path = fake_data
    cache = FeatureCache(tmp_path / "cache")
    first = run_reproduction(settings_for(tmp_path), cache=cache)

    assert first.computed == 2 * 2 * 2 and first.reused == 0 and first.backbone_loaded
    assert [(s.name, s.reason) for s in first.skipped] == [("DTD", "files missing")]
    assert first.skipped[0].missing == [
        str(tmp_path / "data" / "dtd" / "split_zhou_DescribableTextures.json"),
        str(tmp_path / "data" / "dtd" / "images"),
    ]
    cells = {(c["dataset"], c["seed"], c["method"]): c for c in first.cells}
    assert set(cells) == {(d, s, m) for d in ("OxfordPets", "EuroSAT") for s in (1, 2) for m in ("zero-shot", "mma")}
    pets = cells[("OxfordPets", 1, "mma")]
    assert pets["counts"] == {"train": 2 * 2, "val": 2 * 2, "test_base": 2 * 2, "test_new": 2 * 2}
    assert 0 <= pets["base"] <= 1 and 0 <= pets["new"] <= 1 and pets["trainable_params"] > 0
    assert cells[("EuroSAT", 1, "zero-shot")]["trainable_params"] == 0

    markdown = first.files["markdown"].read_text()
    assert "| OxfordPets |" in markdown and "| EuroSAT |" in markdown and "**Average (2)**" in markdown
    assert "DTD skipped: files missing" in markdown and "Zero-shot CLIP here and as published" in markdown
    assert "91.17" in markdown and "56.48" in markdown  # CoCoOp's CLIP figures beside ours
    rows = list(csv.DictReader(first.files["csv"].open()))
    average = next(r for r in rows if r["dataset"] == "Average" and r["method"] == "mma")
    mean_base = (
        next(r for r in first.rows if r.dataset == "OxfordPets" and r.method == "mma").base
        + next(r for r in first.rows if r.dataset == "EuroSAT" and r.method == "mma").base
    ) / 2
    assert float(average["base"]) == pytest.approx(mean_base, abs=0.01)
    zero_pets = next(r for r in rows if r["dataset"] == "OxfordPets" and r["method"] == "zero-shot")
    assert (zero_pets["published_base"], zero_pets["published_new"]) == ("91.17", "97.26")
    table = json.loads(first.files["json"].read_text())
    assert table["skipped"][0]["name"] == "DTD" and table["settings"]["shots"] == 2

    again = run_reproduction(settings_for(tmp_path), cache=cache)
    assert again.computed == 0 and again.reused == 8 and not again.backbone_loaded
    assert again.files["markdown"].read_text() == markdown

    results = tmp_path / "out" / "results.json"
    stored = json.loads(results.read_text())
    del stored["cells"]["EuroSAT|2|mma"]
    results.write_text(json.dumps(stored))
    partial = run_reproduction(settings_for(tmp_path), cache=cache)
    assert partial.computed == 1 and partial.reused == 7

    (tmp_path / "data" / "eurosat" / "2750" / "Forest" / "test_0.jpg").write_bytes(b"not a jpeg")
    more_seeds = run_reproduction(settings_for(tmp_path, seeds=[1, 2, 3], datasets=["EuroSAT"]), cache=cache)
    assert more_seeds.computed == 2 and more_seeds.reused == 4
    assert {r.dataset for r in more_seeds.rows} == {"OxfordPets", "EuroSAT", "Average"}  # the folder's whole table
    assert "EuroSAT: 1 image(s) of a split were missing or unreadable" in more_seeds.files["markdown"].read_text()


def test_other_settings_into_the_same_folder_are_refused(fake_data):
    tmp_path = fake_data
    cache = FeatureCache(tmp_path / "cache")
    run_reproduction(settings_for(tmp_path, datasets=["OxfordPets"], seeds=[1], methods=["zero-shot"]), cache=cache)
    with pytest.raises(ResultsConflictError, match="shots"):
        run_reproduction(settings_for(tmp_path, datasets=["OxfordPets"], seeds=[1], shots=1), cache=cache)


def test_the_cli_prints_the_table_and_names_what_a_missing_dataset_lacks(fake_data, capsys):
    from mma_studio.cli import main

    tmp_path = fake_data
    argv = [
        "reproduce",
        "--data-root",
        str(tmp_path / "data"),
        "--datasets",
        "EuroSAT",
        "ucf101",
        "--seeds",
        "1",
        "--shots",
        "2",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "cli-out"),
        "--model",
        "mma-tiny",
        "--pretrained",
        "random:0",
        "--device",
        "cpu",
        "--cache-dir",
        str(tmp_path / "cache"),
        "-q",
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "| EuroSAT |" in captured.out and "56.48" in captured.out
    assert "UCF101 skipped: missing" in captured.err and "split_zhou_UCF101.json" in captured.err
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert data["computed"] == 0 and data["reused"] == 2
    assert [r["dataset"] for r in data["rows"]] == ["EuroSAT", "EuroSAT", "Average", "Average"]

    assert main([*argv, "--shots", "3"]) == 2  # other settings into the same folder: refused, one line
    assert "choose another --out folder" in capsys.readouterr().err
    assert main([*argv[:-1], "--datasets", "Cifar10"]) == 2
    assert "unknown dataset 'Cifar10'" in capsys.readouterr().err


def test_protocol_images_are_every_seeds_shots_and_validation_and_the_whole_test_set(fake_data):
    from mma_studio.core.protocols import get_spec, protocol_split, read_dataset
    from mma_studio.core.protocols.protocol_images import protocol_image_paths

    data = fake_data / "data"
    paths, skipped = protocol_image_paths(data, ["OxfordPets", "DTD"], [1, 2], 2)
    assert list(skipped) == ["DTD"]
    contents = read_dataset(get_spec("OxfordPets"), data)
    expected = {item.path for item in contents.test}
    for seed in (1, 2):
        split = protocol_split(contents, seed, 2)
        expected |= {s.path for s in split.train + split.val}
    assert set(paths) == expected and len(paths) == len(expected)


def test_averages_are_hm_of_mean_base_and_new_and_the_published_average_matches_the_datasets():
    from mma_studio.core.protocols.reference_figures import COCOOP_CLIP_REFERENCE
    from mma_studio.core.protocols.registry import PAPER_ORDER
    from mma_studio.core.protocols.tables import reference_for, summarise

    cells = [
        {
            "dataset": d,
            "seed": s,
            "method": "zero-shot",
            "base": COCOOP_CLIP_REFERENCE[d][0] / 100 + delta,
            "new": COCOOP_CLIP_REFERENCE[d][1] / 100,
        }
        for d in PAPER_ORDER
        for s, delta in ((1, 0.01), (2, -0.01))
    ]
    rows = summarise(cells, PAPER_ORDER, ["zero-shot"])
    pets = next(r for r in rows if r.dataset == "OxfordPets")
    assert pets.base == pytest.approx(91.17) and pets.base_std == pytest.approx(2**0.5)
    average = rows[-1]
    assert average.dataset == "Average" and average.datasets == 11
    assert (round(average.base, 2), round(average.new, 2), round(average.hm, 2)) == (69.34, 74.22, 71.70)
    assert reference_for("Average", rows) == COCOOP_CLIP_REFERENCE["Average"]
    two = summarise([c for c in cells if c["dataset"] in ("DTD", "EuroSAT")], PAPER_ORDER, ["zero-shot"])
    assert reference_for("Average", two)[:2] == pytest.approx(((53.24 + 56.48) / 2, (59.90 + 64.05) / 2))
