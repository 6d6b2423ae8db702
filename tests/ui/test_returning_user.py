"""Issue 12 §2: a returning user finds their work. The last project opens at launch (a setting,
on by default, in the Settings dialog), and reopening a project restores the page, the Train
page's Result card, and the Demo's adapter file, added classes and image."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox

from mma_studio.core.adapter_file import save_adapter_file
from mma_studio.ui.app import reopen_after_first_frame
from mma_studio.ui.recent_projects import REOPEN_LAST_KEY, reopen_last_project_enabled, set_reopen_last_project
from mma_studio.ui.widgets.figure_text import percent
from tests.image_factory import make_image
from tests.ui.test_projects import WAIT_MS, dataset, fill, open_and_wait, window_factory  # noqa: F401

EVALUATE_ROW, DEMO_ROW = 2, 3


def test_reopening_restores_the_page_the_result_card_and_the_demo(qtbot, window_factory, dataset):  # noqa: F811
    home, _scan, run = dataset
    first = window_factory()
    fill(first, dataset)
    qtbot.waitUntil(lambda: not first.projects._run_tasks, timeout=WAIT_MS)
    result_before = percent(run.adapted.headline()["hm"])

    adapter = save_adapter_file(home / "adapters" / "mine.safetensors", run.to_adapter_file())
    demo = first.ensure_demo_page()
    demo.load_adapter_file(adapter)
    qtbot.waitUntil(lambda: demo.model is not None and demo.model.path == adapter, timeout=WAIT_MS)
    classes = demo.class_editor.class_names() + ["zebra"]
    demo.set_class_names(classes)
    image = home / "photos" / "cat.png"
    image.parent.mkdir(parents=True, exist_ok=True)
    make_image(image, (32, 32))
    with qtbot.waitSignal(demo.classified, timeout=WAIT_MS):
        demo.classify_path(image)
    first.show_page(DEMO_ROW)
    path = home / "projects" / "returning.mmaproj"
    assert first.projects.save_as(path)

    second = window_factory()
    assert second.train_page.summary.isHidden()
    open_and_wait(qtbot, second, path)
    assert second.sidebar.currentRow() == DEMO_ROW
    page = second.train_page
    assert not page.summary.isHidden() and page.summary.figure("hm", "adapted") == result_before
    assert page.progress.stage_label.text() != "Ready"
    shown = second.demo_page
    qtbot.waitUntil(lambda: shown.model is not None and shown.model.path == adapter, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "zebra" in shown.class_editor.class_names(), timeout=WAIT_MS)
    assert shown.class_editor.class_names() == classes
    assert shown.image_path == image
    qtbot.waitUntil(lambda: shown.last_result is not None, timeout=WAIT_MS)
    assert not second.projects.dirty

    # A page change alone does not mark the project modified, but closing keeps it; the
    # Evaluate page comes back once the last run is evaluated again (it is disabled till then).
    second.show_page(EVALUATE_ROW)
    assert not second.projects.dirty
    second.projects.flush()
    third = window_factory()
    open_and_wait(qtbot, third, path)
    qtbot.waitUntil(lambda: third.sidebar.currentRow() == EVALUATE_ROW, timeout=WAIT_MS)
    assert third.evaluate_page.has_run()


def test_the_last_project_opens_at_launch_unless_turned_off(qtbot, window_factory, dataset):  # noqa: F811
    home, _scan, _run = dataset
    first = window_factory()
    fill(first, dataset)
    path = home / "projects" / "yesterday.mmaproj"
    assert first.projects.save_as(path)

    assert reopen_last_project_enabled()  # on by default
    launched = window_factory()
    with qtbot.waitSignal(launched.projects.projectOpened, timeout=WAIT_MS) as opened:
        reopen_after_first_frame(launched)  # what run_app does once the window is on screen
    assert opened.args == [path.absolute()] and launched.state.data.scan is not None

    set_reopen_last_project(False)
    blank = window_factory()
    assert not blank.projects.reopen_last_project()
    assert blank.projects.path is None and blank.state.data.scan is None


def test_the_setting_is_in_the_settings_dialog(qtbot):
    from PySide6.QtCore import QSettings

    from mma_studio.ui.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    check = dialog.findChild(QCheckBox, "reopenLastProjectCheck")
    assert check is not None and check.isChecked()
    check.setChecked(False)
    assert not reopen_last_project_enabled() and QSettings().value(REOPEN_LAST_KEY) in (False, "false")
    check.setChecked(True)
    assert reopen_last_project_enabled()
    qtbot.waitUntil(lambda: not dialog.is_working(), timeout=WAIT_MS)
