"""Open a file the user named, after checking it is a regular file of a size we accept.

`open()` on a named pipe (FIFO) waits for a writer that may never come, a character device
such as `/dev/zero` never ends, and a socket cannot be read at all: a mistyped path used to
freeze `predict`, `eval`, or the whole window. Every file the user names (adapter files,
project files, weights files, images, lists) is opened here:

- the path is opened with `O_NONBLOCK` (POSIX), which returns at once even for a FIFO, and
  the *opened* file is checked with `fstat` (no window between a check and the open in which
  the file could be swapped for a pipe);
- anything but a regular file is refused, with the file and what it is instead;
- a size over the caller's cap is refused before a byte is read, so a forged or mistaken
  file cannot make a reader allocate what it claims.

A refusal is a `UserFileError` (an `OSError`, so handlers that already catch OSError still
do); its `reason` is short and human, for messages of the form "<file>: <reason>".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class UserFileError(OSError):
    """A file the user named cannot be read as one; `reason` says why, `path` which file."""

    def __init__(self, path: Path | str, reason: str, code: int = errno.EINVAL) -> None:
        super().__init__(code, reason, str(path))
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def kind_of(mode: int) -> str | None:
    """What a file that is not a regular file is (for messages), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _check(path: Path, info: os.stat_result, max_bytes: int | None, what: str) -> None:
    kind = kind_of(info.st_mode)
    if kind is not None:
        code = errno.EISDIR if stat.S_ISDIR(info.st_mode) else errno.EINVAL
        raise UserFileError(path, f"is {kind}, not {what}", code)
    if max_bytes is not None and info.st_size > max_bytes:
        raise UserFileError(
            path,
            f"too large for {what} ({format_size(info.st_size)}; at most {format_size(max_bytes)} is read)",
            errno.EFBIG,
        )


def check_regular_file(path: Path | str, max_bytes: int | None = None, *, what: str = "a file") -> os.stat_result:
    """Stat `path` (following links) and refuse anything but a regular file of at most
    `max_bytes`; for paths handed to a library that opens them itself (weights files).
    FileNotFoundError and PermissionError pass through as they are."""
    path = Path(path)
    info = os.stat(path)
    _check(path, info, max_bytes, what)
    return info


def open_regular_file(path: Path | str, max_bytes: int | None = None, *, what: str = "a file") -> BinaryIO:
    """Open `path` for binary reading once it is proven a regular file of at most `max_bytes`.

    Never blocks on a FIFO or device. FileNotFoundError and PermissionError pass through
    unchanged (callers word them); every other refusal is a `UserFileError`.
    """
    path = Path(path)
    if os.name != "posix":  # no O_NONBLOCK: check before opening (Windows has no FIFOs in paths)
        check_regular_file(path, max_bytes, what=what)
        return open(path, "rb")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    except (FileNotFoundError, PermissionError):
        raise
    except OSError:  # a socket (ENXIO), a folder on some systems: say what it is if we can
        check_regular_file(path, max_bytes, what=what)
        raise
    try:
        _check(path, os.fstat(fd), max_bytes, what)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path | str, max_bytes: int, *, what: str = "a file") -> bytes:
    """The bytes of `path`, a regular file of at most `max_bytes` (read at most that many,
    even should the file grow meanwhile)."""
    with open_regular_file(path, max_bytes, what=what) as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UserFileError(
            path, f"too large for {what} (it grew past {format_size(max_bytes)} while read)", errno.EFBIG
        )
    return data
