"""Compare methods off the GUI thread: the engine's `compare_methods` in a `BackgroundTask`.

The request is the Train page's own (`TrainRequest`: data, roles, backbone, settings), so the
comparison runs on exactly the split and settings a training run would use; the engine is
imported on the worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from mma_studio.ui.workers.background_task import BackgroundTask
from mma_studio.ui.workers.training_worker import TrainRequest, build_run_settings, request_cache


def comparison_task(request: TrainRequest, methods: Sequence[str], seeds: Sequence[int], parent=None) -> BackgroundTask:
    """A not-yet-started task whose `succeeded` carries a `core.comparison.ComparisonResult`."""
    methods, seeds = list(methods), list(seeds)

    def run(on_progress, token):
        from mma_studio.core.comparison import compare_methods

        return compare_methods(
            request.scan,
            build_run_settings(request),
            methods,
            seeds,
            cache=request_cache(request),
            on_progress=on_progress,
            token=token,
            fixes=request.fixes,
        )

    return BackgroundTask(run, parent)
