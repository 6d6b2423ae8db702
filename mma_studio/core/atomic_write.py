"""Write a file so that readers see the old version or the new one, never half of either.

Temp file in the same folder, flushed and fsynced, then `os.replace`; on any failure (a full
disk, a cancel) the temp file is removed and the earlier file is untouched. A process killed
mid-write (SIGKILL, power loss) cannot clean up, so its temp file carries its process id, and
the next write of the same file removes temp files whose writer is no longer running.

The temp file is created private (0600); before it replaces the target it is given the mode a
plain `open()` would have given a new file under the user's umask, or the mode of the file it
replaces, so an adapter or project the user shares stays readable by the people it was shared
with.

A file name near the file system's limit (255 bytes: 78 CJK characters) must not fail only
at the end, on the temp name: the temp name embeds at most as much of the file's name as
leaves it within the limit (`_temp_prefix`), and `ensure_writable` proves before a long run
that the output, its temp sibling and its folder can be created.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()
NAME_MAX_BYTES = 255  # a file name's limit on ext4, APFS, NTFS (in UTF-16 units there), btrfs, XFS
_RANDOM_CHARS = 8  # what tempfile.mkstemp adds
_TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: Path) -> str:
    """`.<name>.<pid>.`, with `<name>` cut (at a character boundary) so that the temp name
    fits in `NAME_MAX_BYTES` whatever the pid; the cut does not depend on the pid, so the
    temp files of a dead writer are recognised by the next one."""
    budget = NAME_MAX_BYTES - 1 - len(".4294967295.") - _RANDOM_CHARS - len(_TEMP_SUFFIX)
    raw = os.fsencode(path.name)
    name = path.name if len(raw) <= budget else raw[:budget].decode("utf-8", "ignore")
    return f".{name}.{os.getpid()}."


def ensure_writable(path: Path | str) -> Path:
    """Prove now, before minutes of work, that `path` can be written atomically later: its
    folder exists (or the nearest existing one is writable), the temp sibling and the final
    name can be created (so a name too long fails here, not after training). Creates and
    removes a temp file; never touches an existing file at `path`. Raises OSError naming it.
    """
    import errno

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    folder = path.parent
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder.name)
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "a part of the path is not a folder", str(folder))
    for name in [*missing, path.name]:
        if len(os.fsencode(name)) > NAME_MAX_BYTES:
            raise OSError(
                errno.ENAMETOOLONG,
                f"File name too long ({len(os.fsencode(name))} bytes, at most {NAME_MAX_BYTES})",
                str(path),
            )
    probe = path if not missing else folder / "probe"
    handle, temporary = tempfile.mkstemp(prefix=_temp_prefix(probe), suffix=_TEMP_SUFFIX, dir=folder)
    os.close(handle)
    os.unlink(temporary)
    if not missing and not os.path.lexists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(path)
    return path


def write_bytes_atomically(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_temp_files(path)
    handle, temporary = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            _give_mode(stream.fileno(), _mode_for(path))
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path


def write_text_atomically(path: Path | str, text: str) -> Path:
    return write_bytes_atomically(path, text.encode("utf-8"))


def _mode_for(path: Path) -> int:
    """The permission bits `path` should end with: those of the file it replaces, or those a
    plain `open(path, "w")` would give a new file under the current umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def _give_mode(fd: int, mode: int) -> None:
    if sys.platform == "win32":
        return  # no POSIX modes: the file gets the folder's ACL either way
    try:
        os.fchmod(fd, mode)
    except OSError:
        pass  # a file system without modes (some network shares): the write itself still counts


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (Linux /proc), since
    setting it to read it races with threads that create files meanwhile."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def remove_abandoned_temp_files(path: Path | str) -> list[Path]:
    """Delete `path`'s temp files left by writers that died mid-write; return what was removed.

    Only files named like ours (`.<name>.<pid>.<random>.tmp`) whose process is gone are
    touched; a write in progress in another live process keeps its temp file.
    """
    path = Path(path)
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return []
    cut = _temp_prefix(path)[1 : -len(f".{os.getpid()}.")]  # the part of the name temp names carry
    pattern = re.compile(rf"^\.{re.escape(cut)}\.(\d+)\.[^/]+\.tmp$")
    removed: list[Path] = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        match = pattern.match(name)
        if not match or _process_alive(int(match.group(1))):
            continue
        try:
            os.unlink(path.parent / name)
            removed.append(path.parent / name)
        except OSError:
            pass
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # our own write in another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists but belongs to someone else, or cannot tell: leave it
    return True
