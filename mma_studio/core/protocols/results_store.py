"""Finished (dataset, seed, method) cells of a reproduction, kept in `<out>/results.json` so
that a rerun continues where the last one stopped.

The file is rewritten atomically after every cell, so a killed run loses at most the cell in
progress. It records what every cell depends on beyond its own key (backbone, shots); a rerun
with other settings into the same folder is refused rather than mixed into one table.
"""

from __future__ import annotations

import json
from pathlib import Path

from mma_studio.core.atomic_write import write_text_atomically

RESULTS_NAME = "results.json"
FORMAT_VERSION = 1


class ResultsConflictError(ValueError):
    """The output folder holds results of other settings, or a results file that cannot be read."""


def cell_key(dataset: str, seed: int, method: str) -> str:
    return f"{dataset}|{int(seed)}|{method}"


class ResultsStore:
    def __init__(self, out_dir: Path | str, settings: dict) -> None:
        self.path = Path(out_dir) / RESULTS_NAME
        self.settings = dict(settings)
        self.cells: dict[str, dict] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        from mma_studio.core.protocols.protocol_files import MAX_RESULTS_FILE_BYTES, read_protocol_text
        from mma_studio.core.protocols.spec import ProtocolDataError

        try:
            text = read_protocol_text(self.path, MAX_RESULTS_FILE_BYTES, "a results file")
        except ProtocolDataError as exc:
            raise ResultsConflictError(f"{exc}; choose another --out folder") from exc
        try:
            data = json.loads(text)
            stored_settings, cells = data["settings"], data["cells"]
            if data.get("format") != FORMAT_VERSION or not isinstance(cells, dict):
                raise ValueError("unknown format")
        except (ValueError, KeyError, TypeError) as exc:
            raise ResultsConflictError(
                f"{self.path}: not a results file of this version ({exc}); choose another --out folder"
            ) from exc
        if stored_settings != self.settings:
            differ = sorted(
                k for k in {*stored_settings, *self.settings} if stored_settings.get(k) != self.settings.get(k)
            )
            raise ResultsConflictError(
                f"{self.path} holds results for other settings ({', '.join(f'{k}: {stored_settings.get(k)!r}' for k in differ)}, "
                f"now {', '.join(f'{self.settings.get(k)!r}' for k in differ)}); choose another --out folder"
            )
        self.cells = cells

    def has(self, dataset: str, seed: int, method: str) -> bool:
        return cell_key(dataset, seed, method) in self.cells

    def get(self, dataset: str, seed: int, method: str) -> dict | None:
        return self.cells.get(cell_key(dataset, seed, method))

    def put(self, cell: dict) -> None:
        self.cells[cell_key(cell["dataset"], cell["seed"], cell["method"])] = cell
        self.save()

    def save(self) -> None:
        payload = {"format": FORMAT_VERSION, "settings": self.settings, "cells": self.cells}
        write_text_atomically(self.path, json.dumps(payload, indent=1, sort_keys=True))
