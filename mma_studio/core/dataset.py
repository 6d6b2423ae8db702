"""Scan folders of labelled images into classes, and say exactly which files cannot be used.

A dataset is a folder whose sub-folders are classes (`scan_dataset`), or several class folders
dropped at once (`scan_class_folders`). Images inside a class folder may sit in nested
sub-folders. Every candidate file is decoded once with `load_rgb_image`, the same function
extraction and prediction use, so "usable" means the same thing everywhere; files that fail
are skipped with their reason instead of failing the whole scan. With `validate=False` the
scan only lists files (no image is opened), which keeps a 20,000-image folder instant.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.class_roles import default_roles
from mma_studio.core.events import Progress
from mma_studio.core.file_identity import (
    DuplicateGroup,
    duplicates_warning,
    find_duplicate_files,
)
from mma_studio.core.image_formats import unsupported_image_extensions
from mma_studio.core.images import IMAGE_EXTENSIONS, UnusableImageError, load_rgb_image
from mma_studio.core.name_collisions import NameCollision, find_name_collisions
from mma_studio.core.sample_sizes import fitting_sizes_hint

# Files operating systems and sync tools drop into folders: never data, never reported.
JUNK_FILE_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "ehthumbs_vista.db", "desktop.ini", "icon\r"})
# Folders of the same kind (macOS zip residue, NAS thumbnails, recycle bins).
JUNK_FOLDER_NAMES = frozenset({"__macosx", "@eadir", "$recycle.bin", "system volume information"})
# Image formats people keep photos in that this installation cannot decode (HEIC without a
# plugin, camera raw...): reported so a user knows why their HEIC phone pictures are not counted.
UNSUPPORTED_IMAGE_EXTENSIONS = unsupported_image_extensions()

MAX_IGNORED_NAMED = 1000  # non-image files kept by name for the report (memory stays bounded)
IMBALANCE_RATIO = 5.0  # max/min images per class above which `dataset_advice` warns
_VALIDATION_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PROGRESS_INTERVAL_S = 0.1


class DatasetError(Exception):
    """The dataset cannot be used at all; the message names the path and the reason.

    When the folders were readable but held no usable image, `scan` carries the partial
    `ScanResult`, so a caller can still show which files were skipped and why.
    """

    def __init__(self, message: str, *, scan: ScanResult | None = None) -> None:
        super().__init__(message)
        self.scan = scan


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


@dataclass
class ClassFolder:
    name: str  # stable id: the folder name, unique within one scan
    display_name: str  # what CLIP reads in the prompt; editable by the user
    path: Path
    images: list[Path]  # usable images, sorted, found recursively
    loose: bool = False  # files the user chose (not a whole folder): a project lists them one by one

    @property
    def image_count(self) -> int:
        return len(self.images)


@dataclass
class ScanResult:
    root: Path | None
    classes: list[ClassFolder]  # sorted by name; each holds at least one image
    skipped: list[SkippedFile]
    warnings: list[str]
    empty_folders: list[Path] = field(default_factory=list)  # class folders without a usable image
    ignored_files: int = 0  # non-image files passed over silently (notes, metadata, ...)
    ignored_paths: list[Path] = field(default_factory=list)  # the first MAX_IGNORED_NAMED of them, by name
    validated: bool = True  # False when files were only listed, not decoded
    # One picture counted more than once (links to one file, identical copies): `core.file_identity`.
    duplicates: list[DuplicateGroup] = field(default_factory=list)

    @property
    def name_collisions(self) -> list[NameCollision]:
        """Classes whose names read the same in the prompt (computed from the current display
        names, so a rename in the app resolves it): training is refused until renamed."""
        return find_name_collisions((c.name, c.display_name, c.path) for c in self.classes)

    @property
    def errors(self) -> list[str]:
        """Problems that stop training until the user fixes them (each names the folders)."""
        return [collision.describe() for collision in self.name_collisions]

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def display_names(self) -> list[str]:
        return [c.display_name for c in self.classes]

    @property
    def image_count(self) -> int:
        return sum(len(c.images) for c in self.classes)

    def class_by_name(self, name: str) -> ClassFolder:
        for folder in self.classes:
            if folder.name == name:
                return folder
        raise KeyError(f"no class named {name!r} in this dataset")

    def to_dict(self) -> dict:
        """JSON-ready report (what `mma-studio check --json` prints)."""
        return {
            "root": str(self.root) if self.root is not None else None,
            "validated": self.validated,
            "class_count": len(self.classes),
            "image_count": self.image_count,
            "classes": [
                {
                    "name": c.name,
                    "display_name": c.display_name,
                    "path": str(c.path),
                    "image_count": len(c.images),
                }
                for c in self.classes
            ],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
            "empty_folders": [str(p) for p in self.empty_folders],
            "ignored_files": self.ignored_files,
            "ignored_paths": [str(p) for p in self.ignored_paths],
            "warnings": list(self.warnings),
            "errors": self.errors,
            "name_collisions": [c.to_dict() for c in self.name_collisions],
            "duplicates": [g.to_dict() for g in self.duplicates],
        }


# --------------------------------------------------------------------------- class names

_ORDINAL_PREFIX = re.compile(r"^\d+\s*[._\-)\]]+\s*(?=[^\W\d_])")
_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z]{2})(?=[A-Z])")  # goldenRetriever, not iPhone/McDonald
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z]{2})")  # TVRemote, not PCs
_SEPARATORS = re.compile(r"[_\-+~]+|(?<!\d)\.|\.(?!\d)")  # keep the dot of "3.5"
_GENERIC_NUMBERED = re.compile(r"(class|cls|label|lbl|category|categ|type|group|folder|dir|id|c|l)[\s_\-.]*\d+")
_WORDNET_ID = re.compile(r"n\d{8}")
_HEX_HASH = re.compile(r"[0-9a-f]{8,}")
_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def printable_name(name: str) -> str:
    """`name` with bytes that were not valid UTF-8 (which the OS layer hands over as lone
    surrogates, e.g. a Latin-1 file name from an old zip) shown as U+FFFD, so it can be
    printed, encoded, tokenized and shown in the app; valid names come back unchanged."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


