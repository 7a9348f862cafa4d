"""Bounds on request parameters, so that an out-of-range number is a 400 naming the
parameter rather than an overflow deep in the store."""

MAX_INT64 = 2**63 - 1
