"""What the CLI prints: results on stdout (text, or one JSON object a line), notes on stderr.

Every text line goes through `out` or `eprint`, which escape control characters (a folder
named with a newline or an ESC sequence cannot break a one-line-per-item report or drive the
terminal) and clear open progress bars first. JSON stays plain JSON (`json.dumps` escapes).
"""

from __future__ import annotations

import io
import json
import math
import sys

from mma_studio.cli.errors import StdoutBroken, UserError
from mma_studio.cli.progress import printing_beside_bars

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}
# Bidirectional overrides and isolates reorder what is shown after them (a name could make
# "gpj.exe" read as "exe.jpg"); line and paragraph separators break lines like a newline.
_INVISIBLE_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\u200e\u200f")


def printable(text: object) -> str:
    """`text` with control characters written as escapes (\\n, \\t, \\e, \\x07, \\u202e)."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return f"\\x{code:02x}"
    if char in _INVISIBLE_CONTROLS:
        return f"\\u{code:04x}"
    return char  # printable, a space, or a surrogate standing for a byte of a non-UTF-8 name


def out(*parts: object) -> None:
    """One line of results on stdout."""
    _write_stdout(" ".join(printable(part) for part in parts))


def print_json(data) -> None:
    _write_stdout(json.dumps(data, default=str))


def eprint(*parts: object) -> None:
    """One line of notes or errors on stderr (nothing when there is no stderr)."""
    if sys.stderr is None:
        return
    line = " ".join(printable(part) for part in parts)
    try:
        with printing_beside_bars():
            print(line, file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr itself is gone: there is nowhere left to say anything


def _write_stdout(line: str) -> None:
    """Print and flush one line; a reader that went away or a full disk stops the command."""
    try:
        with printing_beside_bars():
            print(line, file=sys.stdout, flush=True)
    except BrokenPipeError:
        stdout_to_devnull()
        raise StdoutBroken() from None
    except OSError as exc:
        stdout_to_devnull()
        raise UserError(f"cannot write the results to standard output ({exc.strerror or exc})") from None


def stdout_is_closed() -> bool:
    """True when there is no standard output to print results to (`>&-`): Python then sets
    `sys.stdout` to None and `print` silently writes nothing, or its descriptor is gone."""
    if sys.stdout is None:
        return True
    import os

    try:
        os.fstat(sys.stdout.fileno())
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return False  # a stream without a descriptor (a test's capture) is open
    except OSError:
        return True
    return False


def stdout_to_devnull() -> None:
    """Python's advice for a broken stdout: point it at devnull, so the flush at exit cannot
    raise again (`Exception ignored ... BrokenPipeError`)."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # a replaced stream (a test's capture): nothing is flushed to a pipe at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def percent(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "     —"  # as wide as " 80.0%", right-aligned under the figures
    return f"{100 * value:5.1f}%"


def figures_table(summary: dict) -> list[str]:
    zero, adapted = summary["zero_shot"], summary["adapted"]
    return [
        "              base     new      HM     all",
        f"zero-shot   {percent(zero['base'])}  {percent(zero['new'])}  {percent(zero['hm'])}  {percent(zero['all'])}",
        f"adapted     {percent(adapted['base'])}  {percent(adapted['new'])}  {percent(adapted['hm'])}  {percent(adapted['all'])}",
    ]