@functools.lru_cache(maxsize=8192)  # pure; the Data page asks for every class on each change
def readable_class_name(folder_name: str) -> str:
    """Turn a folder name into words CLIP reads well: `001.Black_footed_Albatross` -> `black footed albatross`.

    Drops a leading ordinal (`001.`, `12_`), splits camelCase, turns `_ - . + ~` into spaces,
    collapses whitespace and lowercases (CLIP's tokenizer lowercases anyway).
    """
    name = unicodedata.normalize("NFC", printable_name(folder_name)).strip()
    rest = _ORDINAL_PREFIX.sub("", name, count=1)
    if rest != name and re.search(r"[^\W\d_]", rest):
        name = rest
    name = _CAMEL_LOWER_UPPER.sub(" ", name)
    name = _CAMEL_ACRONYM.sub(" ", name)
    name = _SEPARATORS.sub(" ", name)
    name = " ".join(name.split()).lower()
    return name or folder_name.strip() or folder_name


@functools.lru_cache(maxsize=8192)  # pure; asked per class by the table, the advice and the tooltips
def looks_unreadable_name(folder_name: str) -> bool:
    """True for names that carry no words CLIP can use: `n01440764`, `class_03`, `12`, hashes."""
    raw = unicodedata.normalize("NFC", folder_name).strip().lower()
    readable = readable_class_name(folder_name)
    if not re.search(r"[^\W\d_]", readable):  # no letter at all
        return True
    for pattern in (_WORDNET_ID, _GENERIC_NUMBERED, _UUID):
        if pattern.fullmatch(raw):
            return True
    if _HEX_HASH.fullmatch(raw) and re.search(r"\d", raw):
        return True
    # Every word is more digits than letters: "x12", "a1b22" (but "ak47", "r2d2" stay readable).
    return all(sum(ch.isdigit() for ch in word) > sum(ch.isalpha() for ch in word) for word in readable.split())


# --------------------------------------------------------------------------- scanning

ONE_CLASS_WARNING = "Only one class"  # how `one_class_warning` starts


