"""The on-disk cache of frozen-encoder features: each image is encoded once per (model,
weights, preprocessing, augmentation view), then training and evaluation read the cache.

Layout: one folder per namespace, `<root>/img-<model>-v<view>-<hash>/` for image features and
`<root>/txt-<model>-<hash>/` for prompt features, where the hash covers the backbone's
`weights_id`, its architecture name, its `preprocess_id` and the view. Inside, rows live in
float16 safetensors *shards* of up to `SHARD_ROWS` rows (20,000 images make ~20 files, not
20,000). Each shard's metadata lists its row keys and the sha256 of its tensor bytes.

Ownership: the cache only ever deletes (and counts) what it can prove it created. Its root
holds a marker, `CACHEDIR.TAG` (the Cache Directory Tagging Specification's signature, which
backup tools honour, plus a line naming MMA Studio); a namespace folder is ours only when its
name has the exact format above (`img-<slug>-v<n>-<16 hex>`, `txt-<slug>-<16 hex>`), and
inside it only files named like shards or our temporary files are touched. A folder the user
names that already holds other things (and no marker) is never used as the root itself: the
cache goes into a sub-folder of its own, `<folder>/mma-studio-cache` (`cache_root_for`).

Why it can be trusted:
- an image row's key is (resolved path, size, mtime_ns), so an edited file never hits;
- shards are written to a temporary file, fsynced and `os.replace`d into place, so a killed
  process leaves no half shard under a real name;
- a shard whose header, shape or checksum does not verify is deleted, never read as valid;
- a shard whose rows are not of the width this namespace holds (another model's features
  under a valid checksum) is deleted too, so the rows are encoded again instead of failing
  later with a shape error;
- a failed write (full disk) raises `FeatureCacheError` and leaves existing shards intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

FORMAT_VERSION = 1
SHARD_ROWS = 1024
MAX_SMALL_SHARDS = 8  # above this many part-filled shards, merge them
STALE_TMP_S = 3600.0
_SHARD_PATTERN = re.compile(r"^shard-[0-9a-f-]+\.safetensors$")
_TMP_PATTERN = re.compile(r"^\.tmp-[0-9a-f]{32}$")
# The exact names `_namespace_dir` gives: a user's `img-holiday-2024/` never matches.
_NAMESPACE_PATTERN = re.compile(r"^(img-[A-Za-z0-9._-]{1,40}-v\d+|txt-[A-Za-z0-9._-]{1,40})-[0-9a-f]{16}$")
MARKER_NAME = "CACHEDIR.TAG"
# The first line is the Cache Directory Tagging Specification's; the second is what proves the
# folder is MMA Studio's (another program's CACHEDIR.TAG does not make it ours).
MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This folder is the MMA Studio feature cache (mma-studio-feature-cache v1).\n"
    "# Clear Cache deletes only the img-*/txt-* folders MMA Studio wrote here.\n"
)
_MARKER_PROOF = "mma-studio-feature-cache v1"
OWN_FOLDER_NAME = "mma-studio-cache"

Key = tuple  # (path, size, mtime_ns) for images; ("text", prompt) for prompts


class FeatureCacheError(OSError):
    """Writing the cache failed (e.g. the disk is full); existing entries are untouched."""


def default_cache_root() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("mma-studio")) / "features"


def is_cache_root(folder: Path | str) -> bool:
    """Whether `folder` holds MMA Studio's cache marker (a small regular file with our line)."""
    marker = Path(folder) / MARKER_NAME
    try:
        if not marker.is_file() or marker.is_symlink() or marker.stat().st_size > 4096:
            return False
        return _MARKER_PROOF in marker.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def cache_root_for(folder: Path | str) -> Path:
    """Where the cache lives when the user names `folder` (Settings, `--cache-dir`).

    The folder itself when it already is our cache (marker), or is empty or absent; otherwise
    a sub-folder of its own, `<folder>/mma-studio-cache` (applied again one level down, should
    a folder of the user's have that name), so the cache never shares a folder with a user's
    files and can never take them for entries of its own.
    """
    folder = Path(folder).expanduser()
    while True:
        if is_cache_root(folder) or not folder.exists():
            return folder
        try:
            with os.scandir(folder) as entries:
                if next(entries, None) is None:
                    return folder
        except NotADirectoryError:
            pass  # a file of that name: the cache goes beside nothing of the user's, one level down
        except OSError:
            return folder  # unreadable: writes will fail with a clear FeatureCacheError
        folder = folder / OWN_FOLDER_NAME


def image_key(path: Path | str) -> Key | None:
    """The identity of an image file as the cache sees it, or None if it cannot be stat'ed."""
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except (OSError, RuntimeError):
        return None
    return (str(resolved), int(stat.st_size), int(stat.st_mtime_ns))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:40] or "model"


