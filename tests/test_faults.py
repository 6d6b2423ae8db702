"""Issue 7, items 3 and 4: kills, cancels, full disks and network faults lose nothing.

The real CLI runs in a child process (its own session, so the kill takes its DataLoader
workers too) and is killed with SIGKILL, or interrupted with SIGINT (Ctrl+C), at a chosen
moment: after it printed N extraction batches, N epoch lines, or while the adapter file is
being written. Then:
- no damaged cache entry is ever read (the rerun reports no damaged shard, and every shard on
  disk verifies its checksum), and the rerun gives exactly the figures of an uninterrupted run;
- no half-written adapter or project file exists: the file is the previous complete one, or
  absent; temp files of a killed writer are removed by the next write;
- the next run works.
A full disk (a real 1 MiB tmpfs where mounting is allowed, else an injected ENOSPC) gives one
clear line and leaves the earlier adapter, cache and project intact. Network faults use only
loopback addresses: a closed port, HF_HUB_OFFLINE, a hub that cuts every download, a damaged
cached weights file; each gives a clear message and the local-weights route still works.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mma_studio.cli import main
from mma_studio.core import atomic_write as atomic_write_module
from mma_studio.core import feature_cache as feature_cache_module
from mma_studio.core.adapter_file import load_adapter_file
from mma_studio.core.backbone import hub_cache_dir, load_backbone
from mma_studio.core.feature_cache import FeatureCache
from mma_studio.core.project import Project, load_project, save_project
from tests.image_factory import make_class_dataset

REPO = Path(__file__).resolve().parents[1]
CLOSED_PORT_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens, refused at once
TRAIN = ["--model", "mma-tiny", "--pretrained", "random", "--shots", "3", "--val-per-class", "2", "--seed", "7"]

# The CLI as a user runs it, with two knobs turned so a kill can land mid-extraction on a small
# dataset: batches of 8 images and cache shards of 8 rows (a flush after every batch). Each
# encoded batch prints "encoded <n>"; with MMA_TEST_SLOW_WRITE set, the atomic writer prints
# "writing <name>" and waits between writing the temp file and renaming it.
CHILD = textwrap.dedent(
    """
    import faulthandler, os, signal, sys, time
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it hangs, if it ever does
    import torch
    torch.set_num_threads(1)
    from mma_studio.core import atomic_write, backbone, feature_cache, features
    feature_cache.SHARD_ROWS = features.SHARD_ROWS = 8
    features.default_batch_size = lambda device: 8
    encode = backbone.Backbone.encode_images
    def encode_and_report(self, pixels):
        out = encode(self, pixels)
        print("encoded", len(pixels), flush=True)
        time.sleep(float(os.environ.get("MMA_TEST_BATCH_PAUSE", "0")))
        return out
    backbone.Backbone.encode_images = encode_and_report
    if os.environ.get("MMA_TEST_SLOW_WRITE"):
        fsync = os.fsync
        def slow_fsync(fd):
            fsync(fd)
            print("writing", flush=True)
            time.sleep(60)
        import types
        atomic_write.os = types.SimpleNamespace(**{**vars(os), "fsync": slow_fsync})  # only this module's writes
    from mma_studio.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")

# The child's pause after each encoded batch in the extraction tests: the kill must land while
# batches remain (5 of 9 after the 4th), so this test process, slow to wake on a loaded
# machine, has about a second to send it rather than a quarter of one.
EXTRACTION_BATCH_PAUSE_S = 0.2


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch, tmp_path):
    """No test here may reach a real host: the hub is a closed loopback port unless a test
    starts its own, and the Hugging Face cache is a temporary folder."""
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT_ENDPOINT)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults") / "data"
    make_class_dataset(root, ["ant", "bee", "cat", "dog", "eel", "fox"], per_class=12)
    return root


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory) -> dict:
    """The summary of an uninterrupted run in a fresh cache: what every resumed run must equal."""
    folder = tmp_path_factory.mktemp("reference")
    return _train_in_process(dataset, folder / "a.safetensors", folder / "cache", epochs=3)


