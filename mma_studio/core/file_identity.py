"""The same image counted twice: one file reached by several paths, or identical bytes in
several files. Found from the scan's file list, reported as `DuplicateGroup`s.

Why it matters: a folder symlink (`ant/more -> ../bee`), a file symlink or a hard link puts
one picture in two classes, or twice in one; a copied file does the same. Used twice, it is
trained on with two labels, or sits in the training set and the test set at once (a *leak*:
the test then measures memory, not generalisation). The scan reports every group with its
paths and classes; `leaking_groups` names the groups a split puts on both sides.

Two kinds, cheapest first:
- "same-file": paths whose targets have the same (st_dev, st_ino) after resolving links:
  symlinks to files or folders, and hard links. One `stat` per path, no file opened.
- "identical-content": distinct files with byte-identical contents. Only files whose sizes
  collide are hashed (sha256, streamed in 1 MiB chunks: memory stays flat), once per file
  however many paths reach it. A scan that only lists files (`validate=False`, which opens
  nothing) looks for same-file groups only.

Near-duplicates (resized, re-encoded, cropped copies) are the data doctor's, from the cached
embeddings (`core/doctor`); it takes these groups as its exact-copy groups.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from mma_studio.core.cancellation import CancelToken, check

DuplicateKind = Literal["same-file", "identical-content"]
SAME_FILE: DuplicateKind = "same-file"
IDENTICAL_CONTENT: DuplicateKind = "identical-content"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DuplicateGroup:
    """Two or more paths of a scan that hold the same image.

    `paths` are the paths as the scan lists them (inside their class folders), sorted;
    `classes[i]` is the class (`ClassFolder.name`) of `paths[i]`. `kind` says how they were
    found to be the same (see the module docstring); `digest` is the sha256 of the contents
    for "identical-content" groups, None for "same-file" groups.
    """

    kind: DuplicateKind
    paths: tuple[Path, ...]
    classes: tuple[str, ...]
    digest: str | None = None

    @property
    def class_names(self) -> list[str]:
        """The distinct classes the group lies in, in order of first appearance."""
        return list(dict.fromkeys(self.classes))

    @property
    def across_classes(self) -> bool:
        """True when one image is labelled as two classes (a contradiction in the data)."""
        return len(set(self.classes)) > 1

    def describe(self) -> str:
        """One line for `check` and the app: what, where, and which paths."""
        what = "the same file" if self.kind == SAME_FILE else "identical copies"
        where = (
            f"in classes {', '.join(repr(c) for c in self.class_names)}"
            if self.across_classes
            else f"in class {self.classes[0]!r}"
        )
        return f"{len(self.paths)} paths are {what} {where}: {', '.join(str(p) for p in self.paths)}"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "paths": [str(p) for p in self.paths],
            "classes": list(self.classes),
            "across_classes": self.across_classes,
            "digest": self.digest,
        }


def find_duplicate_files(
    files: Iterable[tuple[Path, str]], *, compare_contents: bool = True, token: CancelToken | None = None
) -> list[DuplicateGroup]:
    """Groups of `(path, class name)` entries that are one file, or (with `compare_contents`)
    byte-identical files. Unreadable paths are left out (the scan reports them). Sorted by
    first path; "same-file" groups first."""
    by_identity: dict[tuple[int, int], list[tuple[Path, str]]] = {}
    size_of: dict[tuple[int, int], int] = {}
    for path, class_name in files:
        check(token)
        try:
            info = os.stat(path)  # follows symlinks: the identity of the file read
        except OSError:
            continue
        identity = (info.st_dev, info.st_ino)
        by_identity.setdefault(identity, []).append((Path(path), class_name))
        size_of[identity] = info.st_size

    groups = [_group(SAME_FILE, members) for members in by_identity.values() if len(members) > 1]
    if compare_contents:
        by_size: dict[int, list[tuple[int, int]]] = {}
        for identity, size in size_of.items():
            by_size.setdefault(size, []).append(identity)
        by_digest: dict[str, list[tuple[int, int]]] = {}
        for identities in by_size.values():
            if len(identities) < 2:
                continue
            for identity in identities:
                digest = _sha256(by_identity[identity][0][0], token)
                if digest is not None:
                    by_digest.setdefault(digest, []).append(identity)
        for digest, identities in by_digest.items():
            if len(identities) > 1:
                members = [member for identity in identities for member in by_identity[identity]]
                groups.append(_group(IDENTICAL_CONTENT, members, digest))
    groups.sort(key=lambda g: (g.kind != SAME_FILE, str(g.paths[0])))
    return groups


def leaking_groups(
    groups: Sequence[DuplicateGroup], trained_on: Iterable[Path], tested_on: Iterable[Path]
) -> list[DuplicateGroup]:
    """The groups with a path among the images trained on (training and validation sets) and
    one among the test images: the same picture on both sides of a split."""
    if not groups:  # the usual case: no need to look at the split's (maybe 20,000) paths at all
        return []
    # Only the few duplicated paths are compared whole; the split's (maybe 20,000) paths are
    # first sifted by file name, which a `Path` already holds: hashing 20,000 `Path`s was 0.2 s
    # of Python in the worker at a run's start, GIL the GUI thread had to share.
    duplicated = {_path_text(p) for g in groups for p in g.paths}
    names = {os.path.basename(text) for text in duplicated}

    def among_duplicated(paths: Iterable[Path | str]) -> set[str]:
        return {text for text in (_path_text(p) for p in paths if _file_name(p) in names) if text in duplicated}

    trained, tested = among_duplicated(trained_on), among_duplicated(tested_on)
    return [g for g in groups if (texts := set(map(_path_text, g.paths))) & trained and texts & tested]


def _path_text(path: Path | str) -> str:
    """A path's text as `Path` spells it (`a//b` and `a/./b` are `a/b`)."""
    return str(path) if isinstance(path, PurePath) else str(Path(path))


def _file_name(path: Path | str) -> str:
    return path.name if isinstance(path, PurePath) else os.path.basename(os.path.normpath(path))


def duplicates_warning(groups: Sequence[DuplicateGroup]) -> str | None:
    """One summary line for a scan's warnings (the groups themselves are listed apart)."""
    if not groups:
        return None
    paths = sum(len(g.paths) for g in groups)
    across = sum(1 for g in groups if g.across_classes)
    detail = f"; {across} of them in more than one class" if across else ""
    return (
        f"{len(groups)} image(s) are counted more than once ({paths} paths: links to the same file or "
        f"identical copies){detail}. Remove the extra copies or links, or the same picture is used twice."
    )


def _group(kind: DuplicateKind, members: list[tuple[Path, str]], digest: str | None = None) -> DuplicateGroup:
    members = sorted(members, key=lambda m: str(m[0]))
    return DuplicateGroup(kind, tuple(p for p, _ in members), tuple(c for _, c in members), digest)


def _sha256(path: Path, token: CancelToken | None) -> str | None:
    from mma_studio.core.user_files import open_regular_file

    digest = hashlib.sha256()
    try:
        with open_regular_file(path, what="an image") as stream:
            while True:
                check(token)
                block = stream.read(_CHUNK)
                if not block:
                    break
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