def one_class_warning(name: str) -> str:
    """A scan's warning when it holds one class; `scan_merge` finds it by its start and
    recomputes it when classes are added or removed."""
    return f"{ONE_CLASS_WARNING} ({name!r}): classification needs at least two classes."


def scan_dataset(
    root: Path | str,
    *,
    validate: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    token: CancelToken | None = None,
) -> ScanResult:
    """Scan `root`, whose sub-folders are the classes. Raises `DatasetError` if unusable."""
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise DatasetError(f"{root}: folder not found")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder (a dataset is a folder of class folders)")
    try:
        entries = _sorted_entries(root)
    except OSError as exc:
        raise DatasetError(f"{root}: cannot open folder ({exc.strerror or exc})") from exc

    real_root = os.path.realpath(root)
    class_folders: list[Path] = []
    skipped: list[SkippedFile] = []
    loose_images = 0
    root_ignored = 0
    root_ignored_paths: list[Path] = []
    for entry in entries:
        if _is_hidden_or_junk(entry):
            continue
        if _entry_is_dir(entry):
            if _is_same_or_ancestor(os.path.realpath(entry.path), real_root):
                skipped.append(
                    SkippedFile(Path(entry.path), "symbolic link loop (points to the dataset folder or above it)")
                )
            else:
                class_folders.append(Path(entry.path))
        elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
            loose_images += 1
            skipped.append(SkippedFile(Path(entry.path), "not inside a class folder"))
        else:
            root_ignored += 1
            if len(root_ignored_paths) < MAX_IGNORED_NAMED:
                root_ignored_paths.append(Path(entry.path))

    if not class_folders:
        hint = (
            f"; it holds {loose_images} image(s) directly: put each class's images in its own sub-folder"
            if loose_images
            else ""
        )
        raise DatasetError(f"{root}: no class folders found (a dataset is a folder of class folders){hint}")

    extra_warnings = []
    if loose_images:
        extra_warnings.append(
            f"{loose_images} image(s) lie directly in {root} rather than in a class folder and are not used."
        )
    return _scan_folders(
        root,
        [(folder.name, folder) for folder in class_folders],
        validate=validate,
        on_progress=on_progress,
        token=token,
        skipped=skipped,
        extra_warnings=extra_warnings,
        ignored=root_ignored,
        ignored_paths=root_ignored_paths,
    )


def scan_class_folders(
    folders: Sequence[Path | str],
    *,
    validate: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    token: CancelToken | None = None,
) -> ScanResult:
    """Scan several class folders dropped at once; each folder is one class.

    Two folders with the same name become `name` and `name (2)` (in path order), with a
    warning, so the ids stay unique. `root` is their common parent folder, if they share one.
    """
    paths = [Path(f).expanduser().absolute() for f in folders]
    if not paths:
        raise DatasetError("no class folders given")
    for path in paths:
        if not path.exists():
            raise DatasetError(f"{path}: folder not found")
        if not path.is_dir():
            raise DatasetError(f"{path}: not a folder (drop one folder per class)")
    unique: dict[str, Path] = {}
    for path in paths:  # the same folder dropped twice is one class
        unique.setdefault(os.path.realpath(path), path)
    paths = sorted(unique.values(), key=lambda p: (p.name, str(p)))

    named: list[tuple[str, Path]] = []
    taken = {p.name for p in paths}
    used: set[str] = set()
    extra_warnings = []
    for path in paths:
        name = path.name
        if name in used:
            n = 2
            while f"{name} ({n})" in used or f"{name} ({n})" in taken:
                n += 1
            name = f"{name} ({n})"
            extra_warnings.append(
                f"Two folders are named {path.name!r}; {path} is listed as {name!r}. "
                "Rename one so the classes can be told apart."
            )
        used.add(name)
        named.append((name, path))

    parents = {p.parent for p in paths}
    root = parents.pop() if len(parents) == 1 else None
    return _scan_folders(
        root,
        named,
        validate=validate,
        on_progress=on_progress,
        token=token,
        skipped=[],
        extra_warnings=extra_warnings,
    )


