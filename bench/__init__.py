"""Benchmarks: ratios against a baseline measured on the same server in the same run."""
