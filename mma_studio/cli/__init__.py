"""`mma-studio`: no arguments opens the desktop app; subcommands run the engine headless.

Human-readable progress goes to stderr (tqdm); results go to stdout, as text or, with
`--json`, as JSON. A user error exits non-zero with a one-line reason, never a traceback.

Layout: `runner.main` (entry point), `parser` (argparse, light), `commands/` (one module per
sub-command, listed in `commands/__init__.py`), and helpers for options, output, progress bars,
errors and the console set-up.
"""

from mma_studio.cli.runner import main

__all__ = ["main"]
