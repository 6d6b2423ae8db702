"""Exit statuses and the errors whose message is meant for the user."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


class StdoutBroken(Exception):
    """The reader of standard output went away (a broken pipe): stop quietly."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """Engine errors whose message is meant for the user (imported lazily: they pull in torch)."""
    from mma_studio.core.adapter_file import AdapterFileError
    from mma_studio.core.backbone import BackboneLoadError
    from mma_studio.core.dataset import DatasetError
    from mma_studio.core.devices import DeviceError
    from mma_studio.core.pipeline import SettingsError
    from mma_studio.core.predict import BackboneMismatchError
    from mma_studio.core.split import SplitError
    from mma_studio.core.training import TrainingDivergedError

    return (
        UserError,
        AdapterFileError,
        BackboneLoadError,
        DatasetError,
        BackboneMismatchError,
        SplitError,
        DeviceError,
        SettingsError,
        TrainingDivergedError,
    )


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
