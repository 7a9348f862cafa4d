"""Harness pieces of `make bench`: sizes, processes, workloads, report."""
