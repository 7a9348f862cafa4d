"""``PYTHONPATH=src python tools/with_pip_config.py uv pip install ...``: runs a command
with the user's pip configuration translated to uv's ``UV_*`` variables, as the
environment builder does for a run (uv ignores pip's configuration). The Makefile
installs the development environment this way: uv takes seconds where pip took
minutes. It needs only the standard library and ``runyard.environments.pipconfig``, so
it runs before anything is installed."""

from __future__ import annotations

import os
import sys

from runyard.environments.pipconfig import read_pip_settings, uv_settings


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    settings = uv_settings(read_pip_settings())
    for note in settings.notes:
        print(f"with_pip_config: {note}", file=sys.stderr)
    env = {**os.environ, **settings.env}
    os.execvpe(argv[0], [*argv, *settings.args], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