def _scan_folders(
    root: Path | None,
    named_folders: list[tuple[str, Path]],
    *,
    validate: bool,
    on_progress: Callable[[Progress], None] | None,
    token: CancelToken | None,
    skipped: list[SkippedFile],
    extra_warnings: list[str],
    ignored: int = 0,
    ignored_paths: list[Path] | None = None,
) -> ScanResult:
    progress = _ProgressReporter(on_progress)
    named_ignored = list(ignored_paths or [])
    listed: list[tuple[str, Path, list[Path]]] = []
    found = 0
    for name, folder in named_folders:
        walk = _ClassWalk(folder, token)
        listed.append((name, folder, walk.images))
        skipped.extend(walk.skipped)
        ignored += walk.ignored
        named_ignored.extend(walk.ignored_paths)
        found += len(walk.images)
        progress.report(found, None, "listing files")

    if validate:
        candidates = [path for _, _, images in listed for path in images]
        failures: dict[Path, str] = {}
        with closing(_validate_images(candidates, token)) as results:
            for done, (path, reason) in enumerate(results, start=1):
                if reason is not None:
                    failures[path] = reason
                progress.report(done, len(candidates), "checking images")
        progress.finish(len(candidates), len(candidates), "checking images")
        if failures:
            skipped.extend(SkippedFile(p, r) for p, r in failures.items())
            listed = [(n, f, [p for p in imgs if p not in failures]) for n, f, imgs in listed]
    else:
        progress.finish(found, found, "listing files")

    classes: list[ClassFolder] = []
    empty: list[Path] = []
    warnings_out = list(extra_warnings)
    for name, folder, images in sorted(listed, key=lambda item: item[0]):
        if images:
            classes.append(ClassFolder(name, readable_class_name(name), folder, sorted(images)))
        else:
            empty.append(folder)
            warnings_out.append(f"Class folder {name!r} has no usable images and is left out ({folder}).")
    if len(classes) == 1:
        warnings_out.append(one_class_warning(classes[0].name))
    # Identity is one stat per file; contents are compared only when the scan reads the files anyway.
    duplicates = find_duplicate_files(
        ((p, c.name) for c in classes for p in c.images), compare_contents=validate, token=token
    )
    summary = duplicates_warning(duplicates)
    if summary:
        warnings_out.append(summary)
    result = ScanResult(
        root=root,
        classes=classes,
        skipped=sorted(skipped, key=lambda s: str(s.path)),
        warnings=warnings_out,
        empty_folders=empty,
        ignored_files=ignored,
        ignored_paths=named_ignored[:MAX_IGNORED_NAMED],
        validated=validate,
        duplicates=duplicates,
    )
    if not classes:
        where = root if root is not None else ", ".join(str(f) for _, f in named_folders)
        raise DatasetError(f"{where}: no usable images in any class folder", scan=result)
    return result


class _ClassWalk:
    """List one class folder recursively: candidate images, reported oddities, ignored count.

    Directory symlinks are followed, but never to a folder already visited or to one of the
    folder's own ancestors (a loop, or a link to `/` that would pull in the whole disk).
    File symlinks are followed; two links to the same file count once.
    """

    def __init__(self, folder: Path, token: CancelToken | None) -> None:
        self.images: list[Path] = []
        self.skipped: list[SkippedFile] = []
        self.ignored = 0
        self.ignored_paths: list[Path] = []  # at most MAX_IGNORED_NAMED: the count stays exact
        seen_files: dict[str, Path] = {}
        real_folder = os.path.realpath(folder)
        visited = {real_folder}
        stack = [(folder, real_folder)]
        while stack:
            check(token)
            directory, real_dir = stack.pop()
            try:
                entries = _sorted_entries(directory)
            except OSError as exc:
                self.skipped.append(SkippedFile(directory, f"cannot open folder ({exc.strerror or exc})"))
                continue
            subfolders = []
            for entry in entries:
                if _is_hidden_or_junk(entry):
                    continue
                path = Path(entry.path)
                if _entry_is_dir(entry):
                    real = os.path.realpath(entry.path)
                    if _is_same_or_ancestor(real, real_dir):
                        self.skipped.append(SkippedFile(path, "symbolic link loop (points to a parent folder)"))
                    elif real in visited:
                        self.skipped.append(SkippedFile(path, "symbolic link to a folder already scanned"))
                    else:
                        visited.add(real)
                        subfolders.append((path, real))
                    continue
                if not _entry_is_file(entry):
                    if entry.is_symlink():
                        self.skipped.append(SkippedFile(path, "broken or looping symbolic link"))
                    continue  # sockets, pipes, devices
                suffix = path.suffix.lower()
                if suffix in IMAGE_EXTENSIONS:
                    real_file = (
                        os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real_dir, entry.name)
                    )
                    first = seen_files.setdefault(real_file, path)
                    if first is path:
                        self.images.append(path)
                    else:
                        self.skipped.append(SkippedFile(path, f"same file as {first}"))
                elif suffix in UNSUPPORTED_IMAGE_EXTENSIONS:
                    self.skipped.append(
                        SkippedFile(path, f"{suffix} images are not supported (convert to JPEG or PNG)")
                    )
                else:
                    self.ignored += 1
                    if len(self.ignored_paths) < MAX_IGNORED_NAMED:
                        self.ignored_paths.append(path)
            stack.extend(reversed(subfolders))


