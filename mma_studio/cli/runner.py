"""`main`: parse the arguments, run one sub-command, turn every failure into one line and an exit status."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from mma_studio.cli.console import (
    configure_logging,
    one_line_warning_printer,
    print_any_file_name,
    show_every_decoder_warning,
)
from mma_studio.cli.errors import (
    EXIT_CANCELLED,
    EXIT_FAILURE,
    EXIT_USER_ERROR,
    StdoutBroken,
    UserError,
    one_line,
    user_error_types,
)
from mma_studio.cli.output import eprint, stdout_is_closed
from mma_studio.cli.progress import close_all_bars


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    print_any_file_name()
    if not argv:
        from mma_studio.ui.app import run_app

        return run_app([])
    if argv == ["--version"]:  # scripts ask this often: no parser, no sub-command module
        from mma_studio import __version__

        print(f"mma-studio {__version__}")
        return 0
    from mma_studio.cli.parser import CommandLine

    command_line = CommandLine()
    args = command_line.parse(argv)
    if args.command is None:
        command_line.parser.print_help()
        return EXIT_USER_ERROR
    # Started with stdout closed (`>&-`): the results would vanish. Without stderr either, this
    # is a windowed program (the frozen app without a console): nobody could read a refusal, so
    # the command runs and its files are still written.
    if stdout_is_closed() and sys.stderr is not None:
        eprint(
            f"mma-studio {args.command}: error: standard output is closed, so no result could be printed; "
            "nothing was done"
        )
        return EXIT_USER_ERROR

    import warnings

    from mma_studio.core.cancellation import Cancelled, CancelToken

    configure_logging(quiet=getattr(args, "quiet", False))
    token = CancelToken()
    previous_showwarning = warnings.showwarning
    if not args.debug:
        warnings.showwarning = one_line_warning_printer(args.command)
    show_every_decoder_warning()
    try:
        return args.run(args, token)
    except (KeyboardInterrupt, Cancelled):
        token.cancel()
        close_all_bars()
        eprint("mma-studio: cancelled")
        return EXIT_CANCELLED
    except StdoutBroken:
        # The reader went away (`| head -1`): stop quietly, as Unix tools do, with Python's
        # status for EPIPE (`out` has pointed stdout at devnull).
        close_all_bars()
        return EXIT_FAILURE
    except Exception as exc:  # the CLI's contract: one line, no traceback
        close_all_bars()
        if isinstance(exc, (UserError, *user_error_types())):
            eprint(f"mma-studio {args.command}: error: {one_line(exc)}")
            return EXIT_USER_ERROR
        if getattr(args, "debug", False):
            raise
        eprint(
            f"mma-studio {args.command}: unexpected error: {type(exc).__name__}: {one_line(exc)} "
            "(run again with --debug for details)"
        )
        return EXIT_FAILURE
    finally:
        warnings.showwarning = previous_showwarning
