"""Class folders whose names read the same in CLIP's prompt: refused before any work.

`golden_retriever` and `golden-retriever`, `Cat` and `cat`, `café` in NFC and in NFD are
different folders with different ids, but all become the same words in `a photo of a {}.`:
CLIP cannot tell them apart, and an adapter file cannot hold two classes of one name. They
used to pass `check` with a warning and fail only when the trained adapter was saved. Now a
scan reports them as errors (`ScanResult.name_collisions`), and `train_adapter` refuses
before loading a model, on the names the prompts will really use (after the user's renames).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NameCollision:
    """Class folders whose prompt names are the same once compared as CLIP reads them."""

    name: str  # the prompt name they share (as the first of them spells it)
    classes: tuple[str, ...]  # their class ids (folder names)
    paths: tuple[Path, ...]  # their folders, aligned with `classes`

    def describe(self) -> str:
        """Both (all) folders, and the fix: rename a folder (the command line has no renames), or
        in the app the class, whose display name is what the prompt reads."""
        folders = " and ".join(str(p) for p in self.paths)
        pair = len(self.paths) == 2
        return (
            f"class folders {folders} all read as {self.name!r} in CLIP's prompt, which cannot tell them "
            f"apart; rename {'one of the folders' if pair else 'all but one of the folders'} (in the app, "
            f"renaming {'one of the classes' if pair else 'all but one of the classes'} on the Data page is enough)"
        )

    def to_dict(self) -> dict:
        return {"name": self.name, "classes": list(self.classes), "paths": [str(p) for p in self.paths]}


def prompt_key(name: str) -> str:
    """How two prompt names compare: Unicode-normalised (NFC/NFD alike), case-folded, with
    whitespace collapsed, as CLIP's tokenizer (which lowercases and splits on spaces) sees them."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def find_name_collisions(entries: Iterable[tuple[str, str, Path]]) -> list[NameCollision]:
    """`(class id, prompt name, folder)` entries -> the groups that share a prompt name."""
    groups: dict[str, list[tuple[str, str, Path]]] = {}
    for class_id, prompt_name, folder in entries:
        groups.setdefault(prompt_key(prompt_name), []).append((class_id, prompt_name, Path(folder)))
    return [
        NameCollision(members[0][1], tuple(m[0] for m in members), tuple(m[2] for m in members))
        for members in groups.values()
        if len(members) > 1
    ]
