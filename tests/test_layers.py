"""The front ends are thin (issue 14 item 1; docs/ARCHITECTURE.md): every user operation is one
engine call that the app's workers and the command line's sub-commands make alike, so

- nothing under `mma_studio/ui` or `mma_studio/cli` writes, moves or deletes a file itself (the
  engine writes every user file, atomically), nor converts a path it stores (relative to a
  project file and back is `core.project_store` / `core.split_paths`);
- the command line imports no model, tensor or pixel library (torch, open_clip, numpy, PIL,
  safetensors, onnx): work on models, features or images is an engine step; the app may use
  numpy for plots and PIL to hand pixels to Qt, but not the model libraries either.

An AST walk finds the calls; the allow-list below names each exception and why it is not one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FRONT_ENDS = ("mma_studio/ui", "mma_studio/cli")

# Calls, by their imported name, that write, move or delete files.
WRITING_CALLS = {
    f"os.{name}"
    for name in (
        "replace",
        "rename",
        "renames",
        "remove",
        "unlink",
        "rmdir",
        "removedirs",
        "mkdir",
        "makedirs",
        "truncate",
        "open",
        "link",
        "symlink",
        "chmod",
        "mkfifo",
    )
} | {"json.dump", "pickle.dump", "torch.save", "numpy.save", "numpy.savez", "numpy.savetxt", "io.open"}
WRITING_MODULES = ("shutil", "tempfile", "mma_studio.core.atomic_write")  # every call or import of these
# Methods that write whatever their receiver is (Path, QFile, ...): the name alone says so
# (not `rename` or `replace`: a class is renamed and strings replace; `os.rename` is above).
WRITING_METHODS = {
    "write_text",
    "write_bytes",
    "mkdir",
    "unlink",
    "rmdir",
    "touch",
    "symlink_to",
    "hardlink_to",
    "chmod",
}
# Turning a path into one relative to somewhere else (or back): how paths are stored.
PATH_CONVERSIONS = {
    "os.path.relpath",
    "mma_studio.core.project.relative_to_project",
    "mma_studio.core.project.resolve_from_project",
}
PATH_CONVERSION_METHODS = {"relative_to"}
PATH_CONVERSION_MODULES = ("mma_studio.core.split_paths",)
ENGINE_LIBRARIES = {
    "mma_studio/cli": ("torch", "open_clip", "numpy", "PIL", "safetensors", "onnx", "onnxruntime"),
    "mma_studio/ui": ("torch", "open_clip", "safetensors", "onnx", "onnxruntime"),
}

# (file, what) -> why this is not a user file written, nor a stored path converted.
ALLOWED = {
    (
        "mma_studio/ui/data/class_table.py",
        "relative_to",
    ): "display only: a class folder shown as `Pets/cat` or `~/...` in the table, never stored",
    (
        "mma_studio/ui/data/health_report.py",
        "os.path.relpath",
    ): "display only: the other paths of a duplicate, shortened for reading, never stored",
    (
        "mma_studio/ui/dialogs/settings_dialog.py",
        "mkdir",
    ): "the feature cache's own folder (app data, not a user file), made so the file manager can show it",
    (
        "mma_studio/cli/output.py",
        "os.open",
    ): "/dev/null put in place of a closed stdout, so later prints are dropped: not a file",
    (
        "mma_studio/cli/commands/train.py",
        "mma_studio.core.atomic_write",
    ): "`ensure_writable`: before minutes of training, the engine's own check that the adapter file can be "
    "written there (it leaves nothing behind); the writing is `TrainingRun.save` / the export set",
}


def _import_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted name it was imported as (every import in the module, nested too)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    names[head] = head
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    """`a.b.c` for a name or an attribute chain, its head replaced by what it was imported as."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(names.get(node.id, node.id))
    return ".".join(reversed(parts))


def _mode_writes(call: ast.Call, position: int) -> bool:
    """Whether an `open` call's mode (argument `position`, or `mode=`) may write: a constant mode
    with w, a, x or +, or a mode that is not a constant (it cannot be shown to only read)."""
    mode: ast.AST | None = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    if mode is None:
        return False
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return any(flag in mode.value for flag in "wax+")
    return True


def _in_module(dotted: str, modules: tuple[str, ...]) -> str | None:
    return next((module for module in modules if dotted == module or dotted.startswith(module + ".")), None)


