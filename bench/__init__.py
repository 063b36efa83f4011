"""Benchmarks (not run by `make test`): each module prints a table and appends to BENCHMARKS.md."""
