"""The argument parser of `mma-studio`.

Building it imports no torch, open_clip or numpy, so `--help` and `--version` cost a few times
a bare interpreter; each sub-command imports the engine only when it runs.
"""

from __future__ import annotations

import argparse

from mma_studio.cli.commands import command_modules


def build_parser() -> argparse.ArgumentParser:
    from mma_studio import __version__

    parser = argparse.ArgumentParser(
        prog="mma-studio",
        description="Adapt a frozen CLIP model to your image classes with the Multi-Modal Adapter. "
        "Without a subcommand, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"mma-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers).set_defaults(run=module.run)
    return parser
