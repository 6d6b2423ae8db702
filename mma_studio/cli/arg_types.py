"""Argument types that refuse an unusable value while parsing, with the accepted range.

A value outside its range is a plain user mistake: argparse prints the sub-command's usage and
the reason and exits 2, before anything is imported, read or allocated.
"""

from __future__ import annotations

import argparse
import math
import re

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,3})?")


def whole_number(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: use {low} to {high}")
        return value

    parse.__name__ = "whole number"
    return parse


def finite_number(low: float, high: float, *, above_low: bool = False):
    """A float in [low, high] (or (low, high] with `above_low`); nan and inf are refused."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if value < low or value > high or (above_low and value == low):
            bracket = "(" if above_low else "["
            raise argparse.ArgumentTypeError(f"{text} is out of range: use a number in {bracket}{low:g}, {high:g}]")
        return value

    parse.__name__ = "number"
    return parse


def device_name(text: str) -> str:
    if not _DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device: use auto, cpu, cuda, cuda:N or mps")
    return text


def class_list(text: str) -> list[str]:
    """Comma-separated names; a list with no name in it (",") is a mistake, not "the default"."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no class: give comma-separated names, e.g. 'cat,dog'")
    return names