def _sorted_entries(directory: Path) -> list[os.DirEntry]:
    with os.scandir(directory) as it:
        return sorted(it, key=lambda e: e.name)


def _is_hidden_or_junk(entry: os.DirEntry) -> bool:
    name = entry.name
    lowered = name.lower()
    if name.startswith(".") or lowered in JUNK_FILE_NAMES or lowered in JUNK_FOLDER_NAMES:
        return True
    if sys.platform == "win32":
        try:
            attributes = entry.stat(follow_symlinks=False).st_file_attributes
        except OSError:
            return False
        return bool(attributes & (stat.FILE_ATTRIBUTE_HIDDEN | stat.FILE_ATTRIBUTE_SYSTEM))
    return False


def _entry_is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _entry_is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_same_or_ancestor(candidate: str, real_path: str) -> bool:
    """Whether `candidate` is `real_path` or one of its parent folders."""
    if candidate == real_path:
        return True
    prefix = candidate if candidate.endswith(os.sep) else candidate + os.sep
    return real_path.startswith(prefix)


# A scan decodes every file to prove it usable. At 1/8 scale libjpeg still reads and checks the
# whole file (a truncated or damaged JPEG fails the same way) but skips most of the work.
VALIDATION_MIN_SIDE = 1


def _unusable_reason(path: Path) -> str | None:
    """None when the image decodes; otherwise why not. Never raises for a bad file."""
    try:
        load_rgb_image(path, min_side=VALIDATION_MIN_SIDE)
    except UnusableImageError as exc:
        return exc.reason
    except Exception as exc:  # a decoder bug on one odd file must not end the scan
        return f"cannot decode image ({type(exc).__name__}: {exc})"
    return None


def _validate_images(paths: list[Path], token: CancelToken | None) -> Generator[tuple[Path, str | None], None, None]:
    """Decode `paths` on a few threads (Pillow releases the GIL while decoding); yield in order.

    At most a few files per worker are in flight, so memory stays flat and a cancel takes
    effect within a handful of files.
    """
    if _VALIDATION_WORKERS == 1 or len(paths) < 8:
        for path in paths:
            check(token)
            yield path, _unusable_reason(path)
        return
    with ThreadPoolExecutor(_VALIDATION_WORKERS, thread_name_prefix="mma-scan") as pool:
        pending: deque = deque()
        remaining = iter(paths)
        try:
            for path in _take(remaining, 4 * _VALIDATION_WORKERS):
                pending.append((path, pool.submit(_unusable_reason, path)))
            while pending:
                check(token)
                path, future = pending.popleft()
                reason = future.result()
                for nxt in _take(remaining, 1):
                    pending.append((nxt, pool.submit(_unusable_reason, nxt)))
                yield path, reason
        finally:
            for _, future in pending:
                future.cancel()


def _take(iterator: Iterator[Path], n: int) -> Iterable[Path]:
    for _ in range(n):
        try:
            yield next(iterator)
        except StopIteration:
            return


