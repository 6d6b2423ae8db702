"""How many training shots and validation images per class a dataset's smallest base class
can give: the sizes "too few images" advice names and the app's one-click fix applies.

Below both the scan (`dataset.dataset_advice`) and the split (`split.make_split`), which word
their messages with it.
"""

from __future__ import annotations

TEST_SHARE = 0.2  # of the smallest base class, kept for testing when the sizes are fitted


def fitting_sample_sizes(smallest: int, shots: int, val_per_class: int) -> tuple[int, int] | None:
    """The largest (shots, validation) within the asked-for ones that a base class of
    `smallest` images can give, still leaving about a fifth of it for testing; None when not
    even 1 shot + 1 validation image fits.

    The paper's protocol is 16 shots; users' folders often hold 10 or 15 images a class, and
    "lower the number of shots" is only useful advice with a number in it.
    """
    if smallest >= shots + val_per_class:
        return shots, val_per_class
    for test in (max(1, round(TEST_SHARE * smallest)), 0):
        budget = smallest - test
        val = min(val_per_class, max(1, budget // 4)) if val_per_class else 0
        fitted = min(shots, budget - val)
        if fitted >= 1:
            return fitted, val
    return None


def fitting_sizes_hint(smallest: int, shots: int, val_per_class: int) -> str:
    """' (6 shots + 2 validation images fit)' for messages; '' when nothing smaller fits."""
    fitted = fitting_sample_sizes(smallest, shots, val_per_class)
    if fitted is None or fitted == (shots, val_per_class):
        return ""
    return f" ({fitted[0]} shots + {fitted[1]} validation images per class fit)"
