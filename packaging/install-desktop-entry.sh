#!/usr/bin/env sh
# Add MMA Studio to the desktop's application menu for this user (no root needed):
# the .desktop entry points at this bundle's executable, the icons go into the hicolor theme.
#   ./install-desktop-entry.sh            install
#   ./install-desktop-entry.sh --remove   remove again
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor"

if [ "${1:-}" = "--remove" ]; then
  rm -f "$APPS/mma-studio.desktop"
  for png in "$ICONS"/*/apps/mma-studio.png "$ICONS/scalable/apps/mma-studio.svg"; do rm -f "$png"; done
  echo "MMA Studio removed from the application menu."
  exit 0
fi

mkdir -p "$APPS"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$ICONS/${size}x${size}/apps"
  cp "$HERE/icons/mma-studio-$size.png" "$ICONS/${size}x${size}/apps/mma-studio.png"
done
mkdir -p "$ICONS/scalable/apps"
cp "$HERE/icons/mma-studio.svg" "$ICONS/scalable/apps/mma-studio.svg"
sed -e "s|^Exec=.*|Exec=\"$HERE/mma-studio\"|" -e "s|^TryExec=.*|TryExec=$HERE/mma-studio|" \
  "$HERE/mma-studio.desktop" > "$APPS/mma-studio.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$APPS" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$ICONS" || true
echo "MMA Studio added to the application menu ($APPS/mma-studio.desktop)."
