"""Suite-wide test setup: every test runs headless.

Qt reads QT_QPA_PLATFORM when the first QApplication is built, so it is set here, before any
test module (or pytest-qt) can create one.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
