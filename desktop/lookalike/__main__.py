"""`python -m lookalike` behaves like the `lookalike` command."""

from lookalike.cli import main

raise SystemExit(main())
