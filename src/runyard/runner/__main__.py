"""Entry point: ``python -m runyard.runner RUN_ID --workspace-config PATH`` (a run of
this machine's workspace, :mod:`runyard.runner.local`); or, for a run whose store is a
studio (on a Ray node), ``RUN_ID --tracking-uri URL [--token T]``
(:mod:`runyard.runner.remote`)."""

from __future__ import annotations

import sys
import sysconfig

if __name__ == "__main__":
    # Before any thread starts: sysconfig fills its variables on first use without a lock
    # (until Python 3.12), and a second thread reading them meanwhile gets None for any
    # not filled yet (uv's own lookup of its executable failed so, under a build).
    sysconfig.get_config_vars()
    argv = sys.argv[1:]
    if any(a == "--tracking-uri" or a.startswith("--tracking-uri=") for a in argv):
        from runyard.runner.remote import main as remote_main

        sys.exit(remote_main(argv))
    from runyard.runner.local import main

    sys.exit(main(argv))
