"""The sub-commands, one module each.

A sub-command module defines `NAME`, `register(subparsers)` (which adds its parser and must
import nothing heavy) and `run(args, token) -> int` (which imports the engine when called).
Adding a sub-command is a new module plus one line here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMAND_MODULES = (
    "mma_studio.cli.commands.check",
    "mma_studio.cli.commands.train",
    "mma_studio.cli.commands.evaluate",
    "mma_studio.cli.commands.predict",
    "mma_studio.cli.commands.example",
    "mma_studio.cli.commands.export",
    "mma_studio.cli.commands.compare",
    "mma_studio.cli.commands.reproduce",
    "mma_studio.cli.commands.extract",
)


def command_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]
