"""Benchmarks comparing ssb-explorer with the field's tools, side by side in one run."""
