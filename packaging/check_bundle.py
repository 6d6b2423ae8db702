"""Smoke-test a built bundle: it starts, and its CLI trains, exports and predicts with `mma-tiny`.

    python packaging/check_bundle.py dist/mma-studio

Runs the packaged executable, never the source tree, each time with a fresh HOME and cache:
1. `--version`;
2. the desktop app with Qt's offscreen platform: still running after a while, no traceback
   (the Train page and the backbone list, which import torch, are built in that time);
3. `train` on a small generated dataset (mma-tiny; the shipped `shapes` weights when the
   bundle has them, else random weights), which writes the adapter file, then `predict` with it;
4. the same `train` with stdout and stderr closed, as a windowed build runs on Windows and
   macOS: progress bars and logging must not crash it.

Prints one line per check and a JSON summary; exits non-zero when a check fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP_START_S = 25.0  # the app must still be running (not crashed) this long after start
CLASSES = ("red square", "green circle", "blue triangle", "yellow star")


def write_dataset(root: Path, per_class: int = 8) -> Path:
    """Small colour-per-class images (Pillow), enough for a few epochs of mma-tiny."""
    import random

    from PIL import Image

    rng = random.Random(0)
    colours = [(220, 40, 40), (40, 200, 60), (40, 70, 220), (230, 210, 40)]
    for name, colour in zip(CLASSES, colours):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            jitter = tuple(max(0, min(255, c + rng.randint(-30, 30))) for c in colour)
            Image.new("RGB", (32, 32), jitter).save(folder / f"{i:03d}.png")
    return root


def isolated_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "QT_", "PYTHON"))}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        HF_HUB_OFFLINE="1",
        QT_QPA_PLATFORM="offscreen",
    )
    return env


def close_std_streams() -> None:  # runs in the child before exec
    os.close(1)
    os.close(2)


def main(argv: list[str]) -> int:
    bundle = Path(argv[0] if argv else "dist/mma-studio").resolve()
    exe = bundle / ("mma-studio.exe" if sys.platform == "win32" else "mma-studio")
    if not exe.is_file():
        print(f"no executable at {exe}", file=sys.stderr)
        return 2
    results: dict = {"bundle": str(bundle)}
    failures: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="mma-bundle-check-"))
    env = isolated_env(work / "home")

    def run(*args: str, timeout: float = 600, closed: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(exe), *args],
            env=env,
            cwd=work,
            timeout=timeout,
            text=True,
            stdout=None if closed else subprocess.PIPE,
            stderr=None if closed else subprocess.PIPE,
            preexec_fn=close_std_streams if closed else None,
        )

    def check(name: str, ok: bool, detail: str = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        results[name] = {"ok": ok, "detail": detail}
        if not ok:
            failures.append(name)

    started = time.perf_counter()
    version = run("--version", timeout=120)
    check(
        "version",
        version.returncode == 0 and "mma-studio" in version.stdout,
        f"{version.stdout.strip()} in {time.perf_counter() - started:.1f} s",
    )

    app = subprocess.Popen([str(exe)], env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(APP_START_S)
    alive = app.poll() is None
    app.terminate()
    try:
        out, err = app.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        app.kill()
        out, err = app.communicate()
    crashed = "Traceback" in (err or "")
    check(
        "app starts (offscreen)",
        alive and not crashed,
        f"running after {APP_START_S:.0f} s" if alive else f"exited with {app.returncode}: {err.strip()[-800:]}",
    )
    if err.strip():
        results["app stderr"] = err.strip()[-2000:]

    data = write_dataset(work / "data")
    has_demo = any((bundle / "_internal" / "mma_studio" / "resources").glob("mma-tiny-shapes.safetensors")) or any(
        bundle.rglob("mma-tiny-shapes.safetensors")
    )
    weights = "shapes" if has_demo else "random"
    common = [
        "--model",
        "mma-tiny",
        "--pretrained",
        weights,
        "--device",
        "cpu",
        "--shots",
        "2",
        "--val-per-class",
        "2",
        "--epochs",
        "5",
        "--patience",
        "0",
    ]
    adapter = work / "adapter.safetensors"
    started = time.perf_counter()
    train = run("train", str(data), "-o", str(adapter), *common, "--cache-dir", str(work / "features"))
    elapsed = time.perf_counter() - started
    check(
        "train + export (mma-tiny, " + weights + ")",
        train.returncode == 0 and adapter.is_file(),
        f"{elapsed:.1f} s, {adapter.stat().st_size / 1024:.0f} KiB adapter"
        if adapter.is_file()
        else (train.stderr.strip()[-800:] or f"exit {train.returncode}"),
    )
    if train.returncode == 0:
        results["train stdout"] = train.stdout.strip()

    if adapter.is_file():
        predict = run("predict", str(adapter), str(data / CLASSES[0] / "000.png"), "--json", "--top-k", "2")
        ok = predict.returncode == 0
        detail = predict.stderr.strip()[-400:]
        if ok:
            line = json.loads(predict.stdout.strip().splitlines()[-1])
            ok = bool(line.get("top"))
            detail = f"top: {line['top'][0]['label']} {100 * line['top'][0]['probability']:.0f}%"
        check("predict with the exported adapter", ok, detail)

    silent = work / "silent.safetensors"
    quiet = run("train", str(data), "-o", str(silent), *common, "--cache-dir", str(work / "features-2"), closed=True)
    check(
        "train with stdout and stderr closed (windowed build)",
        quiet.returncode == 0 and silent.is_file(),
        f"exit {quiet.returncode}",
    )

    size = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink())
    results["bundle_bytes"] = size
    print(f"bundle: {size / 2**30:.2f} GiB in {sum(1 for _ in bundle.rglob('*'))} files")
    print(json.dumps(results, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