def _tensor_sha256(features: torch.Tensor) -> str:
    return hashlib.sha256(features.contiguous().numpy().tobytes()).hexdigest()


class FeatureCache:
    """Sharded float16 feature store; see the module docstring for the guarantees."""

    def __init__(self, root: Path | str | None = None, *, merge_shards: bool = True) -> None:
        # `merge_shards=False`: only ever add shard files, never merge or delete them, so that
        # several processes (torchrun ranks) can write one namespace at once; one of them
        # merges afterwards with `compact`.
        self._merge_shards = merge_shards
        # The default root is the app's own folder in the user cache: ours by definition (also
        # when an older version filled it before markers existed). A folder the user names is
        # ours only with the marker; otherwise the cache takes a sub-folder of its own.
        self._is_default = root is None
        self._root = cache_root_for(root) if root is not None else default_cache_root()
        self._lock = threading.RLock()
        # per shard file: (size, mtime_ns) it had when read -> its keys; avoids re-reading headers
        self._headers: dict[Path, tuple[tuple[int, int], list[Key]]] = {}

    @property
    def root(self) -> Path:
        return self._root

    # ------------------------------------------------------------------ namespaces

    def image_namespace(self, backbone, view: int = 0) -> Path:
        identity = {
            "kind": "image",
            "format": FORMAT_VERSION,
            "weights_id": backbone.weights_id,
            "model_name": backbone.model_name,
            "preprocess_id": backbone.preprocess_id,
            "view": int(view),
        }
        return self._namespace_dir(f"img-{_slug(backbone.model_name)}-v{int(view)}", identity)

    def text_namespace(self, backbone) -> Path:
        identity = {
            "kind": "text",
            "format": FORMAT_VERSION,
            "weights_id": backbone.weights_id,
            "model_name": backbone.model_name,
        }
        return self._namespace_dir(f"txt-{_slug(backbone.model_name)}", identity)

    def _namespace_dir(self, prefix: str, identity: dict) -> Path:
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        return self._root / f"{prefix}-{digest}"

    # ------------------------------------------------------------------ public API

    def get_many(self, backbone, paths: Sequence[Path | str], view: int = 0) -> dict[int, torch.Tensor]:
        """index -> cached float32 row, for the paths whose current file identity is cached."""
        return self.lookup(
            self.image_namespace(backbone, view),
            [image_key(p) for p in paths],
            width=getattr(backbone, "embed_dim", None),
        )

    def put_many(self, backbone, paths: Sequence[Path | str], features: torch.Tensor, view: int = 0) -> None:
        """Store one row per path (rows aligned with `paths`), keyed by each file's identity now."""
        keys = [image_key(p) for p in paths]
        self.store(self.image_namespace(backbone, view), keys, features)

    def get_texts(self, backbone, texts: Sequence[str]) -> dict[int, torch.Tensor]:
        return self.lookup(
            self.text_namespace(backbone), [("text", t) for t in texts], width=getattr(backbone, "embed_dim", None)
        )

    def put_texts(self, backbone, texts: Sequence[str], features: torch.Tensor) -> None:
        self.store(self.text_namespace(backbone), [("text", t) for t in texts], features)

    def owns_root(self) -> bool:
        """Whether the root is provably this cache's: the default folder, or one with our marker."""
        return self._is_default or is_cache_root(self._root)

    def _own_files(self) -> list[Path]:
        """Every file the cache can prove it created: shards and temporary files inside
        exactly-named namespace folders of a root that is ours. Nothing else, ever."""
        if not self.owns_root():
            return []
        found: list[Path] = []
        try:
            children = list(os.scandir(self._root))
        except OSError:
            return []
        for child in children:
            if (
                not _NAMESPACE_PATTERN.match(child.name)
                or child.is_symlink()
                or not child.is_dir(follow_symlinks=False)
            ):
                continue
            try:
                entries = list(os.scandir(child.path))
            except OSError:
                continue
            for entry in entries:
                if (_SHARD_PATTERN.match(entry.name) or _TMP_PATTERN.match(entry.name)) and entry.is_file(
                    follow_symlinks=False
                ):
                    found.append(Path(entry.path))
        return found

    def size_bytes(self) -> int:
        """Bytes of the cache's own files (see `_own_files`); a user's files are not counted."""
        total = 0
        for path in self._own_files():
            try:
                total += path.stat().st_size
            except OSError:
                pass
        return total

    def clear(self) -> None:
        """Delete the cache's own files (see `_own_files`), then its namespace folders if that
        left them empty; anything else, in the root or inside a namespace folder, stays."""
        with self._lock:
            self._headers.clear()
            folders = set()
            for path in self._own_files():
                folders.add(path.parent)
                try:
                    path.unlink()
                except OSError:
                    pass
            for folder in folders:
                try:
                    folder.rmdir()  # only when empty
                except OSError:
                    pass

    # ------------------------------------------------------------------ keyed core

    def lookup(
        self, namespace: Path, keys: Sequence[Key | None], *, width: int | None = None
    ) -> dict[int, torch.Tensor]:
        """index -> float32 row for every key present in a verified shard of `namespace`.

        `width` is the embedding width the caller expects (the backbone's `embed_dim`): a shard
        of another width is discarded, and its rows count as missing (encoded again)."""
        wanted: dict[Key, list[int]] = {}
        for position, key in enumerate(keys):
            if key is not None:
                wanted.setdefault(tuple(key), []).append(position)
        if not wanted or not namespace.is_dir():
            return {}
        with self._lock:
            index = self._index(namespace)
            by_shard: dict[Path, list[tuple[int, Key]]] = {}
            for key in wanted:
                if key in index:
                    shard, row = index[key]
                    by_shard.setdefault(shard, []).append((row, key))
            found: dict[int, torch.Tensor] = {}
            for shard, rows in by_shard.items():
                loaded = self._read_shard(shard, width)
                if loaded is None:
                    continue
                features = loaded[1]
                for row, key in rows:
                    value = features[row].float()
                    for position in wanted[key]:
                        found[position] = value
            return found

    def store(self, namespace: Path, keys: Sequence[Key | None], features: torch.Tensor) -> None:
        """Append rows as new shards (atomically), then merge part-filled shards if there are many."""
        if len(keys) != len(features):
            raise ValueError(f"{len(keys)} keys for {len(features)} feature rows")
        rows = [(tuple(k), i) for i, k in enumerate(keys) if k is not None]
        if not rows:
            return
        features = features.detach().to("cpu", torch.float16)
        with self._lock:
            try:
                self._claim_root()
                namespace.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FeatureCacheError(
                    f"Cannot create the feature cache folder {namespace}: {exc.strerror or exc}"
                ) from exc
            self._remove_stale_tmp(namespace)
            for start in range(0, len(rows), SHARD_ROWS):
                chunk = rows[start : start + SHARD_ROWS]
                self._write_shard(namespace, [k for k, _ in chunk], features[[i for _, i in chunk]])
            if self._merge_shards:
                self._compact(namespace, int(features.shape[1]))

    def prepare(self) -> None:
        """Create the root and its marker now, before several processes write into it (else
        each would decide on its own whether the folder is ours)."""
        with self._lock:
            try:
                self._claim_root()
            except OSError as exc:
                raise FeatureCacheError(
                    f"Cannot create the feature cache folder {self._root}: {exc.strerror or exc}"
                ) from exc

    def compact(self, namespace: Path, width: int) -> None:
        """Merge the part-filled shards of `namespace` (rows `width` wide) if there are many."""
        with self._lock:
            self._compact(namespace, int(width))

    def _claim_root(self) -> None:
        """Create the root with its marker before the first entry is written into it."""
        if is_cache_root(self._root):
            return
        self._root.mkdir(parents=True, exist_ok=True)
        if not self._is_default and any(
            not _NAMESPACE_PATTERN.match(name) and name != MARKER_NAME for name in os.listdir(self._root)
        ):
            # Someone's files appeared after this cache chose its root: never mix with them.
            raise FeatureCacheError(f"{self._root} is not empty and is not an MMA Studio cache; choose another folder")
        from mma_studio.core.atomic_write import write_text_atomically

        write_text_atomically(self._root / MARKER_NAME, MARKER_TEXT)

    # ------------------------------------------------------------------ shards

    def _shards(self, namespace: Path) -> list[Path]:
        try:
            names = sorted(os.listdir(namespace))
        except OSError:
            return []
        return [namespace / name for name in names if _SHARD_PATTERN.match(name)]

    def _keys_of(self, shard: Path) -> list[Key] | None:
        """The keys of a shard from its header (cheap), or None if the header is unusable."""
        try:
            stat = shard.stat()
        except OSError:
            return None
        signature = (stat.st_size, stat.st_mtime_ns)
        memo = self._headers.get(shard)
        if memo is not None and memo[0] == signature:
            return memo[1]
        try:
            from safetensors import safe_open

            with safe_open(str(shard), framework="pt") as handle:
                metadata = handle.metadata() or {}
            if int(metadata.get("format", -1)) != FORMAT_VERSION:
                raise ValueError("unknown shard format")
            keys = [tuple(k) for k in json.loads(metadata["keys"])]
        except Exception as exc:
            self._discard(shard, f"unreadable header ({exc})")
            return None
        self._headers[shard] = (signature, keys)
        return keys

    def _index(self, namespace: Path) -> dict[Key, tuple[Path, int]]:
        index: dict[Key, tuple[Path, int]] = {}
        for shard in self._shards(namespace):
            keys = self._keys_of(shard)
            for row, key in enumerate(keys or ()):
                index.setdefault(key, (shard, row))
        return index

    def _read_shard(self, shard: Path, width: int | None = None) -> tuple[list[Key], torch.Tensor] | None:
        """Keys and float16 rows of a shard whose namespace, shape (`width` columns, when given)
        and checksum verify; else delete it. A valid checksum proves the bytes are intact, not
        that they belong here: a shard copied from another model's namespace is refused too."""
        keys = self._keys_of(shard)
        if keys is None:
            return None
        try:
            from safetensors import safe_open

            with safe_open(str(shard), framework="pt") as handle:
                metadata = handle.metadata() or {}
                features = handle.get_tensor("features")
        except FileNotFoundError:
            return None  # merged away by another writer meanwhile
        except Exception as exc:
            self._discard(shard, f"unreadable data ({exc})")
            return None
        if features.dtype != torch.float16 or features.ndim != 2 or features.shape[0] != len(keys):
            self._discard(shard, f"unexpected tensor {tuple(features.shape)} {features.dtype}")
            return None
        if width is not None and features.shape[1] != width:
            self._discard(shard, f"rows of width {features.shape[1]}, this model's features have {width}")
            return None
        written_for = metadata.get("namespace")
        if written_for is not None and written_for != shard.parent.name:
            self._discard(shard, f"written for another namespace ({written_for})")
            return None
        if _tensor_sha256(features) != metadata.get("sha256"):
            self._discard(shard, "checksum mismatch")
            return None
        return keys, features

    def _write_shard(self, namespace: Path, keys: list[Key], features16: torch.Tensor) -> Path:
        from safetensors.torch import save

        features16 = features16.contiguous()
        metadata = {
            "format": str(FORMAT_VERSION),
            "namespace": namespace.name,
            "keys": json.dumps([list(k) for k in keys]),
            "sha256": _tensor_sha256(features16),
        }
        payload = save({"features": features16}, metadata=metadata)
        final = namespace / f"shard-{time.time_ns():x}-{uuid.uuid4().hex[:8]}.safetensors"
        tmp = namespace / f".tmp-{uuid.uuid4().hex}"
        try:
            with open(tmp, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise FeatureCacheError(
                f"Could not write to the feature cache in {namespace} ({exc.strerror or exc}); "
                "earlier cache entries are intact. Free some disk space or clear the cache."
            ) from exc
        return final

    def _compact(self, namespace: Path, width: int) -> None:
        """Merge part-filled shards into full ones, dropping duplicates and rows of files
        that have since changed (same path, older mtime)."""
        small = []
        for shard in self._shards(namespace):
            keys = self._keys_of(shard)
            if keys is not None and len(keys) < SHARD_ROWS:
                small.append(shard)
        if len(small) <= MAX_SMALL_SHARDS:
            return
        entries: dict[Key, torch.Tensor] = {}
        newest: dict[str, Key] = {}
        for shard in reversed(small):  # newest shard first: its rows win
            loaded = self._read_shard(shard, width)
            if loaded is None:
                continue
            for key, row in zip(*loaded):
                if key in entries:
                    continue
                if len(key) == 3:  # an image: keep only the newest state of each path
                    previous = newest.get(key[0])
                    if previous is not None and previous[2] >= key[2]:
                        continue
                    if previous is not None:
                        entries.pop(previous, None)
                    newest[key[0]] = key
                entries[key] = row
        keys = list(entries)
        rows = torch.stack([entries[k] for k in keys]) if keys else torch.empty(0)
        for start in range(0, len(keys), SHARD_ROWS):
            self._write_shard(namespace, keys[start : start + SHARD_ROWS], rows[start : start + SHARD_ROWS])
        for shard in small:
            self._discard(shard, None)

    def _discard(self, shard: Path, why: str | None) -> None:
        if why is not None:
            warnings.warn(
                f"Ignoring and deleting damaged feature-cache shard {shard}: {why}", RuntimeWarning, stacklevel=3
            )
        self._headers.pop(shard, None)
        try:
            shard.unlink()
        except OSError:
            pass

    def _remove_stale_tmp(self, namespace: Path) -> None:
        """Temporary files left by a killed writer are removed once they are clearly abandoned."""
        now = time.time()
        try:
            names = os.listdir(namespace)
        except OSError:
            return
        for name in names:
            if name.startswith(".tmp-"):
                path = namespace / name
                try:
                    if now - path.stat().st_mtime > STALE_TMP_S:
                        path.unlink()
                except OSError:
                    pass
