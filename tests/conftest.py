"""Suite-wide test setup: every test runs headless.

Qt reads QT_QPA_PLATFORM when the first QApplication is built, so it is set here, before any
test module (or pytest-qt) can create one.
"""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (`pytestmark = pytest.mark.usefixtures(...)`):
    the machine is shared, and several tests compare runs that must not depend on it."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
