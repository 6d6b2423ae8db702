"""Files the user names are checked before they are opened (issue 11, item 4).

A FIFO given as the adapter file used to block `predict` and `eval` for ever in `open()`,
and a FIFO `.mmaproj` froze the window. Every reader of a user's file goes through
`core.user_files`; each test here has a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest

from mma_studio.core.user_files import (
    UserFileError,
    check_regular_file,
    open_regular_file,
    read_regular_file,
)

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform"),
]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def named_fifo(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_a_fifo_a_device_a_socket_and_a_folder_are_refused_without_blocking(tmp_path, fifo):
    with pytest.raises(UserFileError, match="named pipe") as caught:
        open_regular_file(fifo, what="an adapter file")
    assert str(fifo) in str(caught.value) and "not an adapter file" in str(caught.value)
    with pytest.raises(UserFileError, match="character device"):
        read_regular_file("/dev/zero", 1024)
    with pytest.raises(UserFileError, match="folder"):
        check_regular_file(tmp_path)
    server = socket.socket(socket.AF_UNIX)
    sock = tmp_path / "s"
    try:
        server.bind(str(sock))
    except OSError:
        pytest.skip("no unix sockets here")
    with server, pytest.raises(UserFileError, match="socket"):
        open_regular_file(sock)


def test_a_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(UserFileError, match="too large"):
        read_regular_file(path, 1024)
    assert read_regular_file(path, 4096) == b"x" * 2048
    with pytest.raises(FileNotFoundError):
        open_regular_file(tmp_path / "missing")


def test_every_engine_reader_refuses_a_fifo_with_the_file_named(tmp_path):
    from mma_studio.core.adapter_file import AdapterFileError, load_adapter_file
    from mma_studio.core.backbone import BackboneLoadError, load_backbone
    from mma_studio.core.images import UnusableImageError, load_rgb_image
    from mma_studio.core.project import ProjectError, load_project

    adapter = named_fifo(tmp_path, "adapter.safetensors")
    with pytest.raises(AdapterFileError, match="named pipe") as caught:
        load_adapter_file(adapter)
    assert str(adapter) in str(caught.value)

    project = named_fifo(tmp_path, "p.mmaproj")
    with pytest.raises(ProjectError, match="named pipe") as caught:
        load_project(project)
    assert str(project) in str(caught.value)

    image = named_fifo(tmp_path, "photo.png")
    with pytest.raises(UnusableImageError, match="named pipe"):
        load_rgb_image(image)

    weights = named_fifo(tmp_path, "weights.safetensors")
    with pytest.raises(BackboneLoadError, match="named pipe"):
        load_backbone("mma-tiny", str(weights), device="cpu")
    with pytest.raises(BackboneLoadError, match="character device"):
        load_backbone("mma-tiny", "file:/dev/zero", device="cpu")


def test_an_oversized_project_file_is_refused_before_reading(tmp_path, monkeypatch):
    from mma_studio.core import project as project_module

    path = tmp_path / "huge.mmaproj"
    path.write_bytes(b" " * 5000)
    monkeypatch.setattr(project_module, "MAX_PROJECT_BYTES", 4096)
    with pytest.raises(project_module.ProjectError, match="too large"):
        project_module.load_project(path)


def test_predict_on_a_fifo_adapter_ends_at_once_with_a_reason(tmp_path):
    """The CLI end to end: exits non-zero with the file named, instead of blocking."""
    import subprocess

    adapter = named_fifo(tmp_path, "adapter.safetensors")
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(image)
    done = subprocess.run(
        [sys.executable, "-m", "mma_studio", "predict", str(adapter), str(image)],
        check=False,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode != 0
    assert "named pipe" in done.stderr and str(adapter) in done.stderr


@pytest.mark.parametrize(
    "dataset, file_name",
    [
        ("EuroSAT", "split_zhou_EuroSAT.json"),
        ("ImageNet", "classnames.txt"),
        ("FGVCAircraft", "variants.txt"),
        ("FGVCAircraft", "images_variant_train.txt"),
    ],
)
def test_the_protocol_readers_refuse_a_fifo_in_the_dataset_folder(tmp_path, dataset, file_name):
    """`reproduce`/`extract` read CoOp's list files from a folder the user names: a FIFO in place
    of one is refused at once with the file named (it used to block in open())."""
    from mma_studio.core.protocols import ProtocolDataError, get_spec, read_dataset
    from tests.coop_layouts import write_layout

    spec = get_spec(dataset)
    write_layout(tmp_path, dataset, ["a", "b", "c", "d"], counts=(2, 1, 1))
    listed = spec.dataset_dir(tmp_path) / file_name
    listed.unlink()
    os.mkfifo(listed)
    with pytest.raises(ProtocolDataError) as caught:
        read_dataset(spec, tmp_path)
    assert str(caught.value).startswith(f"{listed}: is a named pipe (FIFO)")


def test_protocol_files_over_their_cap_are_refused_before_reading(tmp_path, monkeypatch):
    from mma_studio.core.protocols import ProtocolDataError, get_spec, read_dataset, split_file_reader
    from tests.coop_layouts import write_layout

    spec = get_spec("EuroSAT")
    write_layout(tmp_path, "EuroSAT", ["a", "b", "c", "d"], counts=(2, 1, 1))
    split_file = spec.dataset_dir(tmp_path) / spec.split_file
    assert len(read_dataset(spec, tmp_path).train) == 8
    monkeypatch.setattr(split_file_reader, "MAX_SPLIT_FILE_BYTES", split_file.stat().st_size - 1)
    with pytest.raises(ProtocolDataError, match=f"^{split_file}: too large for the split file"):
        read_dataset(spec, tmp_path)


def test_a_fifo_results_file_in_the_reproduction_folder_is_refused(tmp_path):
    from mma_studio.core.protocols.results_store import RESULTS_NAME, ResultsConflictError, ResultsStore

    os.mkfifo(tmp_path / RESULTS_NAME)
    with pytest.raises(ResultsConflictError, match="named pipe") as caught:
        ResultsStore(tmp_path, {"shots": 16})
    assert str(tmp_path / RESULTS_NAME) in str(caught.value)


def test_export_reads_the_adapter_file_through_the_same_checks(tmp_path):
    """`mma-studio export` copies the adapter file's bytes: they are read as every user file is."""
    from mma_studio.core.adapter_file import AdapterFileError
    from mma_studio.core.export.adapter_file_run import read_adapter_bytes

    adapter = named_fifo(tmp_path, "adapter.safetensors")
    with pytest.raises(AdapterFileError, match="named pipe") as caught:
        read_adapter_bytes(adapter)
    assert str(adapter) in str(caught.value)
    regular = tmp_path / "copy.safetensors"
    regular.write_bytes(b"adapter bytes")
    assert read_adapter_bytes(regular) == b"adapter bytes"
