"""Where the Hugging Face hub keeps downloaded files, and whether one is there.

Read from the cache's folders directly (`models--{org}--{name}/snapshots/<commit>/<file>`),
so that asking costs a few `stat` calls: no import of huggingface_hub, open_clip or torch.
The app asks at start-up, on the thread that paints the window (issue 12 §6).

A download in progress (or interrupted) lives in `blobs/<hash>.incomplete` and gets its
snapshot entry only once complete, so a half-downloaded file never counts as present.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

# open_clip's names for the weights file of a hub repo (open_clip.constants), safetensors first.
OPEN_CLIP_WEIGHTS_NAME = "open_clip_pytorch_model.bin"
OPEN_CLIP_SAFE_WEIGHTS_NAME = "open_clip_model.safetensors"

_REF_MAX_BYTES = 256  # refs/main holds a 40-character commit hash


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, resolved from the environment as huggingface_hub does
    (HF_HUB_CACHE, then HUGGINGFACE_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME)."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def hub_weights_filenames(filename: str) -> list[str]:
    """The file names open_clip tries for a registry entry's `hf_hub` file, in its order: the
    safetensors alternative first (as `open_clip.pretrained._get_safe_alternatives`), then it."""
    filename = filename or OPEN_CLIP_WEIGHTS_NAME
    if filename == OPEN_CLIP_WEIGHTS_NAME:
        return [OPEN_CLIP_SAFE_WEIGHTS_NAME, filename]
    if filename.endswith((".bin", ".pth")):
        return [filename[:-4] + ".safetensors", filename]
    return [filename]


def repo_cache_folder(repo_id: str, cache_dir: Path | str | None = None) -> Path:
    """`models--{org}--{name}`: the folder huggingface_hub caches a model repo in."""
    root = Path(cache_dir) if cache_dir is not None else hub_cache_dir()
    return root / f"models--{repo_id.replace('/', '--')}"


def _snapshot_commits(folder: Path) -> list[str]:
    """The snapshots to look in: the one `refs/main` names first (what huggingface_hub loads),
    then any other (an older revision's complete file is still these weights)."""
    commits: list[str] = []
    try:
        with open(folder / "refs" / "main", encoding="ascii", errors="replace") as handle:
            main = handle.read(_REF_MAX_BYTES).strip()
        if main and "/" not in main and "\\" not in main and main not in (".", ".."):
            commits.append(main)
    except OSError:
        pass
    try:
        others = sorted(entry.name for entry in os.scandir(folder / "snapshots") if entry.is_dir())
    except OSError:
        others = []
    commits += [commit for commit in others if commit not in commits]
    return commits


def cached_hub_file(repo_id: str, filenames: Iterable[str], cache_dir: Path | str | None = None) -> Path | None:
    """The complete cached copy of the first of `filenames` found for `repo_id`, or None.
    Never touches the network; a missing or unreadable cache is the same as an empty one."""
    folder = repo_cache_folder(repo_id, cache_dir)
    if not folder.is_dir():
        return None
    commits = _snapshot_commits(folder)
    for filename in filenames:
        for commit in commits:
            candidate = folder / "snapshots" / commit / filename
            try:
                if candidate.is_file():  # follows the snapshot's link to its blob: a dangling link is absent
                    return candidate
            except OSError:
                continue
    return None
