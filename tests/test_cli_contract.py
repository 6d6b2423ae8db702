"""The command line's contract (issue 13 items 5-9, issue 11 items 12-17): fast help, honest
progress bars, strict flags, one-line reasons with exit 2 for plain mistakes, Unix pipe
behaviour, permission errors that name the file, escaped names, the formats Pillow can open.

Runs call `mma_studio.cli.main` in-process with `--model mma-tiny --pretrained random`; the
few that need a real process (stdout closed, a broken pipe, start-up imports) start one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mma_studio.cli import main

REPO = Path(__file__).resolve().parents[1]
TINY = ["--model", "mma-tiny", "--pretrained", "random"]


def run(capsys, argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, env=env,
                          cwd=REPO, **kwargs)


# --------------------------------------------------------------------------- item 5: fast help


def test_help_and_version_import_no_torch_open_clip_or_numpy():
    script = ("import contextlib, io, sys\n"
              "from mma_studio.cli import main\n"
              "for argv in (['--version'], ['--help'], *[[c, '--help'] for c in "
              "('check', 'train', 'eval', 'predict', 'example')]):\n"
              "    with contextlib.redirect_stdout(io.StringIO()):\n"
              "        try: main(argv)\n"
              "        except SystemExit: pass\n"
              "print(sorted(m for m in ('torch', 'open_clip', 'numpy', 'PIL', 'tqdm') if m in sys.modules))\n")
    done = python("-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_light_defaults_are_the_engines_defaults():
    from mma_studio.core import run_defaults
    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.pipeline import RunSettings
    from mma_studio.core.training import TrainConfig

    training, adapter, settings = TrainConfig(), AdapterConfig(), RunSettings()
    assert {k: getattr(training, k) for k in run_defaults.TRAINING_DEFAULTS} == run_defaults.TRAINING_DEFAULTS
    assert {k: getattr(adapter, k) for k in run_defaults.ADAPTER_DEFAULTS} == run_defaults.ADAPTER_DEFAULTS
    assert (settings.model, settings.pretrained) == (run_defaults.DEFAULT_MODEL, run_defaults.DEFAULT_PRETRAINED)
    assert settings.templates == list(run_defaults.DEFAULT_TEMPLATES)
