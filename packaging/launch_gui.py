"""Entry script of the windowed `lookalike-gui` executable (Windows: no console window).

It goes straight to the desktop app, so a file manager that passes a photo's path
(the optional .jpg association) cannot trip the CLI's argument parser.
"""

import sys

from lookalike.ui.app import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))  # argv[0] is this program, not a photo
