"""One driver script per tool, each run with that tool's own interpreter."""