def _train_argv(data: Path, output: Path, cache: Path, epochs: int) -> list:
    """The `train` command line every run here uses, in process or in a child (`--json -q`)."""
    return [
        "train",
        data,
        "-o",
        output,
        *TRAIN,
        "--epochs",
        str(epochs),
        "--patience",
        "0",
        "--cache-dir",
        cache,
        "--json",
        "-q",
    ]


def _train_in_process(data: Path, output: Path, cache: Path, epochs: int = 3) -> dict:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in _train_argv(data, output, cache, epochs)])
    assert code == 0, err.getvalue()
    assert "damaged" not in err.getvalue() and "Traceback" not in err.getvalue(), err.getvalue()
    return json.loads(out.getvalue().splitlines()[-1])


def _figures(summary: dict) -> dict:
    return {k: summary[k] for k in ("zero_shot", "adapted", "counts", "best_epoch", "base_classes", "new_classes")}


class Child:
    """The CLI in its own session, read line by line, stopped by a signal at a chosen line."""

    def __init__(self, argv: list, *, slow_write: bool = False, batch_pause: float = 0.0) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MMA_TEST_BATCH_PAUSE": str(batch_pause)}
        if slow_write:
            env["MMA_TEST_SLOW_WRITE"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, *map(str, argv)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []

    def wait_for(self, predicate, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if predicate(self.lines):
                return line
            if time.monotonic() > deadline:
                break
        self.kill()
        raise AssertionError(
            f"the child never reached the moment; it printed {self.lines[-5:]}, "
            f"stderr {self.process.stderr.read()[-2000:]}"
        )

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the CLI and its decode workers
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()

    def interrupt(self, timeout: float = 60.0) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        try:
            rest, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Not stopped (or a process still holds its pipes): say where every thread is.
            alive = self.process.poll() is None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGUSR1)
            time.sleep(2)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            rest, err = self.process.communicate(timeout=30)
            raise AssertionError(
                f"no exit {timeout:.0f} s after Ctrl+C (main process alive: {alive}); "
                f"last lines {(self.lines + rest.splitlines())[-3:]}; stderr:\n{err[-6000:]}"
            ) from None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # leftover workers, if any
        self.lines += rest.splitlines()
        return self.process.returncode, err


def count(prefix: str):
    return lambda n: lambda lines: sum(line.startswith(prefix) for line in lines) >= n


encoded_batches = count("encoded")
epoch_lines = count('{"event": "epoch"')


def assert_cache_verifies(cache_root: Path) -> int:
    """Every shard on disk passes its checksum; returns how many rows they hold."""
    cache = FeatureCache(cache_root)
    rows = 0
    for shard in cache_root.rglob("shard-*.safetensors"):
        loaded = cache._read_shard(shard)
        assert loaded is not None, f"{shard} does not verify"
        rows += len(loaded[0])
    return rows


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- SIGKILL


def test_sigkill_during_extraction_then_the_rerun_resumes_and_matches(dataset, reference, tmp_path):
    output, cache = tmp_path / "a.safetensors", tmp_path / "cache"
    child = Child(_train_argv(dataset, output, cache, 3), batch_pause=EXTRACTION_BATCH_PAUSE_S)
    child.wait_for(encoded_batches(4))
    child.kill()
    assert child.process.returncode == -signal.SIGKILL
    assert not output.exists()
    rows_before = assert_cache_verifies(cache)
    assert 0 < rows_before < 72  # stopped mid-extraction, with some batches safely cached
    summary = _train_in_process(dataset, output, cache)  # asserts no damaged shard was met
    assert _figures(summary) == _figures(reference)
    assert load_adapter_file(output).class_names == ["ant", "bee", "cat", "dog", "eel", "fox"]
    assert assert_cache_verifies(cache) >= 72


def test_sigkill_during_training_leaves_no_adapter_and_the_rerun_works(dataset, reference, tmp_path):
    output, cache = tmp_path / "a.safetensors", tmp_path / "cache"
    child = Child(_train_argv(dataset, output, cache, 100000))
    child.wait_for(epoch_lines(3))
    child.kill()
    assert not output.exists() and temp_files(tmp_path) == []
    assert assert_cache_verifies(cache) >= 72  # extraction had finished and was kept
    summary = _train_in_process(dataset, output, cache)
    assert _figures(summary) == _figures(reference)


def test_sigkill_while_the_adapter_is_written_keeps_the_previous_file(dataset, reference, tmp_path):
    output, cache = tmp_path / "a.safetensors", tmp_path / "cache"
    _train_in_process(dataset, output, cache, epochs=1)
    previous = output.read_bytes()
    child = Child(_train_argv(dataset, output, cache, 3), slow_write=True)
    child.wait_for(lambda lines: lines[-1] == "writing")  # temp file complete, not yet renamed
    leftovers = temp_files(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].name.startswith(f".{output.name}.")
    child.kill()
    assert output.read_bytes() == previous  # the previous complete file, byte for byte
    assert load_adapter_file(output).training["epochs_run"] == 1
    summary = _train_in_process(dataset, output, cache)  # the next write clears the dead writer's temp file
    assert temp_files(tmp_path) == []
    assert _figures(summary) == _figures(reference)
    assert load_adapter_file(output).training["epochs_run"] == 3


PROJECT_WRITER = textwrap.dedent(
    """
    import sys
    from mma_studio.core.project import Project, save_project
    i = 0
    while True:
        # alternate a small and a large document, so a torn write would show
        notes = {"padding": "x" * (200_000 if i % 2 else 10)}
        save_project(Project(name=f"version {i}", settings=notes), sys.argv[1])
        print(i, flush=True)
        i += 1
    """
)


def test_sigkill_at_random_moments_while_saving_a_project_never_tears_it(tmp_path):
    path = tmp_path / "p.mmaproj"
    rng = random.Random(1)
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-c", PROJECT_WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        last = -1
        for line in process.stdout:
            last = int(line)
            if last >= 3:
                break
        time.sleep(rng.uniform(0, 0.05))
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
        project = load_project(path)  # complete and valid, never half of one
        assert project.name.startswith("version ") and int(project.name.split()[1]) >= last
        assert project.settings["padding"] in ("x" * 10, "x" * 200_000)
    save_project(Project(name="after"), path)
    assert load_project(path).name == "after" and temp_files(tmp_path) == []


def test_abandoned_temp_files_are_removed_only_when_their_writer_is_gone(tmp_path):
    target = tmp_path / "a.safetensors"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = tmp_path / f".{target.name}.{dead.pid}.abc123.tmp"
    in_progress = tmp_path / f".{target.name}.{os.getppid()}.def456.tmp"  # a live process's write
    other = tmp_path / f".other.safetensors.{dead.pid}.ghi789.tmp"
    for path in (abandoned, in_progress, other):
        path.write_bytes(b"partial")
    atomic_write_module.write_bytes_atomically(target, b"complete")
    assert target.read_bytes() == b"complete"
    assert not abandoned.exists() and in_progress.exists() and other.exists()


# --------------------------------------------------------------------------- Ctrl+C


@pytest.mark.parametrize("moment", ["extraction", "training"])
def test_ctrl_c_cancels_cleanly_and_the_rerun_works(moment, dataset, reference, tmp_path):
    output, cache = tmp_path / "a.safetensors", tmp_path / "cache"
    epochs = 100000 if moment == "training" else 3
    child = Child(_train_argv(dataset, output, cache, epochs), batch_pause=EXTRACTION_BATCH_PAUSE_S)
    child.wait_for(encoded_batches(3) if moment == "extraction" else epoch_lines(2))
    code, err = child.interrupt()
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "mma-studio: cancelled" and "Traceback" not in err, err
    assert not output.exists() and temp_files(tmp_path) == []
    assert assert_cache_verifies(cache) > 0
    assert _figures(_train_in_process(dataset, output, cache)) == _figures(reference)


# --------------------------------------------------------------------------- a full disk


def _mount_tmpfs(folder: Path, size: str) -> bool:
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, timeout=30
    )
    return done.returncode == 0


