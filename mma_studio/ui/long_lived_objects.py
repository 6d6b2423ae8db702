"""Keep Python's full garbage collections from stalling the GUI thread at a run's end.

Once a run has loaded the backbone (torch, open_clip) and a large dataset, the process holds
about half a million objects that live as long as the app. A full (oldest-generation)
collection walks every one of them, holding the GIL: 150-350 ms on two busy cores. The
end-of-run work allocates enough (a 20,000-image run's record and results) to trigger one, so
it fell on the GUI thread at the run's end (profiled: 350 of a 440 ms end-of-run slot).

`gc.freeze()` moves the objects alive now out of the collector's reach: later collections
walk only what was made since. Reference counting still frees frozen objects as before; only a
reference cycle among them would stay in memory (the app's long-lived objects are modules,
widgets and the loaded model, which are not garbage).
"""

from __future__ import annotations

import gc


def freeze_long_lived_objects() -> None:
    """Exclude every object alive now from future full collections (cheap: no walk)."""
    gc.freeze()
