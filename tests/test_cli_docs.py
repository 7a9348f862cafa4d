"""docs/cli.md and docs/api/index.md are generated; they fail here when stale. The
troubleshooting page lists every error message the CLI tests check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runyard.cli import cli
from runyard.cli.common import walk_commands
from runyard.cli.docgen import generate

REPO = Path(__file__).resolve().parents[1]


def test_cli_reference_is_generated_from_the_commands() -> None:
    current = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == generate(), (
        "docs/cli.md is stale: run `python -m runyard.cli.docgen > docs/cli.md`"
    )
    for name, _cmd in walk_commands(cli, "runyard"):
        assert f"### `{name}`" in current, name


def test_api_reference_is_generated_from_the_docstrings() -> None:
    made = subprocess.run(
        [sys.executable, str(REPO / "tools" / "apidoc.py")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    current = (REPO / "docs" / "api" / "index.md").read_text(encoding="utf-8")
    assert current == made.stdout, (
        "docs/api/index.md is stale: run `python tools/apidoc.py > docs/api/index.md`"
    )
    for name in ("Workspace", "Experiment", "Environment", "ScriptRunConfig", "Run"):
        assert f"### `runyard.core.{name}`" in current, name


def test_troubleshooting_covers_each_cli_error() -> None:
    page = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    for fragment in [
        "no run listed logged a metric called",
        "unknown summary",
        "cannot sort runs by",
        "unknown column",
        "does not exist. Give the path",
        "names are case-sensitive",
        "the version must be a number",
        "a workspace already exists at",
        "The workspace config was not created",
        "The workspace config was left as it was",
        "must look like KEY=VALUE",
        "is in use",
        "--port 0",
        "has no metric",
        "no workspace found",
        "refusing to serve the studio",
        "No module named",
    ]:
        assert fragment in page, fragment