def _unmount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


@pytest.fixture(params=["tmpfs", "injected"])
def small_disk(request, tmp_path, monkeypatch):
    """(folder, fill, free): a folder on a disk that `fill()` makes full and `free()` empties
    again. A real 1 MiB tmpfs where this process may mount one (root on Linux), otherwise
    writes fail with an injected ENOSPC while the disk is 'full'."""
    folder = tmp_path / "disk"
    if request.param == "tmpfs":
        if not _mount_tmpfs(folder, "1m"):
            pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
        request.addfinalizer(lambda: _unmount(folder))
        filler = folder / "filler.bin"

        def fill() -> None:
            with open(filler, "wb", buffering=0) as stream:
                for chunk in (65536, 4096, 1):  # down to the last byte
                    with contextlib.suppress(OSError):
                        while True:
                            stream.write(b"\0" * chunk)

        def free() -> None:
            filler.unlink()

        return folder, fill, free
    folder.mkdir()
    real_fsync = os.fsync

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    def fill() -> None:
        monkeypatch.setattr(atomic_write_module.os, "fsync", no_space)
        monkeypatch.setattr(feature_cache_module.os, "fsync", no_space)

    def free() -> None:
        monkeypatch.setattr(atomic_write_module.os, "fsync", real_fsync)
        monkeypatch.setattr(feature_cache_module.os, "fsync", real_fsync)

    return folder, fill, free


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "filler.bin"
    }


