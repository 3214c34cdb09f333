#!/usr/bin/env bash
# Smoke test of the Linux installers, as a user gets them: install the .deb, check the
# bundle holds Qt's xcb platform plugin and its image-format plugins, then run the
# installed `lookalike --version` and `lookalike selftest` from outside the source
# tree with a bare environment (no PYTHONPATH, no venv, a fresh HOME), so nothing can
# come from the checkout. Where xvfb-run exists, the installed app also opens its
# window on a real X server (Xvfb, xcb) and must still be running after GUI_SECONDS
# (default 8; the app has no quit-after-start hook, so it is then stopped). Then
# install the tarball with its install.sh into a temporary prefix and check it the
# same way. Exits non-zero on any failure.
#
# Usage: packaging/smoke.sh [--gpu] [--keep]
#   builds the installers first when dist/ lacks them (packaging/build.sh);
#   --keep leaves the .deb installed (by default it is removed again).
# As root with dpkg: `dpkg -i`, then `apt-get install -f` for missing system
# libraries. Otherwise the .deb is unpacked with dpkg-deb -x and run from there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/desktop/lookalike/__init__.py")"
SUFFIX="" KEEP=0 BUILD_ARGS=()
for arg in "$@"; do
    case "$arg" in
        --gpu) SUFFIX="-gpu"; BUILD_ARGS+=(--gpu) ;;
        --keep) KEEP=1 ;;
        *) echo "smoke.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
DEB="$ROOT/dist/lookalike${SUFFIX}_${VERSION}_amd64.deb"
TARBALL="$ROOT/dist/lookalike$SUFFIX-$VERSION-linux-x86_64.tar.gz"
if [[ ! -f $DEB || ! -f $TARBALL ]]; then
    "$ROOT/packaging/build.sh" "${BUILD_ARGS[@]}"
fi

TMP="$(mktemp -d)"
INSTALLED=""
cleanup() {
    if [[ -n $INSTALLED && $KEEP == 0 ]]; then
        dpkg -r "$INSTALLED" >/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# A user's environment: fresh HOME, system PATH, no Python variables; cwd outside the tree.
bare() {
    (cd "$TMP" && env -i HOME="$TMP/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@")
}
step() { echo; echo "== $*"; }

mkdir -p "$TMP/home"
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    step "dpkg -i $(basename "$DEB")"
    package="$(dpkg-deb --field "$DEB" Package)"
    if ! dpkg -i "$DEB"; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq
    fi
    dpkg -s "$package" | grep -q '^Status: install ok installed'
    INSTALLED="$package"
    BIN=/usr/bin/lookalike
    test -f /usr/share/applications/lookalike.desktop
else
    step "dpkg-deb -x $(basename "$DEB") (not root: unpacked, not installed)"
    dpkg-deb -x "$DEB" "$TMP/root"
    BIN="$TMP/root/opt/lookalike/lookalike"
fi
if command -v desktop-file-validate >/dev/null; then
    # Reported, not fatal: an older validator rejects newer but valid spec versions.
    dpkg-deb -x "$DEB" "$TMP/check"
    desktop-file-validate "$TMP/check/usr/share/applications/lookalike.desktop" \
        || echo "smoke.sh: warning: desktop-file-validate complained about the menu entry (above)"
fi

step "Qt plugins in the bundle"
PLUGINS="$(dirname "$(readlink -f "$BIN")")/_internal/PySide6/Qt/plugins"
test -f "$PLUGINS/platforms/libqxcb.so" || { echo "smoke.sh: no platforms/libqxcb.so in $PLUGINS" >&2; exit 1; }
for format in jpeg gif webp tiff; do
    test -f "$PLUGINS/imageformats/libq$format.so" || { echo "smoke.sh: no imageformats/libq$format.so" >&2; exit 1; }
done
ls "$PLUGINS/imageformats"

step "$BIN --version"
bare "$BIN" --version | tee "$TMP/version.txt"
grep -qx "lookalike $VERSION" "$TMP/version.txt"

step "$BIN selftest"
bare "$BIN" selftest

# What selftest does not reach: the Explore verbs, whose libraries (scikit-learn,
# openTSNE's compiled helpers) load only when used.
step "$BIN clusters and map on the bundled samples"
SAMPLES="$(dirname "$(readlink -f "$BIN")")/_internal/resources/samples"
bare "$BIN" --catalog "$TMP/explore.sqlite" scan "$SAMPLES" >/dev/null
bare "$BIN" --catalog "$TMP/explore.sqlite" clusters --json | grep -q '"clusters"'
bare "$BIN" --catalog "$TMP/explore.sqlite" map --out "$TMP/map.png"
test -s "$TMP/map.png"

if command -v xvfb-run >/dev/null; then
    seconds="${GUI_SECONDS:-8}"
    step "$BIN (the window) under Xvfb for $seconds s"
    # `timeout` answers 124 when it had to stop the app: it was still running, as it should.
    status=0
    bare xvfb-run -a env QT_QPA_PLATFORM=xcb timeout "$seconds" "$BIN" || status=$?
    if [[ $status != 124 ]]; then
        echo "smoke.sh: the window exited after less than $seconds s (exit $status)" >&2
        exit 1
    fi
    echo "still running after $seconds s: stopped"
else
    step "no xvfb-run: the window under a real X server is not checked"
fi

step "tarball: install.sh into a temporary prefix"
tar -C "$TMP" -xzf "$TARBALL"
bare env PREFIX="$TMP/prefix" "$TMP/$(basename "$TARBALL" .tar.gz)/install.sh"
grep -q "^Exec=$TMP/prefix/bin/lookalike" "$TMP/prefix/share/applications/lookalike.desktop"
bare "$TMP/prefix/bin/lookalike" selftest --no-gui
bare env PREFIX="$TMP/prefix" "$TMP/$(basename "$TARBALL" .tar.gz)/install.sh" --uninstall
test ! -e "$TMP/prefix/bin/lookalike" && test ! -e "$TMP/prefix/opt/lookalike"

echo
echo "smoke test passed: $(basename "$DEB"), $(basename "$TARBALL")"
