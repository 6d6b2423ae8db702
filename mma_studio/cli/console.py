"""How the process's streams, log records and Python warnings are set up for the CLI."""

from __future__ import annotations

import sys

from mma_studio.cli.errors import one_line
from mma_studio.cli.output import eprint


def print_any_file_name() -> None:
    """Print paths that are not valid UTF-8 (surrogate-escaped by Python) as their original
    bytes, as `ls` does, instead of failing with UnicodeEncodeError mid-report."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream not in (sys.__stdout__, sys.__stderr__):
            continue  # a stream someone replaced (a test's capture): leave it as it is
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError, TypeError):
                pass


def configure_logging(quiet: bool) -> None:
    """Library log records as one prefixed line each, never twice, and none with --quiet.

    open_clip logs through the root logger (which installs Python's default handler), and
    huggingface_hub has a handler of its own that also propagates to the root: without this,
    each download retry notice is printed twice, once as 'WARNING:huggingface_hub...:'.
    Records go through `eprint`, so they clear a progress bar instead of being glued to it."""
    import logging

    class _LineHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                eprint(f"mma-studio: {record.getMessage()}")
            except Exception:  # noqa: BLE001 - a log record must never end the command
                self.handleError(record)

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_LineHandler())
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    hub = logging.getLogger("huggingface_hub")
    if hub.handlers:
        hub.propagate = False
    hub.setLevel(logging.ERROR if quiet else logging.WARNING)


def one_line_warning_printer(command: str):
    """A `warnings.showwarning` that prints a warning (e.g. "features computed but not cached:
    disk full") as one readable line instead of Python's file:line format with a source excerpt.

    A warning raised while an image is decoded ("Tag data larger than file") is prefixed with
    that image's path: Pillow's warnings do not name their file."""

    shown: set[tuple] = set()  # Pillow repeats a warning each time it re-reads a file's tags

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = one_line(message) if isinstance(message, BaseException) else " ".join(str(message).split())
        images = sys.modules.get("mma_studio.core.images")
        decoding = images.file_being_decoded() if images is not None else None
        if decoding is not None:
            if (decoding, text) in shown:
                return
            shown.add((decoding, text))
        where = f"{decoding}: " if decoding is not None else ""
        eprint(f"mma-studio {command}: warning: {where}{text}")

    return show


def show_every_decoder_warning() -> None:
    """Python shows a warning once per place in the code; Pillow's come from the same line for
    every file, so a second damaged file would go unreported. Show each (each names its file)."""
    import warnings

    warnings.filterwarnings("always", module=r"PIL\.")
