"""A sweep controller: ``python -m runyard.sweeps SWEEP_ID --workspace-config PATH``."""

from __future__ import annotations

import sys

from runyard.sweeps.launch import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
