"""The text of a protocol dataset's list files (split_zhou_*.json, classnames.txt,
variants.txt, images_variant_*.txt) and of a reproduction's results.json, read safely.

These sit in folders the user names (`--data-root`, `--out`), so they are read as every
user file is (`core/user_files.py`): a FIFO, a device or a socket in their place is refused
at once instead of blocking the run for ever, and a file far larger than any real one is
refused before it is read. A refusal is a `ProtocolDataError` naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

from mma_studio.core.protocols.spec import ProtocolDataError

# A reproduction's results.json holds a few hundred cells of a few hundred bytes each.
MAX_RESULTS_FILE_BYTES = 64 * 1024 * 1024
# CoOp's largest split file (Food101's, ~101,000 entries) is under 10 MB.
MAX_SPLIT_FILE_BYTES = 64 * 1024 * 1024
# classnames.txt (1,000 lines), variants.txt (100) and images_variant_*.txt (~3,400) are kilobytes.
MAX_LIST_FILE_BYTES = 16 * 1024 * 1024


def read_protocol_text(path: Path, max_bytes: int, what: str) -> str:
    """The UTF-8 text of `path`, a regular file of at most `max_bytes`; else a ProtocolDataError
    naming the file and the reason."""
    from mma_studio.core.user_files import UserFileError, read_regular_file

    try:
        return read_regular_file(path, max_bytes, what=what).decode("utf-8")
    except UserFileError as exc:
        raise ProtocolDataError(f"{path}: {exc.reason}") from exc  # "is a named pipe (FIFO), not ...", "too large ..."
    except UnicodeDecodeError as exc:
        raise ProtocolDataError(
            f"{path}: cannot read {what} (not UTF-8 text: {exc.reason} at byte {exc.start})"
        ) from exc
    except OSError as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        raise ProtocolDataError(f"{path}: cannot read {what} ({reason})") from exc
