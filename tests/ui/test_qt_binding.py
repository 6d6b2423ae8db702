"""The installed Qt binding must not leak or steal references (PySide6 6.12 on Python 3.11 did)."""

import sys

from PySide6.QtWidgets import QLabel


def test_calls_returning_none_keep_the_reference_count_of_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    # A few references may come and go elsewhere; 2000 lost ones would abort the app later.
    assert sys.getrefcount(None) >= before - 50
