"""Files the app writes get the mode a plain open() would give, so a shared adapter or project
is readable by those it is shared with (issue 12 §7); a replaced file keeps its mode."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from mma_studio.core.atomic_write import current_umask, write_bytes_atomically, write_text_atomically
from mma_studio.core.project import Project, save_project

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def plain_open_mode(tmp_path, name: str) -> int:
    """What `open(..., "w")` gives a new file under the current umask, measured, not computed."""
    probe = tmp_path / name
    with open(probe, "w") as stream:
        stream.write("x")
    return mode(probe)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_file_gets_the_mode_of_a_plain_open(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    written = write_bytes_atomically(tmp_path / "adapter.safetensors", b"data")
    assert mode(written) == plain_open_mode(tmp_path, "probe.bin") == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_replacing_a_file_keeps_its_mode(tmp_path, umask, mask):
    umask(mask)
    target = tmp_path / "model_card.md"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text_atomically(target, "new")
    assert target.read_text() == "new"
    assert mode(target) == 0o640


def test_project_file_is_shareable_under_umask_022(tmp_path, umask):
    umask(0o022)
    path = save_project(Project(name="shared"), tmp_path / "shared.mmaproj")
    assert mode(path) == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
