"""Entry point: ``python -m runyard.runner RUN_ID --workspace-config PATH``."""

from __future__ import annotations

import sys

from runyard.runner.supervisor import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
