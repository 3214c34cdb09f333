"""Lookalike's benchmarks and quality harness: `python -m bench [section ...]`.

Each section measures the app's own code paths side by side with a baseline in
one run, writes `bench/results/<section>.json`, and `docs/benchmarks.md` is
rendered from whatever results exist. Nothing here is imported by the app.
"""
