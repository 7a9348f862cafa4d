"""``python tools/notebook_count.py MIRROR OUT [ROWS]``: runs public SDK-v1 notebooks with only
the import substitution, one at a time, and prints a row per notebook.

MIRROR is a checkout of ``Azure/MachineLearningNotebooks``; the notebooks are the rows of
the table in ``docs/migrating-from-azureml.md`` ("Measured: public SDK-v1 scripts ...").
Each notebook's code cells are joined into one script, each dedented as IPython does: shell
and magic lines (``!pip``, ``%matplotlib``) are left out, a ``%%writefile`` cell writes its
file when the script reaches it (``$var`` in its path expanded),
``display`` is IPython's (or ``print``). ``azureml`` becomes ``runyard`` with the sed
expression of the migration page, in the script and in the notebook folder's ``.py`` files.
Each runs in a fresh folder of OUT holding a ``runyard init --name wsNN .`` workspace, as
``timeout 45 nice -n 10 python nb.py`` (the two configuration notebooks make their own
workspace, named through the ``WORKSPACE_NAME`` variable they read). ROWS (``1,2``)
runs only those rows of the table. The row's outcome is "ran" (exit 0) or the last
line of the error output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "migrating-from-azureml.md"
PREFIX = "how-to-use-azureml/"
_SUB = re.compile(r"\bazureml(\.|\s|$)")
_ROW = re.compile(r"^\| `([^`]+)` \| (ran|failed)")
CONFIGURATION_ENV = {
    "SUBSCRIPTION_ID": "00000000-1111-2222-3333-444444444444",
    "RESOURCE_GROUP": "rg-notebooks",
    "WORKSPACE_REGION": "westeurope",
}
PRELUDE = (
    "try:\n    from IPython.display import display\nexcept ImportError:\n    display = print\n"
)


def notebooks() -> list[str]:
    """The table's notebooks, as the table names them (mostly under ``how-to-use-azureml/``)."""
    found = []
    for line in DOC.read_text(encoding="utf-8").split("## Measured", 1)[1].splitlines():
        m = _ROW.match(line)
        if m:
            found.append(m.group(1))
    return found


def _resolve(mirror: Path, name: str) -> Path | None:
    """The notebook file a row names: the path itself, with ``.ipynb``, or the one
    notebook of the folder it names, at the top or under ``how-to-use-azureml/``."""
    for base in (mirror / name, mirror / PREFIX / name):
        candidates = [base, base.with_name(base.name + ".ipynb")]
        if base.is_dir():
            candidates += sorted(base.glob("*.ipynb"))
        found = next((c for c in candidates if c.is_file()), None)
        if found is not None:
            return found
    return None


def script_of(notebook: Path) -> str:
    """The notebook's code cells as one script, as IPython would run them: each cell
    dedented, a ``%%writefile`` cell writing its file when the script gets there (``$x``
    and ``{x}`` in the path expanded from the script's variables)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    out = [PRELUDE]
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        lines = textwrap.dedent("".join(cell.get("source", ""))).splitlines()
        if lines and lines[0].startswith("%%writefile"):
            words = lines[0].split()
            target = re.sub(r"\$(\w+)", r"{\1}", words[-1])
            body = _SUB.sub(r"runyard\1", "\n".join(lines[1:]) + "\n")
            mode = "a" if "-a" in words[1:-1] else "w"
            out.append(
                f"import os as _os\n_os.makedirs(_os.path.dirname(f{target!r}) or '.', "
                f"exist_ok=True)\nopen(f{target!r}, {mode!r}).write({body!r})"
            )
            continue
        if lines and lines[0].startswith("%%"):
            continue  # another cell magic (%%time ...): the cell is left out
        kept = [ln for ln in lines if not ln.lstrip().startswith(("!", "%"))]
        out.append("\n".join(kept))
    return _SUB.sub(r"runyard\1", "\n\n".join(out) + "\n")


def run_one(mirror: Path, path: str, out: Path, number: int) -> str:
    notebook = _resolve(mirror, path)
    if notebook is None:
        return "not found in the mirror"
    folder = out / f"nb{number:02d}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(notebook.parent, folder)
    for py in folder.rglob("*.py"):
        py.write_text(_SUB.sub(r"runyard\1", py.read_text(encoding="utf-8", errors="replace")))
    (folder / "nb.py").write_text(script_of(notebook), encoding="utf-8")
    env = dict(os.environ)
    if notebook.name == "configuration.ipynb":
        # It makes its workspace itself (Workspace.create(..., exist_ok=True)), named
        # by the variables it reads.
        env.update(WORKSPACE_NAME=f"ws{number:02d}", **CONFIGURATION_ENV)
    else:
        runyard = Path(sys.executable).with_name("runyard")
        subprocess.run(
            [str(runyard), "init", "--name", f"ws{number:02d}", "."],
            cwd=folder,
            capture_output=True,
            check=False,
        )
    proc = subprocess.run(
        ["timeout", "45", "nice", "-n", "10", sys.executable, "nb.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        env=env,
    )
    (folder / "nb.out").write_text(proc.stdout + "\n--- stderr\n" + proc.stderr)
    if proc.returncode == 0:
        return "ran"
    if proc.returncode == 124:
        return "timed out after 45 s"
    last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return f"failed: {last[-1][:200] if last else f'exit {proc.returncode}'}"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    mirror, out = Path(argv[0]), Path(argv[1])
    only = {int(n) for n in argv[2].split(",")} if len(argv) == 3 else None
    out.mkdir(parents=True, exist_ok=True)
    ran = 0
    paths = notebooks()
    for number, path in enumerate(paths, 1):
        if only is not None and number not in only:
            continue
        outcome = run_one(mirror, path, out, number)
        ran += outcome == "ran"
        print(f"| `{path}` | {outcome} |", flush=True)
    print(f"{ran} of {len(paths)} ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
