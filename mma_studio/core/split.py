"""Base/new roles and the exact k-shot split of a scanned dataset (DESIGN.md section 2).

Base classes train on exactly `shots` images each and select the epoch on a disjoint
validation set; their remaining images measure base accuracy. New classes are never trained
on: all their images measure new-class accuracy. Sampling uses one RNG per class, seeded by
(seed, class name), so adding or removing a class never changes another class's samples, and
the validation images come first in each class's shuffled order, so changing `shots` keeps
the validation set and makes smaller shot sets subsets of larger ones.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# The roles and the sample sizes live below both this module and the scan's; the split's
# callers keep importing them from here (explicit re-exports).
from mma_studio.core.class_roles import MIN_BASE_CLASSES as MIN_BASE_CLASSES
from mma_studio.core.class_roles import default_roles
from mma_studio.core.class_roles import shuffled_roles as shuffled_roles
from mma_studio.core.dataset import ScanResult, brief_listing
from mma_studio.core.sample_sizes import fitting_sample_sizes as fitting_sample_sizes
from mma_studio.core.sample_sizes import fitting_sizes_hint

SPLIT_FORMAT_VERSION = 1


class SplitError(ValueError):
    """The requested split is impossible; the message says which classes and why."""


@dataclass(frozen=True)
class Sample:
    path: Path
    class_index: int  # index into DatasetSplit.classes


@dataclass
class DatasetSplit:
    classes: list[str]  # all class names (ClassFolder.name), sorted
    display_names: list[str]
    base: list[int]  # indices into classes
    new: list[int]
    train: list[Sample]
    val: list[Sample]
    test_base: list[Sample]
    test_new: list[Sample]
    seed: int
    shots: int
    val_per_class: int

    @property
    def base_names(self) -> list[str]:
        return [self.classes[i] for i in self.base]

    @property
    def new_names(self) -> list[str]:
        return [self.classes[i] for i in self.new]

    @property
    def base_display_names(self) -> list[str]:
        return [self.display_names[i] for i in self.base]

    @property
    def new_display_names(self) -> list[str]:
        return [self.display_names[i] for i in self.new]

    def local_labels(self, samples: Sequence[Sample], role: str) -> list[int]:
        """Labels as positions within the base (or new) class list, as the classifier sees them.

        Training and evaluation score an image against the base prompts only (or the new
        prompts only), so label `j` means `base_names[j]`, not `classes[j]`.
        """
        group = {"base": self.base, "new": self.new}[role]
        position = {class_index: j for j, class_index in enumerate(group)}
        try:
            return [position[s.class_index] for s in samples]
        except KeyError as exc:
            raise ValueError(f"sample of class {self.classes[exc.args[0]]!r} is not a {role} class") from None

    def counts(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "val": len(self.val),
            "test_base": len(self.test_base),
            "test_new": len(self.test_new),
        }

    def missing_paths(self) -> list[Path]:
        """Sample files that no longer exist (the data moved since the split was made)."""
        return [s.path for s in self._all_samples() if not s.path.exists()]

    def _all_samples(self) -> list[Sample]:
        return [*self.train, *self.val, *self.test_base, *self.test_new]

    def to_dict(self, root: Path | str | None = None) -> dict:
        """JSON-ready; paths relative to `root` (with `/`) where they lie under it."""
        root_path = Path(root) if root is not None else None

        def encode(samples: list[Sample]) -> list[list]:
            if root_path is None:  # absolute (the open project's runs): no per-path work at all
                return [[str(s.path), s.class_index] for s in samples]
            return [[_relative(s.path, root_path), s.class_index] for s in samples]

        return {
            "format": SPLIT_FORMAT_VERSION,
            "classes": list(self.classes),
            "display_names": list(self.display_names),
            "base": list(self.base),
            "new": list(self.new),
            "seed": self.seed,
            "shots": self.shots,
            "val_per_class": self.val_per_class,
            "train": encode(self.train),
            "val": encode(self.val),
            "test_base": encode(self.test_base),
            "test_new": encode(self.test_new),
        }

    @classmethod
    def from_dict(cls, data: dict, root: Path | str | None = None) -> DatasetSplit:
        """Rebuild a split stored by `to_dict`; relative paths resolve against `root`.

        A malformed or inconsistent dict (hand-edited project file) raises `SplitError`.
        """
        try:
            if data.get("format", SPLIT_FORMAT_VERSION) != SPLIT_FORMAT_VERSION:
                raise SplitError(f"split format {data.get('format')!r} is not supported")
            classes = [str(c) for c in data["classes"]]
            display_names = [str(d) for d in data["display_names"]]
            base = [int(i) for i in data["base"]]
            new = [int(i) for i in data["new"]]
            root_path = Path(root) if root is not None else None

            def decode(rows: list) -> list[Sample]:
                return [Sample(_absolute(str(path), root_path), int(index)) for path, index in rows]

            split = cls(
                classes=classes,
                display_names=display_names,
                base=base,
                new=new,
                train=decode(data["train"]),
                val=decode(data["val"]),
                test_base=decode(data["test_base"]),
                test_new=decode(data["test_new"]),
                seed=int(data["seed"]),
                shots=int(data["shots"]),
                val_per_class=int(data["val_per_class"]),
            )
        except SplitError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SplitError(f"stored split is malformed ({type(exc).__name__}: {exc})") from None
        split._check_consistent()
        return split

    def _check_consistent(self) -> None:
        n = len(self.classes)
        if len(self.display_names) != n or len(set(self.classes)) != n:
            raise SplitError("stored split is malformed (class names and display names disagree)")
        if set(self.base) & set(self.new) or not all(0 <= i < n for i in (*self.base, *self.new)):
            raise SplitError("stored split is malformed (base and new class indices)")
        roles = {"train": self.base, "val": self.base, "test_base": self.base, "test_new": self.new}
        for name, allowed in roles.items():
            allowed_set = set(allowed)
            if any(s.class_index not in allowed_set for s in getattr(self, name)):
                raise SplitError(f"stored split is malformed ({name} holds a class of the wrong role)")
        paths = [s.path for s in self._all_samples()]
        if len(set(paths)) != len(paths):
            raise SplitError("stored split is malformed (an image appears in two sets)")


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        # A string prefix first: `relative_to` costs ~20 µs a path, and the project file holds
        # every image path of every run's split, written on the GUI thread at a run's end.
        if isinstance(path, PurePosixPath) and isinstance(root, PurePosixPath):  # Windows: `relative_to`
            text, base = str(path), str(root)
            if text == base:
                return "."
            prefix = base.rstrip("/") + "/"
            return text[len(prefix) :] if text.startswith(prefix) else text
        try:
            return PurePosixPath(*path.relative_to(root).parts).as_posix()
        except ValueError:
            pass
    return str(path)


def _absolute(stored: str, root: Path | None) -> Path:
    path = Path(stored)
    if path.is_absolute() or root is None:
        return path
    return root.joinpath(*PurePosixPath(stored).parts)


# --------------------------------------------------------------------------- split


def make_split(
    scan: ScanResult,
    *,
    shots: int = 16,
    val_per_class: int = 4,
    seed: int = 42,
    base_ratio: float = 0.5,
    base_classes: Sequence[str] | None = None,
    new_classes: Sequence[str] | None = None,
    fixes=None,
) -> DatasetSplit:
    """Split `scan` into train / val (base classes) and test_base / test_new.

    `fixes` (`core.data_fixes.DataFixes`, the project's exclusions and class moves) take
    effect here, the one place where every run's samples are built: an excluded image is in
    no set, a moved image is sampled with its new class.

    Roles: `default_roles(base_ratio)` unless `base_classes` and/or `new_classes` are given
    (one list implies the other is the rest; classes in neither list are left out).
    `shots=0` gives a zero-shot-only split. Raises `SplitError` naming every base class with
    fewer than `shots + val_per_class` images.
    """
    if shots < 0 or val_per_class < 0:
        raise ValueError(f"shots and val_per_class must be >= 0, got {shots} and {val_per_class}")
    if fixes is not None:
        from mma_studio.core.data_fixes import apply_data_fixes

        scan = apply_data_fixes(scan, fixes)
    classes = scan.class_names
    if len(set(classes)) != len(classes):
        raise SplitError("class names in the scan are not unique")
    if list(classes) != sorted(classes):
        order = sorted(range(len(classes)), key=lambda i: classes[i])
        folders = [scan.classes[i] for i in order]
    else:
        folders = list(scan.classes)
    classes = [f.name for f in folders]
    base_names, new_names = _resolve_roles(classes, base_ratio, base_classes, new_classes)
    index = {name: i for i, name in enumerate(classes)}

    need = shots + val_per_class
    short = [f for f in folders if f.name in base_names and len(f.images) < need]
    if short:
        short.sort(key=lambda f: len(f.images))  # the smallest first: they decide what fits
        listing = brief_listing([f"{f.display_name!r} has {len(f.images)} of {need}" for f in short], limit=10)
        hint = fitting_sizes_hint(min(len(f.images) for f in short), shots, val_per_class)
        raise SplitError(
            f"Not enough images for {shots} training shots + {val_per_class} validation images "
            f"per base class: {listing}. Add images, lower the number of shots{hint}, or make "
            f"{'this class a new class' if len(short) == 1 else 'these classes new classes'}."
        )

    train: list[Sample] = []
    val: list[Sample] = []
    test_base: list[Sample] = []
    test_new: list[Sample] = []
    for folder in folders:
        i = index[folder.name]
        if folder.name in base_names:
            images = sorted(folder.images)
            # bytes, not str: a folder name that is not valid UTF-8 (surrogate-escaped by the OS
            # layer) must seed too; for valid names the bytes, and so the samples, are unchanged.
            random.Random(f"{seed}/{folder.name}".encode("utf-8", "surrogateescape")).shuffle(images)
            val.extend(Sample(p, i) for p in sorted(images[:val_per_class]))
            train.extend(Sample(p, i) for p in sorted(images[val_per_class:need]))
            test_base.extend(Sample(p, i) for p in sorted(images[need:]))
        elif folder.name in new_names:
            test_new.extend(Sample(p, i) for p in sorted(folder.images))

    return DatasetSplit(
        classes=classes,
        display_names=[f.display_name for f in folders],
        base=sorted(index[n] for n in base_names),
        new=sorted(index[n] for n in new_names),
        train=train,
        val=val,
        test_base=test_base,
        test_new=test_new,
        seed=seed,
        shots=shots,
        val_per_class=val_per_class,
    )


def _resolve_roles(
    classes: list[str],
    base_ratio: float,
    base_classes: Sequence[str] | None,
    new_classes: Sequence[str] | None,
) -> tuple[set[str], set[str]]:
    if base_classes is None and new_classes is None:
        default_base, default_new = default_roles(classes, base_ratio)
        return set(default_base), set(default_new)
    known = set(classes)
    given = [*(base_classes or ()), *(new_classes or ())]
    unknown = [n for n in given if n not in known]
    if unknown:
        raise SplitError(
            f"Unknown class name(s): {', '.join(map(repr, unknown))}. "
            f"The dataset's classes are: {', '.join(map(repr, classes))}."
        )
    base = set(base_classes) if base_classes is not None else known - set(new_classes or ())
    new = set(new_classes) if new_classes is not None else known - base
    overlap = base & new
    if overlap:
        raise SplitError(f"Classes cannot be both base and new: {', '.join(map(repr, sorted(overlap)))}.")
    if not base:
        raise SplitError("No base class: at least one class must be trained on.")
    return base, new
