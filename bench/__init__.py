"""Benchmarks with their targets (bench/README.md): they measure and report, they do not assert.

Run each as a module from the repository root, e.g. `.venv/bin/python -m bench.ledger` (`make bench` runs them
all); `--quick` makes a short run that only checks a benchmark still works. bench/common.py holds what they share.
"""
