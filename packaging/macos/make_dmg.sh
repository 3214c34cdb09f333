#!/usr/bin/env bash
# Pack Lookalike.app (PyInstaller BUNDLE from packaging/lookalike.spec) into a
# drag-to-Applications disk image with hdiutil. UNTESTED: no Mac here.
# Usage: make_dmg.sh path/to/Lookalike.app VERSION OUT.dmg
#
# Unsigned, the app opens only after right-click > Open (Gatekeeper). To ship it,
# sign and notarise before running this (see packaging/README.md):
#   codesign --force --deep --options runtime --timestamp \
#       --entitlements packaging/macos/entitlements.plist --sign "Developer ID Application: NAME (TEAM)" Lookalike.app
# then sign the .dmg too, `xcrun notarytool submit OUT.dmg --keychain-profile PROFILE --wait`
# and `xcrun stapler staple OUT.dmg`.
set -euo pipefail

APP="$1" VERSION="$2" OUT="$3"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT

cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$OUT"
hdiutil create -volname "Lookalike $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$OUT"
