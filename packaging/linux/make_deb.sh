#!/usr/bin/env bash
# Pack a PyInstaller bundle as a Debian/Ubuntu package with dpkg-deb:
#   /opt/lookalike/                            the onedir bundle
#   /usr/bin/lookalike -> /opt/lookalike/lookalike
#   /usr/share/applications/lookalike.desktop, /usr/share/icons/hicolor/...
#   /usr/share/doc/PACKAGE/copyright
# No maintainer scripts: dpkg triggers of desktop-file-utils and hicolor-icon-theme
# refresh the menu and icon caches. Depends (control.in) lists the system libraries
# the bundle does not carry (GL, EGL, X11/xcb, Wayland, fonts via fontconfig).
# Usage: make_deb.sh BUNDLE VERSION PACKAGE OUT.deb
# DEB_COMPRESSION=xz (default: smallest, ~4 min on 2 cores) or zstd (~10 s, 25% larger;
# dpkg reads it from Debian 12 / Ubuntu 22.04 on, as old as the glibc the bundle needs).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE="$1" VERSION="$2" PACKAGE="$3" OUT="$4"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

mkdir -p "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/doc/$PACKAGE" "$STAGE/DEBIAN"
cp -a "$BUNDLE" "$STAGE/opt/lookalike"
ln -s /opt/lookalike/lookalike "$STAGE/usr/bin/lookalike"
"$HERE/stage_share.sh" "$STAGE/usr/share" /usr/bin/lookalike
{
    echo "Lookalike: Apache-2.0. Sample photos: see /opt/lookalike/_internal/resources/samples/LICENSES.md."
    echo "The bundled Python, Qt (LGPL-3.0), ONNX Runtime (MIT) and other libraries keep their own licences."
} > "$STAGE/usr/share/doc/$PACKAGE/copyright"

# The newest glibc symbol version any bundled binary asks for is the libc6 it needs.
glibc_needed() {
    find "$1" -type f \( -name '*.so*' -o -name lookalike \) -exec objdump -T {} + 2>/dev/null \
        | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1
}
glibc="$(glibc_needed "$STAGE/opt/lookalike" || true)"
relations="/^@RELATIONS@$/d"
if [[ $PACKAGE != lookalike ]]; then  # a variant (lookalike-gpu) replaces the plain package
    relations="s/^@RELATIONS@$/Provides: lookalike\nConflicts: lookalike\nReplaces: lookalike/"
fi
sed -e "s/@PACKAGE@/$PACKAGE/" -e "s/@VERSION@/$VERSION/" -e "s/@GLIBC@/${glibc:-2.31}/" \
    -e "s/@INSTALLED_SIZE@/$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)/" \
    -e "$relations" "$HERE/control.in" > "$STAGE/DEBIAN/control"

echo "== deb $OUT"
nice -n "${NICE:-10}" dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" -z6 --build "$STAGE" "$OUT" >/dev/null
dpkg-deb --field "$OUT" Package Version Depends | cut -c1-160
