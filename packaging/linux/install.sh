#!/bin/sh
# Install Lookalike for the current user, without root, under ~/.local:
#   ~/.local/opt/lookalike/           the application (its own Python, Qt and ONNX Runtime)
#   ~/.local/bin/lookalike            the command (CLI; no arguments opens the window)
#   ~/.local/share/applications/...   the menu entry, and its icons
# Usage: ./install.sh [--uninstall]     (PREFIX=/some/where ./install.sh to install elsewhere)
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
APP="$PREFIX/opt/lookalike"
LIST="$APP/.installed-files"

uninstall() {
    if [ -f "$LIST" ]; then
        while IFS= read -r file; do rm -f "$file"; done < "$LIST"
    fi
    rm -rf "$APP"
}

if [ "${1:-}" = "--uninstall" ]; then
    uninstall
    echo "Lookalike removed from $PREFIX (your catalog and settings are kept)."
    exit 0
fi

uninstall
mkdir -p "$APP" "$PREFIX/bin"
cp -R "$HERE/lookalike/." "$APP/"
ln -sf "$APP/lookalike" "$PREFIX/bin/lookalike"
echo "$PREFIX/bin/lookalike" > "$LIST"
(cd "$HERE/share" && find . -type f) | while IFS= read -r file; do
    mkdir -p "$(dirname "$PREFIX/share/$file")"
    case "$file" in
        # The menu entry must name this install's command: ~/.local/bin is often not on a desktop's PATH.
        *.desktop) sed "s|@EXEC@|$PREFIX/bin/lookalike|g" "$HERE/share/$file" > "$PREFIX/share/$file" ;;
        *) cp "$HERE/share/$file" "$PREFIX/share/$file" ;;
    esac
    echo "$PREFIX/share/$file" >> "$LIST"
done
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$PREFIX/share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true

"$PREFIX/bin/lookalike" --version
echo "Installed in $APP. Start it from the menu, or run: $PREFIX/bin/lookalike"
echo "Check the installation with: $PREFIX/bin/lookalike selftest"
