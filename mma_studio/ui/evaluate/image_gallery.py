"""Thumbnails of test images with their true and predicted class: what a confusion cell holds.

Thumbnails are decoded lazily by `ThumbnailLoader` (a thread pool, never the GUI thread) when
an item is first painted, so a cell with thousands of images opens at once. Each image can be
opened, or its folder shown in the system file manager; double-click opens the image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QFontMetrics, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.evaluate.eval_colors import gain_color, loss_color
from mma_studio.ui.widgets.plain_text import plain_label
from mma_studio.ui.widgets.thumbnails import ThumbnailLoader

THUMBNAIL_SIZE = 88
ITEM_WIDTH = 116
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
IMAGE_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True)
class GalleryImage:
    path: str
    true_name: str
    predicted_name: str

    @property
    def correct(self) -> bool:
        return self.true_name == self.predicted_name


class GalleryModel(QAbstractListModel):
    """The images on show; asks the loader for thumbnails as the view paints them."""

    def __init__(self, loader: ThumbnailLoader, parent=None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._images: list[GalleryImage] = []
        self._rows_by_path: dict[str, list[int]] = {}
        loader.thumbnailReady.connect(self._on_thumbnail_ready)

    def set_images(self, images: Sequence[GalleryImage]) -> None:
        self.beginResetModel()
        self._images = list(images)
        self._rows_by_path = {}
        for row, image in enumerate(self._images):
            self._rows_by_path.setdefault(image.path, []).append(row)
        self.endResetModel()

    def images(self) -> list[GalleryImage]:
        return list(self._images)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._images)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        image = self._images[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return Path(image.path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._loader.thumbnail(image.path, THUMBNAIL_SIZE)  # None while it loads
        if role == Qt.ItemDataRole.ToolTipRole:
            verdict = "correct" if image.correct else "mistaken"
            return (
                f"{image.path}\nTrue: {image.true_name}\nPredicted: {image.predicted_name} ({verdict})\n"
                "Double-click to open"
            )
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{Path(image.path).name}: true {image.true_name}, predicted {image.predicted_name}"
        if role == PATH_ROLE:
            return image.path
        if role == IMAGE_ROLE:
            return image
        return None

    def _on_thumbnail_ready(self, path: str) -> None:
        for row in self._rows_by_path.get(path, ()):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class GalleryDelegate(QStyledItemDelegate):
    """A square thumbnail, then the true class and the prediction (✓ green or ✗ red)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        line = QFontMetrics(option.font).height()
        return QSize(ITEM_WIDTH, THUMBNAIL_SIZE + 2 * line + 18)

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        image: GalleryImage = index.data(IMAGE_ROLE)
        palette = option.palette
        painter.save()
        rect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setRenderHint(painter.RenderHint.Antialiasing, True)
            painter.drawRoundedRect(rect, 6, 6)
        thumb_rect = QRect(
            rect.left() + (rect.width() - THUMBNAIL_SIZE) // 2, rect.top() + 4, THUMBNAIL_SIZE, THUMBNAIL_SIZE
        )
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if pixmap is None:  # still loading
            painter.fillRect(thumb_rect, palette.color(QPalette.ColorRole.AlternateBase))
        elif pixmap.isNull():  # unreadable now
            painter.fillRect(thumb_rect, palette.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(thumb_rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "cannot\nread")
        else:
            painter.drawPixmap(thumb_rect, pixmap)
        # border: green for a correct prediction, red for a mistake
        mark = gain_color(palette) if image.correct else loss_color(palette)
        painter.setPen(mark)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(thumb_rect.adjusted(0, 0, -1, -1))

        metrics = QFontMetrics(option.font)
        line = metrics.height()
        text_width = rect.width() - 8
        top = thumb_rect.bottom() + 5
        text = palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        painter.setPen(text)
        painter.drawText(
            QRect(rect.left() + 4, top, text_width, line),
            Qt.AlignmentFlag.AlignHCenter,
            metrics.elidedText(image.true_name, Qt.TextElideMode.ElideRight, text_width),
        )
        prediction = ("✓ " if image.correct else "✗ ") + image.predicted_name
        painter.setPen(text if selected else mark)
        painter.drawText(
            QRect(rect.left() + 4, top + line, text_width, line),
            Qt.AlignmentFlag.AlignHCenter,
            metrics.elidedText(prediction, Qt.TextElideMode.ElideRight, text_width),
        )
        painter.restore()


class ImageGallery(QWidget):
    """A titled grid of `GalleryImage`s with Open Image / Open Containing Folder actions."""

    imagesShown = Signal(int)  # how many images are now on show
    # Fix the data where the mistake is seen: ("exclude" | "move", paths, class id) for
    # `AppState.request_data_fix`; the menu offers it when `class_choices` gives the classes.
    dataFixRequested = Signal(str, object, str)

    def __init__(self, parent: QWidget | None = None, loader: ThumbnailLoader | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageGalleryPanel")
        # How a URL is opened (tests replace it, so nothing starts a file manager).
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self.loader = loader or ThumbnailLoader(max_items=600, parent=self)
        self.class_choices: Callable[[], list[tuple[str, str]]] = list  # (class id, shown name); none: no fixes

        self.title = QLabel("Images", self)
        self.title.setObjectName("galleryTitle")
        plain_label(self.title)  # names classes
        self.title.setAccessibleName("galleryTitle")
        self.title.setProperty("role", "cardTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(self)
        self.detail.setObjectName("galleryDetail")
        plain_label(self.detail)
        self.detail.setProperty("role", "hint")
        style = self.style()
        self.open_folder_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open Folder", self
        )
        self.open_folder_button.setObjectName("galleryOpenFolderButton")
        self.open_folder_button.setAccessibleName("galleryOpenFolderButton")
        self.open_folder_button.setToolTip(
            "Show the selected image's folder (or the first image's) in the file manager"
        )
        self.open_folder_button.clicked.connect(lambda: self.open_containing_folder())

        self.model = GalleryModel(self.loader, self)
        self.view = QListView(self)
        self.view.setObjectName("imageGallery")
        self.view.setAccessibleName("imageGallery")
        self.view.setModel(self.model)
        self.view.setItemDelegate(GalleryDelegate(self.view))
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setFlow(QListView.Flow.LeftToRight)
        self.view.setWrapping(True)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(2)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._show_menu)
        self.view.doubleClicked.connect(lambda index: self.open_image(index.data(PATH_ROLE)))
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)

        self.placeholder = QLabel(
            "Click a cell of the confusion matrix, or a class in the table, to see its test images here.", self
        )
        self.placeholder.setObjectName("galleryPlaceholder")
        self.placeholder.setProperty("role", "hint")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(self.view)

        self.open_image_action = QAction("&Open Image", self)
        self.open_image_action.triggered.connect(lambda: self.open_image())
        self.open_folder_action = QAction("Open Containing &Folder", self)
        self.open_folder_action.triggered.connect(lambda: self.open_containing_folder())
        self.copy_path_action = QAction("&Copy Path", self)
        self.copy_path_action.triggered.connect(self._copy_paths)

        self.title.setWordWrap(True)
        self.detail.setWordWrap(True)
        details = QHBoxLayout()
        details.setSpacing(8)
        details.addWidget(self.detail, 1)
        details.addWidget(self.open_folder_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addLayout(details)
        layout.addWidget(self._stack, 1)
        self.clear()

    # -- content ---------------------------------------------------------------------------
    def show_images(self, title: str, images: Sequence[GalleryImage], detail: str = "") -> None:
        self.title.setText(title)
        self.detail.setText(detail)
        self.model.set_images(images)
        if images:
            self._stack.setCurrentWidget(self.view)
            self.view.scrollToTop()
        else:
            self.placeholder.setText("No test image is in this cell.")
            self._stack.setCurrentWidget(self.placeholder)
        self._update_buttons()
        self.imagesShown.emit(len(images))

    def clear(self, message: str | None = None) -> None:
        self.title.setText("Images")
        self.detail.setText("")
        self.model.set_images([])
        self.placeholder.setText(
            message or "Click a cell of the confusion matrix, or a class in the table, to see its test images here."
        )
        self._stack.setCurrentWidget(self.placeholder)
        self._update_buttons()

    def images(self) -> list[GalleryImage]:
        return self.model.images()

    def image_paths(self) -> list[str]:
        return [image.path for image in self.model.images()]

    def selected_paths(self) -> list[str]:
        rows = sorted(index.row() for index in self.view.selectionModel().selectedIndexes())
        images = self.model.images()
        return [images[row].path for row in rows]

    # -- actions ---------------------------------------------------------------------------
    def _target(self, path: str | None) -> str | None:
        if path:
            return path
        selected = self.selected_paths()
        if selected:
            return selected[0]
        paths = self.image_paths()
        return paths[0] if paths else None

    def open_image(self, path: str | None = None) -> bool:
        target = self._target(path)
        return bool(target) and bool(self.open_url(QUrl.fromLocalFile(target)))

    def open_containing_folder(self, path: str | None = None) -> bool:
        """Open the folder of `path` (default: the selected image, else the first) in the file manager."""
        target = self._target(path)
        return bool(target) and bool(self.open_url(QUrl.fromLocalFile(str(Path(target).parent))))

    def _copy_paths(self) -> None:
        paths = self.selected_paths() or self.image_paths()[:1]
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))

    def _show_menu(self, position) -> None:
        index = self.view.indexAt(position)
        if not index.isValid():
            return
        if not self.view.selectionModel().isSelected(index):
            self.view.setCurrentIndex(index)
        menu = QMenu(self)
        menu.addAction(self.open_image_action)
        menu.addAction(self.open_folder_action)
        menu.addSeparator()
        menu.addAction(self.copy_path_action)
        self._add_fix_actions(menu, index)
        menu.exec(self.view.viewport().mapToGlobal(position))

    def _add_fix_actions(self, menu: QMenu, index) -> None:
        """Exclude from Project / Move to Class (the prediction first): recorded in the project."""
        choices = self.class_choices()
        paths = self.selected_paths()
        if not choices or not paths:
            return
        menu.addSeparator()
        exclude = menu.addAction(f"Exclude from Project ({len(paths)})" if len(paths) > 1 else "Exclude from Project")
        exclude.setObjectName("galleryExcludeAction")
        exclude.triggered.connect(lambda: self.dataFixRequested.emit("exclude", list(paths), ""))
        image = index.data(IMAGE_ROLE)
        predicted = getattr(image, "predicted_name", "")
        move = menu.addMenu("Move to Class")
        move.setObjectName("galleryMoveMenu")
        for class_id, shown in sorted(choices, key=lambda choice: choice[1] != predicted):
            if shown == getattr(image, "true_name", None):
                continue
            action = move.addAction(f"{shown} (predicted)" if shown == predicted else shown)
            action.triggered.connect(
                lambda _checked=False, c=class_id: self.dataFixRequested.emit("move", list(paths), c)
            )

    def _update_buttons(self, *_args) -> None:
        has_images = self.model.rowCount() > 0
        self.open_folder_button.setEnabled(has_images)
        for action in (self.open_image_action, self.open_folder_action, self.copy_path_action):
            action.setEnabled(has_images)
