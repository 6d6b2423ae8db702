"""Write a file so that readers see the old version or the new one, never half of either.

Temp file in the same folder, flushed and fsynced, then `os.replace`; on any failure (a full
disk, a cancel) the temp file is removed and the earlier file is untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes_atomically(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
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