class _ProgressReporter:
    """Forward `Progress(stage="scan")` at a bounded rate: ~10/s, plus each phase's first and last."""

    def __init__(self, callback: Callable[[Progress], None] | None) -> None:
        self._callback = callback
        self._start = time.perf_counter()
        self._last = float("-inf")
        self._message = ""

    def report(self, done: int, total: int | None, message: str) -> None:
        if self._callback is None:
            return
        now = time.perf_counter()
        if message != self._message or now - self._last >= _PROGRESS_INTERVAL_S:
            self._emit(done, total, message, now)

    def finish(self, done: int, total: int | None, message: str) -> None:
        if self._callback is not None:
            self._emit(done, total, message, time.perf_counter())

    def _emit(self, done: int, total: int | None, message: str, now: float) -> None:
        self._last = now
        self._message = message
        elapsed = now - self._start
        rate = done / elapsed if elapsed > 0 and done else None
        eta = (total - done) / rate if rate and total is not None else None
        if self._callback is not None:
            self._callback(Progress(stage="scan", done=done, total=total, rate=rate, eta_s=eta, message=message))


# --------------------------------------------------------------------------- advice

LISTED_AT_MOST = 6  # names in one line of advice; the rest are counted


def brief_listing(items: Sequence[str], limit: int = LISTED_AT_MOST) -> str:
    """'a, b, c' or 'a, b, c, d, e, f and 94 more': advice stays readable for 100 classes."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def dataset_advice(
    scan: ScanResult,
    *,
    shots: int,
    val_per_class: int,
    base_classes: Sequence[str] | None = None,
    base_ratio: float = 0.5,
) -> list[str]:
    """Actionable warnings before training: too few images, imbalance, names CLIP cannot read.

    `base_classes` (class names) defaults to the default base/new split of `base_ratio`;
    only base classes need `shots + val_per_class` images, new classes are only tested.
    """
    advice: list[str] = []
    if base_classes is None:
        base_classes, _ = default_roles(scan.class_names, base_ratio)
    base_set = set(base_classes)
    need = shots + val_per_class

    short = [c for c in scan.classes if c.name in base_set and len(c.images) < need]
    if short:
        short.sort(key=lambda c: len(c.images))  # the smallest first: they decide what fits
        listing = brief_listing([f"{c.display_name!r} has {len(c.images)}" for c in short])
        hint = fitting_sizes_hint(min(len(c.images) for c in short), shots, val_per_class)
        advice.append(
            f"Base classes need {need} images each ({shots} training + {val_per_class} validation): "
            f"{listing}. Add images, lower the number of shots{hint}, or make these classes new classes."
        )
    no_test = [c for c in scan.classes if c.name in base_set and len(c.images) == need and need > 0]
    if no_test:
        names = brief_listing([repr(c.display_name) for c in no_test])
        advice.append(
            f"{names} would keep no image for testing after {need} are taken for training and "
            "validation; base accuracy will not include them. Add images to measure them."
        )
    if len(base_set & set(scan.class_names)) == 1 and len(scan.classes) > 1:
        advice.append(
            "Only one base class: the adapter cannot learn from a single class. "
            "Choose at least two base classes, or add classes."
        )

    counts = [len(c.images) for c in scan.classes]
    if len(counts) > 1 and min(counts) > 0 and max(counts) / min(counts) > IMBALANCE_RATIO:
        big = max(scan.classes, key=lambda c: len(c.images))
        small = min(scan.classes, key=lambda c: len(c.images))
        advice.append(
            f"Classes are strongly imbalanced: {big.display_name!r} has {len(big.images)} images, "
            f"{small.display_name!r} only {len(small.images)}. Training uses {shots} per base class, "
            "but test accuracy will be dominated by the large classes."
        )

    unreadable = [c for c in scan.classes if looks_unreadable_name(c.display_name)]
    if unreadable:
        names = brief_listing([repr(c.display_name) for c in unreadable])
        advice.append(
            f"CLIP cannot read these class names: {names}. Rename each to the words for what it "
            "shows (for example 'tench' instead of 'n01440764'); new-class accuracy depends on it."
        )

    # Classes whose names read the same are an error of the scan (`ScanResult.name_collisions`),
    # not advice: training refuses them.
    return advice
