#!/usr/bin/env bash
# Pack a PyInstaller bundle as a relocatable tarball for any x86-64 Linux:
#   NAME/lookalike/      the onedir bundle (run NAME/lookalike/lookalike directly, or...)
#   NAME/install.sh      ...install it for the current user under ~/.local
#   NAME/share/          menu entry and icons, as install.sh lays them out
# Usage: make_tarball.sh BUNDLE VERSION OUT.tar.gz
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE="$1" VERSION="$2" OUT="$3"
NAME="$(basename "$OUT" .tar.gz)"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

mkdir -p "$STAGE/$NAME"
cp -a "$BUNDLE" "$STAGE/$NAME/lookalike"
"$HERE/stage_share.sh" "$STAGE/$NAME/share" "@EXEC@"
install -m 755 "$HERE/install.sh" "$STAGE/$NAME/install.sh"
cat > "$STAGE/$NAME/README.txt" <<TXT
Lookalike $VERSION for Linux x86-64 (glibc 2.36 or newer)

Run without installing:   ./lookalike/lookalike
Install for this user:    ./install.sh            (uninstall: ./install.sh --uninstall)
Check the installation:   lookalike selftest

Everything the app needs is inside; nothing is downloaded. The system must provide
X11 or Wayland, OpenGL/EGL (libgl1, libegl1) and fonts, as any desktop does.
TXT
echo "== tarball $OUT"
tar -C "$STAGE" --owner=0 --group=0 --numeric-owner -cf - "$NAME" | nice -n "${NICE:-10}" gzip -6 > "$OUT"
