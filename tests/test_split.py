"""Base/new roles and the k-shot split: exact counts, disjointness, determinism, storage.

Most tests build a `ScanResult` in memory (the split never touches the disk), so the
hypothesis properties run hundreds of splits in a couple of seconds.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mma_studio.core.dataset import ClassFolder, ScanResult, readable_class_name, scan_dataset
from mma_studio.core.split import (
    DatasetSplit,
    Sample,
    SplitError,
    default_roles,
    fitting_sample_sizes,
    make_split,
    shuffled_roles,
)
from tests.image_factory import make_class_dataset

ROOT = Path("/data")


def scan_of(counts: dict[str, int]) -> ScanResult:
    classes = [
        ClassFolder(name, readable_class_name(name), ROOT / name, [ROOT / name / f"{i:04d}.png" for i in range(n)])
        for name, n in sorted(counts.items())
    ]
    return ScanResult(root=ROOT, classes=classes, skipped=[], warnings=[])


def per_class(samples: list[Sample]) -> Counter:
    return Counter(s.class_index for s in samples)


def paths(samples: list[Sample]) -> set[Path]:
    return {s.path for s in samples}


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(("n", "n_base"), [(1, 1), (2, 2), (3, 2), (4, 2), (5, 3), (10, 5), (101, 51)])
def test_default_roles_take_the_first_half_rounded_up(n, n_base):
    names = [f"c{i:03d}" for i in range(n)][::-1]  # given unsorted
    base, new = default_roles(names)
    assert base == sorted(names)[:n_base] and new == sorted(names)[n_base:]


def test_default_roles_ratio_and_edge_cases():
    names = [f"c{i}" for i in range(10)]
    assert len(default_roles(names, 0.7)[0]) == 7  # not 8 from 10 * 0.7 = 7.000000000000001
    assert len(default_roles(names, 0.01)[0]) == 2  # at least the two base classes training needs
    assert default_roles(names, 1.0) == (sorted(names), [])
    assert default_roles(["solo"]) == (["solo"], [])
    assert default_roles([]) == ([], [])
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError):
            default_roles(names, bad)
    with pytest.raises(ValueError):
        default_roles(["a", "a"])


def test_shuffled_roles_are_a_seeded_partition_of_the_default_sizes():
    names = [f"class{i}" for i in range(12)]
    base, new = shuffled_roles(names, seed=3)
    assert sorted(base + new) == sorted(names) and not set(base) & set(new)
    assert len(base) == 6 and base == sorted(base) and new == sorted(new)
    assert shuffled_roles(list(reversed(names)), seed=3) == (base, new)
    assert len({tuple(shuffled_roles(names, seed=s)[0]) for s in range(8)}) > 1


# --------------------------------------------------------------------------- make_split


def test_split_takes_exact_shots_and_val_and_keeps_the_rest_for_testing():
    scan = scan_of({"ant": 30, "bee": 25, "cat": 21, "dog": 9, "eel": 3})  # base: ant bee cat
    split = make_split(scan, shots=16, val_per_class=4, seed=1)
    assert split.classes == ["ant", "bee", "cat", "dog", "eel"]
    assert split.base_names == ["ant", "bee", "cat"] and split.new_names == ["dog", "eel"]
    assert split.base == [0, 1, 2] and split.new == [3, 4]
    assert per_class(split.train) == {0: 16, 1: 16, 2: 16}
    assert per_class(split.val) == {0: 4, 1: 4, 2: 4}
    assert per_class(split.test_base) == {0: 10, 1: 5, 2: 1}
    assert per_class(split.test_new) == {3: 9, 4: 3}
    groups = [paths(split.train), paths(split.val), paths(split.test_base), paths(split.test_new)]
    assert sum(map(len, groups)) == len(set().union(*groups)) == 88  # disjoint and complete
    for s in split.train + split.val + split.test_base + split.test_new:
        assert s.path.parent.name == split.classes[s.class_index]
    assert split.counts() == {"train": 48, "val": 12, "test_base": 16, "test_new": 12}
    assert (split.seed, split.shots, split.val_per_class) == (1, 16, 4)


def test_same_seed_same_split_other_seed_other_samples():
    scan = scan_of({"a": 40, "b": 40, "c": 40})
    assert make_split(scan, seed=7) == make_split(scan, seed=7)
    assert paths(make_split(scan, seed=7).train) != paths(make_split(scan, seed=8).train)


def test_adding_a_class_does_not_change_other_classes_samples():
    before = make_split(scan_of({"a": 40, "c": 40, "e": 40}), base_classes=["a", "c", "e"])
    after = make_split(scan_of({"a": 40, "b": 40, "c": 40, "e": 40}), base_classes=["a", "c", "e"])
    assert paths(before.train) == paths(after.train)
    assert paths(before.val) == paths(after.val)


def test_changing_shots_keeps_validation_and_nests_the_shots():
    scan = scan_of({"a": 50, "b": 50})
    small = make_split(scan, shots=4, base_classes=["a", "b"])
    large = make_split(scan, shots=16, base_classes=["a", "b"])
    assert paths(small.val) == paths(large.val)
    assert paths(small.train) < paths(large.train)


def test_zero_shots_gives_a_zero_shot_only_split():
    split = make_split(scan_of({"a": 3, "b": 2, "c": 1}), shots=0, val_per_class=0)
    assert split.train == [] and split.val == []
    assert per_class(split.test_base) == {0: 3, 1: 2} and per_class(split.test_new) == {2: 1}


def test_single_class_is_all_base():
    split = make_split(scan_of({"solo": 10}), shots=4, val_per_class=2)
    assert split.base_names == ["solo"] and split.new == [] and split.test_new == []


def test_split_error_names_every_short_base_class_with_counts():
    scan = scan_of({"golden_retriever": 7, "pug": 1, "whippet": 50, "yak": 2})
    with pytest.raises(SplitError) as info:
        make_split(scan, shots=16, val_per_class=4, base_classes=["golden_retriever", "pug", "whippet"])
    message = str(info.value)
    assert "'golden retriever' has 7 of 20" in message and "'pug' has 1 of 20" in message
    assert "whippet" not in message and "yak" not in message  # enough images / a new class
    assert "16 training shots + 4 validation" in message


def test_split_error_says_which_smaller_sizes_fit():
    scan = scan_of({"ant": 10, "bee": 12, "cat": 3})
    with pytest.raises(SplitError, match=r"lower the number of shots \(6 shots \+ 2 validation images per class fit\)"):
        make_split(scan, shots=16, val_per_class=4, base_classes=["ant", "bee"])
    split = make_split(scan, shots=6, val_per_class=2, base_classes=["ant", "bee"])  # the fitted sizes do train
    assert len(split.train) == 12 and len(split.val) == 4 and len(split.test_base) == 2 + 4


@pytest.mark.parametrize(
    ("smallest", "expected"),
    [
        (1, None),
        (2, (1, 1)),
        (3, (1, 1)),
        (5, (3, 1)),
        (10, (6, 2)),
        (15, (9, 3)),
        (19, (12, 3)),
        (20, (16, 4)),
    ],
)
def test_fitting_sample_sizes_examples(smallest, expected):
    assert fitting_sample_sizes(smallest, 16, 4) == expected


@settings(max_examples=200, deadline=None)
@given(smallest=st.integers(0, 100), shots=st.integers(1, 32), val=st.integers(0, 8))
def test_fitting_sample_sizes_fit_and_never_grow(smallest, shots, val):
    fitted = fitting_sample_sizes(smallest, shots, val)
    if smallest >= shots + val:
        assert fitted == (shots, val)  # nothing to fit: the asked-for sizes stand
    elif fitted is None:
        assert smallest < 1 + min(val, 1)  # not even one shot (and one validation image if asked) fits
    else:
        fitted_shots, fitted_val = fitted
        assert 1 <= fitted_shots <= shots and 0 <= fitted_val <= val and (fitted_val >= 1) == (val >= 1)
        assert fitted_shots + fitted_val <= smallest


def test_explicit_roles():
    scan = scan_of({"a": 5, "b": 5, "c": 5, "d": 5})
    split = make_split(scan, shots=2, val_per_class=1, new_classes=["a"])
    assert split.base_names == ["b", "c", "d"] and split.new_names == ["a"]
    both = make_split(scan, shots=2, val_per_class=1, base_classes=["d", "b"], new_classes=["c"])
    assert both.base_names == ["b", "d"] and both.new_names == ["c"]
    assert 0 not in {s.class_index for s in both.train + both.val + both.test_base + both.test_new}
    with pytest.raises(SplitError, match="Unknown class name.*'zzz'"):
        make_split(scan, base_classes=["a", "zzz"])
    with pytest.raises(SplitError, match="both base and new: 'a'"):
        make_split(scan, shots=1, val_per_class=0, base_classes=["a"], new_classes=["a", "b"])
    with pytest.raises(SplitError, match="No base class"):
        make_split(scan, new_classes=["a", "b", "c", "d"])
    with pytest.raises(ValueError):
        make_split(scan, shots=-1)


def test_local_labels_index_within_the_role():
    split = make_split(scan_of({"a": 6, "b": 6, "c": 6, "d": 6}), shots=2, val_per_class=1)
    assert split.local_labels(split.train, "base") == [s.class_index for s in split.train]
    assert set(split.local_labels(split.test_new, "new")) == {0, 1}  # c, d -> 0, 1
    with pytest.raises(ValueError, match="not a new class"):
        split.local_labels(split.train, "new")


# --------------------------------------------------------------------------- storage


def test_round_trip_through_json_with_relative_paths(tmp_path):
    make_class_dataset(tmp_path / "data", {"ant": 6, "bee": 6, "cat ü": 4}, nested=True)
    split = make_split(scan_dataset(tmp_path / "data"), shots=3, val_per_class=1)
    stored = json.loads(json.dumps(split.to_dict(root=tmp_path)))
    assert stored["train"][0][0].startswith("data/")  # relative, with '/'
    assert DatasetSplit.from_dict(stored, root=tmp_path) == split
    assert split.missing_paths() == []
    moved = tmp_path / "moved"
    moved.mkdir()
    (tmp_path / "data").rename(moved / "data")  # the project moved with its data
    relocated = DatasetSplit.from_dict(stored, root=moved)
    assert relocated.missing_paths() == [] and split.missing_paths() != []


def test_paths_outside_the_root_stay_absolute():
    split = make_split(scan_of({"a": 4, "b": 4}), shots=1, val_per_class=1)
    stored = split.to_dict(root="/elsewhere")
    assert stored["train"][0][0] == str(split.train[0].path)
    assert DatasetSplit.from_dict(stored, root="/elsewhere") == split


def test_malformed_stored_splits_are_refused():
    good = make_split(scan_of({"a": 4, "b": 4, "c": 3}), shots=1, val_per_class=1).to_dict()
    broken = [
        {k: v for k, v in good.items() if k != "train"},
        {**good, "format": 99},
        {**good, "base": [0, 2], "new": [2]},
        {**good, "train": [*good["train"], good["test_new"][0]]},  # a new-class image in train
        {**good, "val": [*good["val"], good["train"][0]]},  # an image in two sets
        {**good, "display_names": ["a"]},
        {**good, "seed": "not a number"},
        {**good, "train": [["x.png"]]},
    ]
    for data in broken:
        with pytest.raises(SplitError):
            DatasetSplit.from_dict(data)


# --------------------------------------------------------------------------- properties

datasets = st.dictionaries(
    keys=st.text(alphabet="abcdefgh_-1", min_size=1, max_size=6),
    values=st.integers(min_value=1, max_value=30),
    min_size=1,
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(
    counts=datasets,
    shots=st.integers(0, 10),
    val_per_class=st.integers(0, 4),
    seed=st.integers(0, 2**31 - 1),
    base_ratio=st.sampled_from([0.25, 0.5, 0.7, 1.0]),
)
def test_split_invariants(counts, shots, val_per_class, seed, base_ratio):
    scan = scan_of(counts)
    base_names, new_names = default_roles(list(counts), base_ratio)
    need = shots + val_per_class
    short = sorted(n for n in base_names if counts[n] < need)
    if short:
        with pytest.raises(SplitError) as info:
            make_split(scan, shots=shots, val_per_class=val_per_class, seed=seed, base_ratio=base_ratio)
        for name in short:
            assert f"{readable_class_name(name)!r} has {counts[name]} of {need}" in str(info.value)
        return
    split = make_split(scan, shots=shots, val_per_class=val_per_class, seed=seed, base_ratio=base_ratio)
    # roles partition the classes
    assert split.base_names == base_names and split.new_names == new_names
    assert sorted(split.base + split.new) == list(range(len(counts)))
    # exactly k shots and val per base class; nothing trains on a new class
    base_idx = set(split.base)
    assert per_class(split.train) == (dict.fromkeys(base_idx, shots) if shots else {})
    assert per_class(split.val) == (dict.fromkeys(base_idx, val_per_class) if val_per_class else {})
    assert {s.class_index for s in split.test_base} <= base_idx
    assert {s.class_index for s in split.test_new} == set(split.new)
    # disjoint, and every image lands somewhere exactly once
    groups = [split.train, split.val, split.test_base, split.test_new]
    all_paths = [s.path for g in groups for s in g]
    assert len(all_paths) == len(set(all_paths)) == sum(counts.values())
    # determinism per seed
    again = make_split(scan, shots=shots, val_per_class=val_per_class, seed=seed, base_ratio=base_ratio)
    assert again == split


@settings(max_examples=40, deadline=None)
@given(counts=datasets, extra=st.integers(1, 30), seed=st.integers(0, 1000), shots=st.integers(0, 5))
def test_adding_a_class_keeps_every_other_sample(counts, extra, seed, shots):
    counts = {name: n + shots + 1 for name, n in counts.items()}
    newcomer = "zz_new_class"
    base = list(counts)
    before = make_split(scan_of(counts), shots=shots, val_per_class=1, seed=seed, base_classes=base)
    after = make_split(
        scan_of({**counts, newcomer: extra + shots + 1}), shots=shots, val_per_class=1, seed=seed, base_classes=base
    )
    assert paths(before.train) == paths(after.train) and paths(before.val) == paths(after.val)
    assert paths(before.test_base) == paths(after.test_base)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 60), ratio=st.floats(0.01, 1.0), seed=st.integers(0, 1000))
def test_role_sizes(n, ratio, seed):
    names = [f"c{i}" for i in range(n)]
    base, new = default_roles(names, ratio)
    assert base + new == sorted(names)
    if n:
        k = len(base)
        # the smallest count reaching the ratio, but at least two base classes (training needs two)
        assert k == min(n, max(k, 2)) and (k / n >= ratio - 1e-9 or k == n)
        assert k <= 2 or (k - 1) / n < ratio - 1e-9
    else:
        assert base == [] and new == []
    shuffled_base, shuffled_new = shuffled_roles(names, seed, ratio)
    assert len(shuffled_base) == len(base) and sorted(shuffled_base + shuffled_new) == sorted(names)
