"""The argument parser of `mma-studio`.

Building it imports no torch, open_clip or numpy, so `--help` and `--version` cost a few times
a bare interpreter; each sub-command imports the engine only when it runs.

Flags are never abbreviated (`--pretrain` is not `--pretrained`: a typo must not be guessed
into another option), and a flag a sub-command does not know is reported with that
sub-command's usage and the closest real flag.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence

from mma_studio.cli.commands import command_modules


class StrictParser(argparse.ArgumentParser):
    """An ArgumentParser that never accepts an abbreviated flag."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


class CommandLine:
    """The top-level parser and each sub-command's own, to report errors with the right usage."""

    def __init__(self) -> None:
        from mma_studio import __version__

        self.parser = StrictParser(
            prog="mma-studio",
            description="Adapt a frozen CLIP model to your image classes with the Multi-Modal Adapter. "
            "Without a subcommand, opens the desktop app.",
        )
        self.parser.add_argument("--version", action="version", version=f"mma-studio {__version__}")
        subparsers = self.parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=StrictParser)
        self.commands: dict[str, argparse.ArgumentParser] = {}
        for module in command_modules():
            command = module.register(subparsers)
            command.set_defaults(run=module.run)
            _state_defaults(command)
            self.commands[module.NAME] = command

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        args, unknown = self.parser.parse_known_args(argv)
        if unknown:
            command = self.commands.get(args.command)
            if command is None:
                self.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            command.error(_unrecognized(command, unknown))
        return args


def build_parser() -> argparse.ArgumentParser:
    return CommandLine().parser


def _state_defaults(parser: argparse.ArgumentParser) -> None:
    """Append "(default: ...)" to an option's help that does not state it: off for a flag, the
    value where there is one (an option without a value and without a described default is
    left for its command to describe)."""
    for action in parser._actions:
        if not action.option_strings or action.help in (None, argparse.SUPPRESS) or "default" in action.help:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            action.help += " (default: off)"
        elif action.default not in (None, argparse.SUPPRESS):  # SUPPRESS: -h/--help's "default"
            action.help += f" (default: {action.default})".replace("%", "%%")


def _unrecognized(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    known = [flag for action in parser._actions for flag in action.option_strings]
    hints = []
    for item in unknown:
        if item.startswith("--"):
            close = difflib.get_close_matches(item.split("=")[0], known, n=1)
            if close:
                hints.append(f"{item} (did you mean {close[0]}?)")
                continue
        hints.append(item)
    return f"unrecognized arguments: {' '.join(hints)}"
