"""What the CLI prints: results on stdout (text or one JSON object a line), notes on stderr."""

from __future__ import annotations

import json
import math
import sys


def percent(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "  —  "
    return f"{100 * value:5.1f}%"


def print_json(data) -> None:
    print(json.dumps(data, default=str), flush=True)


def eprint(*parts) -> None:
    if sys.stderr is not None:
        print(*parts, file=sys.stderr, flush=True)


def figures_table(summary: dict) -> str:
    zero, adapted = summary["zero_shot"], summary["adapted"]
    rows = ["              base     new      HM     all",
            f"zero-shot   {percent(zero['base'])}  {percent(zero['new'])}  {percent(zero['hm'])}  {percent(zero['all'])}",
            f"adapted     {percent(adapted['base'])}  {percent(adapted['new'])}  {percent(adapted['hm'])}  {percent(adapted['all'])}"]
    return "\n".join(rows)
