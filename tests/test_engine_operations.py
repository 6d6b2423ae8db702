"""Engine calls that the command line used to make up from pieces (issue 14 item 1), checked on
their own: the dataset check's verdict, the images named to classify, the prompt rule, and the
comparison's JSON file."""

from __future__ import annotations

import json

import pytest

from mma_studio.core.dataset import dataset_advice, scan_dataset
from mma_studio.core.dataset_check import check_dataset
from mma_studio.core.images_to_classify import ImageListingError, images_to_classify
from mma_studio.core.pipeline import RunSettings, SettingsError, check_run_settings
from tests.image_factory import make_class_dataset, make_image


def test_the_dataset_check_refuses_what_a_split_cannot_train(tmp_path):
    make_class_dataset(tmp_path / "data", ["ant", "bee", "cat", "dog"], per_class=6)
    scan = scan_dataset(tmp_path / "data")
    fits = check_dataset(scan, shots=2, val_per_class=1, seed=0)
    assert fits.trainable and fits.problems == []
    short = check_dataset(scan, shots=100, val_per_class=4, seed=0)
    assert not short.trainable and len(short.problems) == 1
    # The split's refusal replaces the advice that would say the same in other words.
    shortage = "Base classes need 104 images each"
    assert any(line.startswith(shortage) for line in dataset_advice(scan, shots=100, val_per_class=4))
    assert not any(line.startswith(shortage) for line in short.advice)


def test_images_to_classify_lists_a_folder_and_names_what_is_missing(tmp_path):
    first = make_image(tmp_path / "photos" / "b.png")
    second = make_image(tmp_path / "photos" / "sub" / "a.jpg", fmt="jpeg")
    make_image(tmp_path / "photos" / ".hidden" / "c.png")
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    assert images_to_classify(tmp_path / "photos") == sorted([first, second])
    assert images_to_classify(first) == [first]
    with pytest.raises(ImageListingError, match="no such file or folder"):
        images_to_classify(tmp_path / "nowhere")


def deny_listing(monkeypatch, folder):
    """`folder` cannot be listed, as chmod 000 makes it for a user (injected: tests may run as root)."""
    import os

    real = os.scandir

    def scandir(path="."):
        if os.path.abspath(os.fsdecode(path)) == os.path.abspath(folder):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_images_below_a_folder_are_what_this_pillow_opens_and_unlistable_folders_are_named(tmp_path, monkeypatch):
    from mma_studio.core.image_formats import readable_extensions
    from mma_studio.core.images_to_classify import UnlistedFolder

    photos = tmp_path / "photos"
    kept = make_image(photos / "a.png")
    make_image(photos / ".thumbnail.png")  # a hidden file
    (photos / "drawing.svg").write_text("<svg/>")  # an image no Pillow opens
    (photos / "script.eps").write_bytes(b"%!PS")  # Pillow would run Ghostscript on it: never listed
    unopenable = [ext for ext in (".heic", ".jxl", ".avif") if ext not in readable_extensions()]
    for ext in unopenable:
        (photos / f"phone{ext}").write_bytes(b"\x00" * 32)
    make_image(photos / "locked" / "b.png")
    deny_listing(monkeypatch, photos / "locked")
    warnings: list[UnlistedFolder] = []
    assert images_to_classify(photos, warnings.append) == [kept]
    assert [(w.path, w.reason) for w in warnings] == [(photos / "locked", "permission denied")]
    assert (
        str(warnings[0]) == f"{photos / 'locked'}: cannot list the folder (permission denied); its images are left out"
    )
    deny_listing(monkeypatch, photos)
    with pytest.raises(ImageListingError, match=r"photos: cannot list the folder \(permission denied\)"):
        images_to_classify(photos)


def test_the_demos_folder_csv_lists_images_as_predict_does(tmp_path, monkeypatch):
    """`classify_folder_to_csv` (the Demo page's folder) lists through `images_to_classify`: the
    same files, an unlistable sub-folder as a row with its reason, no images an error naming the folder."""
    import csv

    from mma_studio.core.batch_classify import classify_folder_to_csv
    from mma_studio.core.predict import Prediction

    class Classifier:  # the listing is under test, not the model
        class_names = ["ant", "bee"]

        def classify_paths(self, paths, top_k, on_progress=None, token=None):
            self.paths = list(paths)
            return [Prediction(str(p), ["ant", "bee"], [0.75, 0.25], ["bee"], [0.5]) for p in paths]

    inbox = tmp_path / "inbox"
    make_image(inbox / "x" / "one.png")
    make_image(inbox / ".cache" / "hidden.png")
    make_image(inbox / "locked" / "two.png")
    deny_listing(monkeypatch, inbox / "locked")
    classifier = Classifier()
    assert classify_folder_to_csv(classifier, inbox, tmp_path / "out.csv", top_k=2) == 2
    assert classifier.paths == images_to_classify(inbox) == [inbox / "x" / "one.png"]
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [(r["path"], r["label_1"], r["error"]) for r in rows] == [
        ("locked", "", "cannot list the folder (permission denied); its images are left out"),
        ("x/one.png", "ant", ""),
    ]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageListingError, match="empty: no images found"):
        classify_folder_to_csv(classifier, tmp_path / "empty", tmp_path / "none.csv")
    assert not (tmp_path / "none.csv").exists()


def test_a_prompt_template_without_the_class_name_is_refused():
    check_run_settings(RunSettings(templates=["a photo of a {}."]))
    with pytest.raises(SettingsError, match="needs a {}"):
        check_run_settings(RunSettings(templates=["a photo", "a photo of a {}."]))


def test_a_comparisons_json_file_is_its_results(tmp_path):
    from mma_studio.core.comparison_files import write_results_json

    class Result:
        def to_json(self) -> str:
            return json.dumps({"runs": [1, 2]})

    path = write_results_json(Result(), tmp_path / "out" / "results.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"runs": [1, 2]}
