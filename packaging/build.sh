#!/usr/bin/env bash
# Build Lookalike's installers: a PyInstaller onedir bundle, then on Linux
#   dist/lookalike-<version>-linux-x86_64.tar.gz   (bundle + .desktop + icons + install.sh for ~/.local)
#   dist/lookalike_<version>_amd64.deb             (/opt/lookalike, /usr/bin/lookalike, menu entry, icons)
# and on macOS (UNTESTED) Lookalike.app in dist/lookalike-<version>-macos-<arch>.dmg.
# Windows has no bash here: .github/workflows/package.yml spells out its steps.
#
# Usage: packaging/build.sh [--gpu] [--bundle-only] [--reuse-bundle]
#   --gpu           keep onnxruntime-gpu (CUDA from the system or nvidia-* wheels); the
#                   default CPU variant uses plain onnxruntime (bundle 643 MB; onnxruntime-gpu adds ~270 MB).
#   --bundle-only   stop after PyInstaller (no tarball, no .deb).
#   --reuse-bundle  skip PyInstaller when the bundle exists (repackage only).
# Environment: PYTHON (default python3, must be 3.11+), NICE (default 10).
#
# The bundle is built in its own venv under build/ (never the dev venv), so what
# ships is exactly the project's dependencies: nothing installed by hand leaks in.
# Everything comes from PyPI at build time; nothing downloads at install or run time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VARIANT=cpu BUNDLE_ONLY=0 REUSE=0
for arg in "$@"; do
    case "$arg" in
        --gpu) VARIANT=gpu ;;
        --bundle-only) BUNDLE_ONLY=1 ;;
        --reuse-bundle) REUSE=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

PYTHON="${PYTHON:-python3}"
NICE="nice -n ${NICE:-10}"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/desktop/lookalike/__init__.py")"
WORK="$ROOT/build/package-$VARIANT"
VENV="$WORK/venv"
BUNDLE="$WORK/dist/lookalike"
mkdir -p "$WORK" "$ROOT/dist"

# 1. Build venv, refreshed only when the requirement list changes.
"$PYTHON" "$ROOT/packaging/requirements.py" "$VARIANT" > "$WORK/requirements.txt"
# PyInstaller from the project's `package` extra: the build needs nothing installed beforehand.
"$PYTHON" -c 'import sys, tomllib; print(*tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["package"], sep="\n")' \
    "$ROOT/pyproject.toml" >> "$WORK/requirements.txt"
if ! cmp -s "$WORK/requirements.txt" "$VENV/.requirements.txt" 2>/dev/null; then
    echo "== build venv ($VARIANT) in $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    $NICE "$VENV/bin/python" -m pip install --quiet -r "$WORK/requirements.txt"
    cp "$WORK/requirements.txt" "$VENV/.requirements.txt"
fi
"$VENV/bin/python" -m pip freeze > "$WORK/requirements.lock"

# 2. PyInstaller onedir bundle.
if [[ $REUSE == 1 && -x "$BUNDLE/lookalike" ]]; then
    echo "== reusing $BUNDLE"
else
    echo "== PyInstaller ($VARIANT)"
    start=$SECONDS
    (cd "$ROOT" && $NICE "$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
        --distpath "$WORK/dist" --workpath "$WORK/work" packaging/lookalike.spec)
    echo "   took $((SECONDS - start)) s"
fi
if [[ $(uname) == Darwin ]]; then  # UNTESTED: Lookalike.app, then a .dmg
    "$WORK/dist/Lookalike.app/Contents/MacOS/Lookalike" --version
    [[ $BUNDLE_ONLY == 1 ]] && exit 0
    "$ROOT/packaging/macos/make_dmg.sh" "$WORK/dist/Lookalike.app" "$VERSION" \
        "$ROOT/dist/lookalike$([[ $VARIANT == gpu ]] && echo -gpu)-$VERSION-macos-$(uname -m).dmg"
    exit 0
fi
"$BUNDLE/lookalike" --version
echo "   bundle: $(du -sh "$BUNDLE" | cut -f1)"
[[ $BUNDLE_ONLY == 1 ]] && exit 0

# 3. Installers.
SUFFIX=""
[[ $VARIANT == gpu ]] && SUFFIX="-gpu"
"$ROOT/packaging/linux/make_tarball.sh" "$BUNDLE" "$VERSION" \
    "$ROOT/dist/lookalike$SUFFIX-$VERSION-linux-x86_64.tar.gz"
"$ROOT/packaging/linux/make_deb.sh" "$BUNDLE" "$VERSION" "lookalike$SUFFIX" \
    "$ROOT/dist/lookalike${SUFFIX}_${VERSION}_amd64.deb"
ls -l "$ROOT"/dist/lookalike"$SUFFIX"[-_]"$VERSION"*
