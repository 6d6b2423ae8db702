"""Decode workers forked from a thread that Python knows only as a dummy (a QThread in the app)
end cleanly when `start_loader_iterator` starts them (see `core/decode_workers.py`)."""

from __future__ import annotations

import _thread
import sys
import threading

import pytest
from torch.utils.data import DataLoader

from mma_studio.core.decode_workers import start_loader_iterator


def _worker_exit_codes(start, loaders: int = 2) -> list[list[int]]:
    """Iterate `loaders` two-worker loaders one after the other on a thread that Python did not
    make (as Qt makes its threads), started by `start`; each loader's workers' exit codes."""
    codes: list[list[int]] = []
    finished = threading.Event()

    def on_a_foreign_thread() -> None:
        try:
            for _ in range(loaders):
                iterator = start(DataLoader(list(range(8)), batch_size=2, num_workers=2))
                assert [int(batch.sum()) for batch in iterator] == [1, 5, 9, 13]
                workers = list(iterator._workers)
                iterator._shutdown_workers()
                for worker in workers:
                    worker.join(30)
                codes.append([worker.exitcode for worker in workers])
        finally:
            finished.set()

    _thread.start_new_thread(on_a_foreign_thread, ())
    assert finished.wait(120)
    return codes


@pytest.mark.skipif(sys.platform == "win32", reason="workers are spawned, not forked, on Windows")
def test_workers_started_from_a_foreign_thread_exit_with_0_where_a_plain_iter_gives_1():
    plain = _worker_exit_codes(iter)
    if plain == [[0, 0], [0, 0]]:
        pytest.skip("this Python or start method does not show the exit code 1 of a dummy thread's fork")
    assert plain[1] == [1, 1], plain  # the second loader's: its thread had become a dummy thread
    assert _worker_exit_codes(start_loader_iterator) == [[0, 0], [0, 0]]


def test_a_loader_without_workers_starts_as_before():
    loader = DataLoader(list(range(4)), batch_size=2, num_workers=0)
    assert [int(batch.sum()) for batch in start_loader_iterator(loader)] == [1, 5]


def test_an_error_while_starting_reaches_the_caller(monkeypatch):
    loader = DataLoader(list(range(4)), batch_size=2, num_workers=1)

    def refuse(self):
        raise OSError("no fork")

    monkeypatch.setattr(DataLoader, "__iter__", refuse)
    errors: list[BaseException] = []
    finished = threading.Event()

    def on_a_worker_thread() -> None:
        try:
            start_loader_iterator(loader)
        except OSError as exc:
            errors.append(exc)
        finally:
            finished.set()

    threading.Thread(target=on_a_worker_thread).start()
    assert finished.wait(30)
    assert [str(error) for error in errors] == ["no fork"]