def test_a_full_disk_gives_one_clear_line_and_keeps_adapter_and_cache(small_disk, dataset, tmp_path, capsys):
    folder, fill, free = small_disk
    output, cache = folder / "a.safetensors", folder / "cache"
    argv = ["train", dataset, "-o", output, *TRAIN, "--epochs", "2", "--patience", "0", "--cache-dir", cache, "-q"]
    assert main([str(a) for a in argv]) == 0
    capsys.readouterr()
    before = _digests(folder)
    more = tmp_path / "more"  # new images: their features must be written to the full cache
    shutil.copytree(dataset, more)
    make_class_dataset(more, {"gnu": 12}, seed=5)
    fill()
    code = main([str(a) for a in ["train", more, *argv[2:]]])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith(f"mma-studio train: error: cannot write the adapter file {output} (")
    assert "No space left on device" in lines[-1] and lines[-1].endswith("the earlier file there is unchanged")
    assert any("warning:" in line and "not cached" in line and "intact" in line for line in lines), lines
    assert _digests(folder) == before  # adapter and every cache shard untouched, no temp file left
    assert assert_cache_verifies(cache) > 0 and load_adapter_file(output).class_names
    free()
    assert main([str(a) for a in ["train", more, *argv[2:]]]) == 0  # the next run works
    assert "gnu" in load_adapter_file(output).class_names


def test_a_full_disk_while_saving_a_project_keeps_the_earlier_one(small_disk):
    folder, fill, free = small_disk
    path = save_project(Project(name="earlier", settings={"shots": 16}), folder / "p.mmaproj")
    fill()
    with pytest.raises(OSError) as caught:
        save_project(Project(name="later", settings={"padding": "y" * 300_000}), path)
    assert caught.value.errno == errno.ENOSPC
    assert load_project(path).name == "earlier" and temp_files(folder) == []
    free()
    save_project(Project(name="later"), path)
    assert load_project(path).name == "later"


# --------------------------------------------------------------------------- network faults


def _weights_train_argv(dataset, output, model, pretrained, *extra) -> list:
    """`mma-studio train` on `dataset` into `output`: 3 shots and 2 validation images per class,
    quiet, with `extra` options."""
    return [
        "train",
        dataset,
        "-o",
        output,
        "--model",
        model,
        "--pretrained",
        pretrained,
        "--shots",
        "3",
        "--val-per-class",
        "2",
        *extra,
        "-q",
    ]


def _cli_error(capsys, argv) -> tuple[int, str, float]:
    started = time.monotonic()
    code = main([str(a) for a in argv])
    elapsed = time.monotonic() - started
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return code, lines[0], elapsed


