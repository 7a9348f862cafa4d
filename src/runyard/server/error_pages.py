"""Error pages in the studio's layout: the status, the message, and a way on (the
experiments list and a search box), instead of a bare page. API paths keep JSON
answers (:mod:`runyard.server.errors`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # the message may quote a path or a name the user typed
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("error.html")


def render_error_page(status: int, kind: str, message: str, path: str) -> str:
    """The HTML of an error page for ``path``. It must render even when the store or
    the app state is what failed, so it reads nothing but its arguments."""
    return str(
        _template().render(status=status, kind=kind, message=message, path=path, workspace_name="")
    )
