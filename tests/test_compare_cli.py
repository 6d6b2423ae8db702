"""`mma-studio compare` and its studies end to end with mma-tiny (random weights), as a user runs them."""

import pytest

from mma_studio.cli import main
from tests.image_factory import make_class_dataset
from tests.test_cli import run_json

CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    make_class_dataset(root / "data", CLASSES, per_class=8)
    return root


def small(workspace) -> list[str]:
    return [
        str(workspace / "data"),
        "--model",
        "mma-tiny",
        "--pretrained",
        "random",
        "--cache-dir",
        str(workspace / "cache"),
        "--shots",
        "3",
        "--val-per-class",
        "2",
        "--epochs",
        "3",
        "-q",
    ]


def test_compare_json_gives_one_object_per_method_with_mean_std_and_each_seed(workspace, capsys):
    methods = ["zero-shot", "linear-probe", "clip-adapter", "tip-adapter", "mma"]
    code, lines = run_json(
        capsys,
        [
            "compare",
            *small(workspace),
            "--methods",
            *methods,
            "--seeds",
            "1",
            "2",
            "--json",
            "--plot",
            str(workspace / "chart.svg"),
        ],
    )
    assert code == 0
    *rows, summary = lines
    assert [r["method"] for r in rows] == methods and all(r["event"] == "method" for r in rows)
    assert summary["event"] == "summary" and summary["seeds"] == [1, 2]
    by_name = {r["method"]: r for r in rows}
    for row in rows:
        assert [run["seed"] for run in row["runs"]] == [1, 2]
        assert row["base"]["n"] == 2 and row["base"]["std"] is not None
        assert row["train_s"]["mean"] >= 0
        values = [run["base"] for run in row["runs"]]
        assert row["base"]["mean"] == pytest.approx(sum(values) / 2)
    # the classes a probe or a cache never saw are scored zero-shot, and the output says so
    assert by_name["linear-probe"]["new_is_zero_shot"] and by_name["tip-adapter"]["new_is_zero_shot"]
    assert not by_name["mma"]["new_is_zero_shot"] and not by_name["clip-adapter"]["new_is_zero_shot"]
    assert by_name["linear-probe"]["new"]["mean"] == pytest.approx(by_name["zero-shot"]["new"]["mean"])
    # a shot cache's "all" is not applicable (its scores and the zero-shot ones are on different scales)
    assert not by_name["tip-adapter"]["all_applicable"] and by_name["tip-adapter"]["all"]["mean"] is None
    assert all(by_name[m]["all_applicable"] and by_name[m]["all"]["mean"] is not None for m in ("mma", "linear-probe"))
    assert by_name["zero-shot"]["trainable_params"] == 0 < by_name["mma"]["trainable_params"]
    assert any("zero-shot" in note for note in summary["footnotes"])
    assert (workspace / "chart.svg").read_text().startswith("<svg")


def test_compare_prints_one_table_with_the_fallback_mark(workspace, capsys):
    code = main(
        ["compare", *small(workspace), "--methods", "zero-shot", "tip-adapter", "mma", "--seeds", "1", "--markdown"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("| Tip-Adapter †") == 1 and "| MMA" in out and "new classes are scored zero-shot" in out
    [tip] = [line for line in out.splitlines() if line.startswith("| Tip-Adapter †")]
    assert tip.split("|")[5].strip() == "—" and "— in 'all' (Tip-Adapter): not applicable" in out


def test_noise_study_caches_noisy_test_features_apart_from_clean_ones(workspace, capsys):
    argv = [
        "compare",
        *small(workspace),
        "--study",
        "noise",
        "--methods",
        "zero-shot",
        "clip-adapter",
        "--seeds",
        "1",
        "--json",
        "--cache-dir",
        str(workspace / "noise-cache"),
    ]
    code, lines = run_json(capsys, argv)
    assert code == 0
    *rows, summary = lines
    assert summary["study"] == "noise" and [r["label"] for r in rows] == ["Zero-shot CLIP", "CLIP-Adapter"]
    zero = rows[0]
    assert zero["noisy_base"]["mean"] is not None and zero["hm_drop"]["mean"] is not None
    namespaces = [p.name for p in (workspace / "noise-cache").iterdir() if p.name.startswith("img-")]
    assert len(namespaces) == 2  # clean and noisy images under different keys of the same cache
    # a second run reads the noisy features back from the cache and gets the same figures
    code, again = run_json(capsys, argv)
    assert code == 0 and again[:-1] == rows


def test_class_share_study_reports_each_share(workspace, capsys):
    code, lines = run_json(
        capsys,
        ["compare", *small(workspace), "--study", "class-share", "--methods", "zero-shot", "--seeds", "1", "--json"],
    )
    assert code == 0
    rows = lines[:-1]
    # 6 classes: shares of 10%..30% all give the minimum of 2 base classes, 90% gives 6 of 6 (no new class)
    assert [r["classes"] for r in rows][:3] == ["2/6", "2/6", "2/6"]
    assert rows[-1]["classes"] == "6/6" and rows[-1]["new"]["mean"] is None


def test_an_unknown_method_is_refused_before_any_work(workspace, capsys):
    with pytest.raises(SystemExit):
        main(["compare", *small(workspace), "--methods", "svm"])
    assert "invalid choice" in capsys.readouterr().err
