"""Repeatable performance runs; results are recorded in benchmarks/RESULTS.md."""
