#!/usr/bin/env bash
# Lay out the desktop integration of a Linux install under a share/ folder:
#   SHARE/applications/lookalike.desktop     (Exec and TryExec pointed at EXEC)
#   SHARE/icons/hicolor/<size>/apps/<icon>.png, .../scalable/apps/<icon>.svg
# Used by the .deb (SHARE=/usr/share, EXEC=/usr/bin/lookalike) and by the tarball,
# whose install.sh copies the same tree to ~/.local/share.
#
# The entry and icons come from resources/ (owned by the UI); the entry here in
# packaging/linux is only a fallback. Exec is rewritten without arguments: the
# `lookalike` executable treats any argument as a CLI verb, so a file manager's
# %F would not open the window.
# Usage: stage_share.sh SHARE EXEC
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARE="$1" EXEC="$2"

desktop="$ROOT/resources/lookalike.desktop"
[[ -f $desktop ]] || desktop="$ROOT/packaging/linux/lookalike.desktop"
mkdir -p "$SHARE/applications"
sed -E -e "s|^Exec=.*|Exec=$EXEC|" -e "s|^TryExec=.*|TryExec=$EXEC|" "$desktop" > "$SHARE/applications/lookalike.desktop"

icon="$(sed -n 's/^Icon=//p' "$desktop" | head -n1)"
icon="${icon:-lookalike}"
icons="$ROOT/resources/icons"

png_width() {  # bytes 16-19 of a PNG (the IHDR width), big-endian
    od -An -j16 -N4 -tu1 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'
}

found=0
for name in "$icon" lookalike; do
    for svg in "$icons/$name".svg "$icons/scalable/$name".svg; do
        if [[ -f $svg ]]; then
            install -D -m 644 "$svg" "$SHARE/icons/hicolor/scalable/apps/$icon.svg"
            found=1
            break
        fi
    done
    while IFS= read -r -d '' png; do
        size="$(png_width "$png")"
        install -D -m 644 "$png" "$SHARE/icons/hicolor/${size}x${size}/apps/$icon.png"
        found=1
    done < <(find "$icons" -name "$name*.png" -print0 2>/dev/null)
    [[ $found == 1 ]] && break
done
[[ $found == 1 ]] || echo "stage_share.sh: warning: no icon named $icon in $icons" >&2
exit 0
