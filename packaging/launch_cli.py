"""Entry script of the bundled `lookalike` executable: the CLI, which opens the app when given no arguments.

PyInstaller needs a script, not a console_scripts entry point. macOS Finder once
passed a `-psn_...` process serial number to apps; dropping it keeps "no
arguments means the window" true there.
"""

import sys

from lookalike.cli import main

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-psn_")]
    raise SystemExit(main(args))
