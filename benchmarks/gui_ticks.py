"""What a gap between two GUI-timer ticks was made of, shared by the benchmarks and the tests.

Each tick records (wall clock, the GUI thread's CPU time, its time waiting for a CPU). The
gap between two ticks then splits into *working* (our GUI-thread code), *waiting for a CPU*
(the OS ran other threads or processes: a shared, oversubscribed machine) and *blocked* (the
rest: the GIL or a lock held by another thread of ours).
"""

from __future__ import annotations


def runqueue_wait_s() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; else 0)."""
    try:
        with open("/proc/thread-self/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def split_gap(a: tuple[float, float, float], b: tuple[float, float, float]) -> dict:
    """The gap between ticks `a` and `b`, split into working / waiting for a CPU / blocked (seconds)."""
    gap, working, waiting = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    return {
        "gap": gap,
        "working": working,
        "waiting_for_cpu": waiting,
        "blocked": max(0.0, gap - working - waiting),
    }