@pytest.mark.parametrize("how", ["closed port", "HF_HUB_OFFLINE"])
def test_no_network_fails_fast_with_the_local_file_route_then_local_weights_work(
    how, dataset, tmp_path, capsys, monkeypatch
):
    import huggingface_hub

    if how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    downloads: list[tuple] = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *args, **kwargs: downloads.append(args))
    code, line, elapsed = _cli_error(
        capsys,
        _weights_train_argv(dataset, tmp_path / "a.safetensors", "ViT-B-16", "openai"),
    )
    assert code == 2  # and at once: no download was started (below), so no network timeout was waited for
    assert downloads == []
    assert "ViT-B-16" in line and "openai" in line and str(hub_cache_dir()) in line
    assert "--pretrained /path/to/weights.safetensors" in line
    assert ("unreachable" if how == "closed port" else "HF_HUB_OFFLINE") in line
    # the same command with local weights works offline, and so does predict with its adapter
    weights = tmp_path / "weights.safetensors"
    from safetensors.torch import save_file

    save_file(
        {k: v.contiguous() for k, v in load_backbone("mma-tiny", "random:5").model.state_dict().items()}, str(weights)
    )
    output = tmp_path / "a.safetensors"
    assert (
        main(
            [
                str(a)
                for a in _weights_train_argv(
                    dataset, output, "mma-tiny", weights, "--epochs", "2", "--cache-dir", tmp_path / "cache"
                )
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main([str(a) for a in ["predict", output, dataset / "ant" / "img_000.png", "-q", "--json"]]) == 0
    assert "top" in json.loads(capsys.readouterr().out)


@pytest.fixture
def fake_tag(monkeypatch):
    """An mma-tiny pretrained tag that open_clip resolves to a (fake, loopback) hub repo."""
    from tests.test_backbone import register_fake_tag

    register_fake_tag(monkeypatch, "faulttest")
    return "faulttest"


def test_a_download_cut_every_time_fails_clearly_then_resumes_when_the_hub_is_back(
    fake_tag, dataset, tmp_path, capsys, monkeypatch
):
    from tests.test_backbone import _FakeHub, fp16_bytes, random_state_dict

    class _CutsEveryDownload(_FakeHub):
        break_first_download = property(lambda self: True, lambda self, value: None)

    payload = fp16_bytes(random_state_dict(4))
    argv = _weights_train_argv(
        dataset, tmp_path / "a.safetensors", "mma-tiny", fake_tag, "--epochs", "2", "--cache-dir", tmp_path / "cache"
    )
    with _CutsEveryDownload(payload) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        code, line, elapsed = _cli_error(capsys, argv)
    assert code == 2
    assert sum(r.startswith("GET") for r in hub.requests) <= 10  # a bounded number of tries, then the message
    assert "download" in line and "failed" in line and "resumes" in line and "Local weights file" in line
    assert not (tmp_path / "a.safetensors").exists()
    with _FakeHub(payload) as hub:  # the hub is back: the download completes (resuming) and trains
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        assert main([str(a) for a in argv]) == 0
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_PORT_ENDPOINT)  # and later runs need no network
    assert main([str(a) for a in argv]) == 0


def test_a_corrupted_cached_weights_file_names_the_file_and_a_local_file_still_works(
    fake_tag, dataset, tmp_path, capsys
):
    from tests.test_backbone import put_in_hub_cache

    damaged = put_in_hub_cache("open_clip_model.safetensors", b"\x13\x00\x00\x00\x00\x00\x00\x00{broken")
    argv = _weights_train_argv(dataset, tmp_path / "a.safetensors", "mma-tiny", fake_tag)
    code, line, _ = _cli_error(capsys, argv)
    assert code == 2 and "damaged" in line and f"delete {damaged}" in line
    damaged.unlink()  # what the message says to do; offline, the tag now fails fast, clearly
    code, line, _ = _cli_error(capsys, argv)
    assert code == 2 and "unreachable" in line
