"""Import torch, open_clip and their kin without stalling the app's other threads.

Python threads share one interpreter lock (the GIL). A worker thread importing torch and
open_clip held it for up to ~0.3 s at a stretch, so the window froze as a run started (issue 12
§6). Two things in C code hold it without handing it over:

1. The import system's `dlopen` of `torch._C`, which loads libtorch_cpu and libtorch_cuda (about
   1 GB of shared libraries: relocation and static initialisers): ~290 ms.
2. Full garbage collections triggered by the hundreds of thousands of objects the imports
   create, each walking every object in the process: 70-150 ms each.

This finder, once installed, handles both for the packages in `HEAVY_PACKAGES`, whichever thread
and whichever code imports them first. Before torch is executed it loads torch's own libraries
through libc's `dlopen` called via ctypes, which releases the GIL for a foreign call; the import
system's `dlopen` of `torch._C` then finds them loaded. While a heavy import runs, automatic
collection is paused; afterwards the objects it made are frozen (`gc.freeze`) so that later
full collections do not walk them either. Any step that is not possible on a platform is
skipped, and the import then simply behaves as without the finder.

Measured (2 cores, a 5 ms ticker on the main thread, another thread importing torch and
open_clip): the largest gap went from 295 ms to 28 ms (`benchmarks/gui_responsiveness.py`
measures it in the app).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mma_studio.core.collector_pause import collector_paused

if TYPE_CHECKING:  # importlib.abc and pathlib cost ~6 ms of the app's start-up; only types here
    import importlib.machinery
    from types import ModuleType

HEAVY_PACKAGES = frozenset({"torch", "torchvision", "open_clip", "timm", "onnx", "onnxruntime"})

# torch's libraries that `torch._C` links against, in the order torch itself would load them:
# `libtorch_global_deps` first and process-wide (torch's `_load_global_deps` does the same),
# then `libtorch`, which pulls in libtorch_cpu, libtorch_cuda and the CUDA libraries.
_TORCH_LIBRARIES = (("libtorch_global_deps", True), ("libtorch", False), ("libc10_cuda", False), ("libshm", False))

_lock = threading.Lock()
_heavy_imports_running = 0


def install_quiet_heavy_imports() -> None:
    """Put the finder first on `sys.meta_path` (once; later calls do nothing)."""
    if not any(isinstance(finder, QuietHeavyImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietHeavyImportFinder())


class QuietHeavyImportFinder:
    """A meta path finder (`find_spec` is all the import system asks of one) that finds nothing
    itself: it asks the finders after it, then wraps the found module's execution so the
    import does not hold the GIL for long stretches."""

    def __init__(self, packages: frozenset[str] = HEAVY_PACKAGES) -> None:
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.packages:
            return None
        spec = _spec_from_other_finders(self, fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader: Any = spec.loader
        execute = loader.exec_module

        def exec_module_quietly(module: ModuleType) -> None:
            if module.__name__ != fullname:  # a loader shared by many modules (PyInstaller's)
                execute(module)
                return
            with contextlib.suppress(AttributeError):
                del loader.exec_module  # once: the class's own method again
            with collection_paused():
                if fullname == "torch":
                    preload_torch_libraries(spec.submodule_search_locations or ())
                execute(module)

        # An instance attribute, removed when the module runs: the loader is left as it was.
        try:
            loader.exec_module = exec_module_quietly
        except (AttributeError, TypeError):  # a loader without instance attributes: import as is
            pass
        return spec


def _spec_from_other_finders(
    me: object, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    for finder in sys.meta_path:
        if finder is me:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic garbage collection until the outermost heavy import ends; then freeze what
    exists (modules, functions, classes: alive as long as the process) and resume (a pause
    counted with any other, `collector_pause`)."""
    global _heavy_imports_running
    with collector_paused():
        with _lock:
            _heavy_imports_running += 1
        try:
            yield
        finally:
            with _lock:
                _heavy_imports_running -= 1
                if _heavy_imports_running == 0:
                    gc.freeze()


def preload_torch_libraries(package_folders: Sequence[str]) -> int:
    """Load torch's shared libraries with the GIL released; how many loaded. Stops at the first
    one that does not load (torch's own import then finds and reports the problem)."""
    if sys.platform == "win32":  # torch loads its DLLs through ctypes calls there already
        return 0
    dlopen = _libc_dlopen()
    if dlopen is None or not package_folders:
        return 0
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    library_folder = os.path.join(package_folders[0], "lib")
    loaded = 0
    for name, process_wide in _TORCH_LIBRARIES:
        library = os.path.join(library_folder, f"{name}{suffix}")
        if not os.path.isfile(library):
            continue
        mode = os.RTLD_NOW | (os.RTLD_GLOBAL if process_wide else os.RTLD_LOCAL)
        if not dlopen(os.fsencode(library), mode):
            break
        loaded += 1
    return loaded


def _libc_dlopen() -> Callable[[bytes, int], int | None] | None:
    """libc's `dlopen` as a ctypes function (ctypes releases the GIL while it runs)."""
    try:
        import ctypes

        function = ctypes.CDLL(None).dlopen
    except (OSError, AttributeError, ImportError):
        return None
    function.argtypes = (ctypes.c_char_p, ctypes.c_int)
    function.restype = ctypes.c_void_p
    return function
