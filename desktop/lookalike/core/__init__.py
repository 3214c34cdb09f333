"""Everything Lookalike does, without Qt: the UI and the CLI are views over this package."""
