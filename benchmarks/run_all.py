"""Run every benchmark (each in its own process, one after another) and print one table:
figure, ours, baseline, ratio, target, met.

    python benchmarks/run_all.py            # the issue-6 sizes (tens of minutes on a 2-core CPU)
    python benchmarks/run_all.py --quick    # tiny sizes: checks every script runs
    python benchmarks/run_all.py --device cuda   # items 1-3 on the GPU, the rest as usual
    python benchmarks/run_all.py --markdown # the table as Markdown, with the machine (for the README)
    python benchmarks/run_all.py --save run.json; python benchmarks/run_all.py --render run.json --markdown

Scripts run one at a time so that they do not slow each other down; a script that fails is
reported as a failed row and the others still run. `--json` prints all rows as JSON lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench_common import Row, base_parser, log, machine_description, render_markdown, render_table

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = (
    ("attention_fast_path", True),  # (script, takes --device)
    ("cached_vs_encoders", True),
    ("extraction_throughput", True),
    ("photo_decoding", False),
    ("gui_responsiveness", False),
    ("gil_switch_interval", False),
    ("startup", False),
    ("memory_at_scale", False),
    ("data_doctor", False),
)


def run_script(name: str, extra: list[str], timeout: float) -> tuple[list[Row], float, str]:
    command = [sys.executable, os.path.join(HERE, f"{name}.py"), "--json", *extra]
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], time.monotonic() - started, f"timed out after {timeout:.0f}s"
    seconds = time.monotonic() - started
    rows = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            try:
                rows.append(Row.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                pass
    error = ""
    if done.returncode != 0 or not rows:
        tail = [line for line in done.stderr.strip().splitlines() if line.strip()][-3:]
        error = f"exit {done.returncode}: {' | '.join(tail)}"
    return rows, seconds, error


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0], device=True)
    parser.add_argument("--only", nargs="+", default=None, help="run only these scripts")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown with the machine")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per script")
    parser.add_argument("--save", default=None, help="also write the machine and all rows to this JSON file")
    parser.add_argument("--render", default=None, help="print the table of a file written by --save; run nothing")
    args = parser.parse_args(argv)

    if args.render:
        with open(args.render) as handle:
            saved = json.load(handle)
        return report(saved["machine"], [Row.from_dict(r) for r in saved["rows"]], args, saved.get("quick", False))

    machine = machine_description(args.device)
    log(f"run_all on {machine}")
    rows: list[Row] = []
    failures: list[str] = []
    for name, takes_device in SCRIPTS:
        if args.only and name not in args.only:
            continue
        extra = (["--quick"] if args.quick else []) + (["--threads", str(args.threads)] if args.threads else [])
        if takes_device:
            extra += ["--device", args.device]
        log(f"- {name} {' '.join(extra)}")
        script_rows, seconds, error = run_script(name, extra, args.timeout)
        log(f"  {len(script_rows)} row(s) in {seconds:.0f}s" + (f"; FAILED {error}" if error else ""))
        for row in script_rows:
            row.script = row.script or name
        rows += script_rows
        if error:
            failures.append(name)
            rows.append(Row(f"{name}: script failed", float("nan"), None, "", None, "runs", False, note=error))

    if args.save:
        with open(args.save, "w") as handle:
            json.dump({"machine": machine, "quick": args.quick, "rows": [r.to_dict() for r in rows]}, handle, indent=1)
    report(machine, rows, args, args.quick)
    return 1 if failures else 0


def report(machine: str, rows: list[Row], args, quick: bool) -> int:
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict()))
    elif args.markdown:
        print(f"Measured on: {machine}{' (--quick sizes)' if quick else ''}\n")
        print(render_markdown(rows))
    else:
        print(f"machine: {machine}")
        print(render_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
