"""A reopened project's data: its folders and chosen images scanned again, and the stored class
roles fitted to what is found now (classes may have gone, or been added to the folder since).

The app's project controller runs `rescan_project_data` in a worker and `fit_roles_to_scan` on
its result; both are the engine's, so the rules of reopening live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mma_studio.core.cancellation import CancelToken
from mma_studio.core.chosen_images import scan_chosen_images
from mma_studio.core.class_roles import default_roles
from mma_studio.core.dataset import DatasetError, ScanResult, scan_class_folders, scan_dataset
from mma_studio.core.events import ProgressCallback
from mma_studio.core.scan_merge import merge_scans, without_classes


def rescan_project_data(
    root: Path | None,
    folders: list[Path],
    class_files: dict[str, list[Path]] | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> ScanResult | None:
    """The dataset folder, then any class folders added on their own, then the classes made of
    chosen images (only those files, as they were dropped), merged as the Data page merges
    them. None when the project names no data at all. A dataset folder that cannot be read
    raises `DatasetError`; class folders or chosen images that are all gone are left out."""
    scan = scan_dataset(root, on_progress=on_progress, token=token) if root is not None else None
    if folders:
        try:
            extra = scan_class_folders(folders, on_progress=on_progress, token=token)
        except DatasetError:
            extra = None  # none of them is usable any more: the root's classes still are
        if extra is not None:
            scan = merge_scans(scan, extra) if scan is not None else extra
    for name, files in (class_files or {}).items():
        present = [path for path in files if path.is_file()]
        if not present:
            continue
        try:
            chosen = scan_chosen_images(name, present, on_progress=on_progress, token=token)
        except DatasetError:
            continue  # none of its files is usable any more
        scan = merge_scans(scan, chosen, extend_same_name=True) if scan is not None else chosen
    return scan


@dataclass
class FittedRoles:
    """The rescanned data with the project's roles: what the Data page shows after an Open."""

    scan: ScanResult
    base: list[str]
    new: list[str]
    display_names: dict[str, str] = field(default_factory=dict)  # only for classes still present
    lost: list[str] = field(default_factory=list)  # stored classes not found any more, sorted


def fit_roles_to_scan(
    scan: ScanResult, base: list[str], new: list[str], display_names: dict[str, str] | None = None
) -> FittedRoles:
    """The stored base/new roles and display names applied to a fresh scan.

    Classes the project does not list were removed by the user and stay removed (unless none
    of the listed ones is left, when all are kept); roles of classes gone are dropped; with no
    role left, the default split of roles applies."""
    known = set(base) | set(new)
    if known:
        absent = [c.name for c in scan.classes if c.name not in known]
        if absent and len(absent) < len(scan.classes):
            scan = without_classes(scan, set(absent))  # classes the user had removed
    names = set(scan.class_names)
    base = [n for n in base if n in names]
    new = [n for n in new if n in names]
    if not base and not new:
        base, new = default_roles(scan.class_names)
    shown = {folder: name for folder, name in (display_names or {}).items() if folder in names}
    return FittedRoles(scan, list(base), list(new), shown, sorted(known - names))
