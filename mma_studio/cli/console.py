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
    each download retry notice is printed twice, once as 'WARNING:huggingface_hub...:'."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("mma-studio: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    hub = logging.getLogger("huggingface_hub")
    if hub.handlers:
        hub.propagate = False
    hub.setLevel(logging.ERROR if quiet else logging.WARNING)


def one_line_warning_printer(command: str):
    """A `warnings.showwarning` that prints a warning (e.g. "features computed but not cached:
    disk full") as one readable line instead of Python's file:line format with a source excerpt."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = one_line(message) if isinstance(message, BaseException) else " ".join(str(message).split())
        eprint(f"mma-studio {command}: warning: {text}")

    return show
