#!/usr/bin/env bash
# Build the Linux one-folder bundle of MMA Studio with PyInstaller, then smoke-test it.
#
#   packaging/build_linux.sh [--python PATH] [--archive] [--skip-checks]
#
# Output: dist/mma-studio/ (run dist/mma-studio/mma-studio), with the .desktop file, the icons
# and install-desktop-entry.sh beside the executable; --archive also writes
# dist/mma-studio-<version>-linux-<arch>.tar.gz. PyInstaller is a build tool, not a runtime
# dependency: install it into the build venv first (`pip install pyinstaller`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
ARCHIVE=0
CHECKS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYTHON="$2"; shift 2 ;;
    --archive) ARCHIVE=1; shift ;;
    --skip-checks) CHECKS=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

cd "$ROOT"
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || {
  echo "PyInstaller is not installed for $PYTHON: run '$PYTHON -m pip install pyinstaller'" >&2; exit 1; }
VERSION="$("$PYTHON" -c 'import mma_studio; print(mma_studio.__version__)')"

echo "== building MMA Studio $VERSION with $("$PYTHON" -m PyInstaller --version) (this takes a while: torch is large)"
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" "$HERE/mma-studio.spec"
BUNDLE="$ROOT/dist/mma-studio"
echo "== built in $(( $(date +%s) - start )) s"

# Desktop integration files beside the executable.
cp "$ROOT/mma_studio/resources/mma-studio.desktop" "$BUNDLE/mma-studio.desktop"
mkdir -p "$BUNDLE/icons"
cp "$ROOT"/mma_studio/resources/icons/mma-studio-*.png "$ROOT/mma_studio/resources/icons/mma-studio.svg" "$BUNDLE/icons/"
cp "$HERE/install-desktop-entry.sh" "$BUNDLE/install-desktop-entry.sh"
chmod +x "$BUNDLE/install-desktop-entry.sh"

echo "== bundle size: $(du -sh "$BUNDLE" | cut -f1) ($BUNDLE)"

if [ "$CHECKS" = 1 ]; then
  "$PYTHON" "$HERE/check_bundle.py" "$BUNDLE"
fi

if [ "$ARCHIVE" = 1 ]; then
  NAME="mma-studio-$VERSION-linux-$(uname -m)"
  tar -C "$ROOT/dist" --transform "s,^mma-studio,$NAME," -czf "$ROOT/dist/$NAME.tar.gz" mma-studio
  echo "== archive: $(du -sh "$ROOT/dist/$NAME.tar.gz" | cut -f1) dist/$NAME.tar.gz"
fi
