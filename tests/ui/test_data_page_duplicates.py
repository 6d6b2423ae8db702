"""The Data page shows the scan's guards of issue 11: class names that read the same (an error
until renamed) in the advice, and images counted more than once in the health report."""

from __future__ import annotations

import shutil

import pytest

from mma_studio.ui.app_state import AppState
from mma_studio.ui.data.data_page import DataPage
from tests.image_factory import make_class_dataset

SCAN_TIMEOUT_MS = 20_000


@pytest.fixture
def page(qtbot):
    page = DataPage(AppState())
    qtbot.addWidget(page)
    page.resize(1200, 800)
    yield page
    assert page.stop_and_wait(5000)


def test_colliding_names_and_copies_are_shown_and_a_rename_clears_the_error(qtbot, page, tmp_path):
    root = tmp_path / "d"
    made = make_class_dataset(root, ["golden_retriever", "golden-retriever", "dog", "eel"], per_class=3)
    copy = root / "eel" / "copy.png"
    shutil.copyfile(made["dog"][0], copy)
    page.open_folder(root)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=SCAN_TIMEOUT_MS)

    errors = [m for m in page.warnings.messages() if m.startswith("Cannot train:")]
    assert (
        len(errors) == 1 and str(root / "golden_retriever") in errors[0] and str(root / "golden-retriever") in errors[0]
    )
    assert any("counted more than once" in m for m in page.warnings.messages())

    dialog = page.health_report_dialog()
    qtbot.addWidget(dialog)
    rows = {
        dialog.table.item(r, 0).data(0x0100): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())
    }
    assert rows[str(copy)] == "identical copy of dog/img_000.png: counted more than once"
    assert "counted more than once" in dialog._summary.text()

    page._state.rename_class("golden-retriever", "golden retriever puppy")
    qtbot.waitUntil(lambda: not any(m.startswith("Cannot train:") for m in page.warnings.messages()), timeout=5000)