def findings(source: str, front_end: str) -> Iterator[tuple[int, str, str]]:
    """(line, what, rule) for each file write, stored-path conversion or engine library in `source`."""
    tree = ast.parse(source)
    names = _import_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([f"{node.module}.{a.name}" for a in node.names] if node.module and node.level == 0 else [])
            )
            for module in modules:
                library = _in_module(module, ENGINE_LIBRARIES[front_end])
                if library:
                    yield node.lineno, library, "imports an engine library"
                for found, rule in (
                    (_in_module(module, WRITING_MODULES), "imports a file writer"),
                    (_in_module(module, PATH_CONVERSION_MODULES), "imports a path conversion"),
                ):
                    if found:
                        yield node.lineno, found, rule
            continue
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func, names) or ""
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if dotted == "open" and _mode_writes(node, 1):
            yield node.lineno, "open", "opens a file for writing"
        elif method == "open" and dotted != "os.open" and _mode_writes(node, 0):
            yield node.lineno, ".open", "opens a file for writing"
        elif dotted in WRITING_CALLS:
            yield node.lineno, dotted, "writes a file"
        elif _in_module(dotted, WRITING_MODULES):
            yield node.lineno, _in_module(dotted, WRITING_MODULES) or dotted, "writes a file"
        elif method in WRITING_METHODS:
            yield node.lineno, method, "writes a file"
        elif dotted in PATH_CONVERSIONS:
            yield node.lineno, dotted, "converts a stored path"
        elif method in PATH_CONVERSION_METHODS:
            yield node.lineno, method, "converts a stored path"


def _front_end_files() -> Iterator[tuple[str, str, Path]]:
    for front_end in FRONT_ENDS:
        for path in sorted((REPO / front_end).rglob("*.py")):
            yield front_end, path.relative_to(REPO).as_posix(), path


def test_the_front_ends_write_no_file_and_convert_no_stored_path():
    broken, used = [], set()
    for front_end, name, path in _front_end_files():
        for line, what, rule in findings(path.read_text(encoding="utf-8"), front_end):
            if (name, what) in ALLOWED:
                used.add((name, what))
            else:
                broken.append(f"{name}:{line}: {rule} ({what})")
    assert not broken, (
        "the app and the command line call the engine for this (one engine call per user "
        "operation; see docs/ARCHITECTURE.md), or add a justified ALLOWED entry:\n  " + "\n  ".join(broken)
    )
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"ALLOWED entries that match nothing any more (remove them): {stale}"


def test_the_checker_finds_what_it_is_for():
    """Each kind of breach in a sample is found (so the test above can fail), and reads are not."""
    sample = """
import os, shutil, json
from pathlib import Path
from os.path import relpath as rel
from mma_studio.core.atomic_write import write_text_atomically
import torch

def bad(path, data, mode):
    open(path, "w").write(data)
    open(path, mode)
    Path(path).open("ab")
    Path(path).write_text(data)
    os.replace(path, path)
    shutil.copy(path, path)
    json.dump(data, open(path, "x"))
    Path(path).mkdir()
    rel(path, "/")
    Path(path).relative_to("/")

def fine(path, dialog):
    open(path).read()
    open(path, "rb").read()
    Path(path).read_text()
    dialog.open()
    json.dumps({})
    "a-b".replace("-", "")
"""
    found = [(line, what) for line, what, _rule in findings(sample, "mma_studio/cli")]
    whats = [what for _line, what in found]
    for expected in (
        "mma_studio.core.atomic_write",
        "torch",
        "open",
        ".open",
        "write_text",
        "os.replace",
        "shutil",
        "json.dump",
        "mkdir",
        "os.path.relpath",
        "relative_to",
    ):
        assert expected in whats, expected
    assert whats.count("open") == 3  # "w", a mode that is not a constant, and json.dump's "x"
    fine_from = sample.splitlines().index("def fine(path, dialog):") + 1
    assert all(line < fine_from for line, _what in found)
    assert [w for _l, w, _r in findings("import numpy as np\nfrom PIL import Image\n", "mma_studio/ui")] == []
    assert [w for _l, w, _r in findings("import numpy as np\n", "mma_studio/cli")] == ["numpy"]
