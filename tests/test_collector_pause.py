"""`collector_paused`: counted pauses of the cyclic garbage collector, from any thread."""

from __future__ import annotations

import gc
import threading

import pytest

from mma_studio.core.collector_pause import collector_paused


@pytest.fixture(autouse=True)
def _collector_restored():
    was_enabled = gc.isenabled()
    yield
    (gc.enable if was_enabled else gc.disable)()


def test_a_pause_ends_with_the_last_of_nested_and_overlapping_ones():
    gc.enable()
    outer = collector_paused()
    outer.__enter__()
    assert not gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the inner end does not end the outer pause

    other_thread_done = threading.Event()

    def other_thread():
        with collector_paused():
            pass
        other_thread_done.set()

    threading.Thread(target=other_thread).start()
    assert other_thread_done.wait(10)
    assert not gc.isenabled()  # nor does another thread's
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_collection_stays_off_after_a_pause_if_it_was_off_before_and_resumes_after_an_error():
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()

    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failure inside")
    assert gc.isenabled()


def test_a_heavy_import_s_pause_ends_when_it_does_not_when_the_other_pause_does():
    """quiet_heavy_imports shares the count: a heavy import finishing does not end a pause that
    the GUI thread still holds."""
    from mma_studio.core.quiet_heavy_imports import collection_paused

    gc.enable()
    with collector_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
