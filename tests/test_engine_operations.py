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
