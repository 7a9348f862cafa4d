"""``python tools/apidoc.py > docs/api/index.md``: the Python API reference, generated
from the public names' signatures and docstrings (``runyard.core.__all__`` and the
error tree), so that it cannot drift; tests/test_cli_docs.py fails when it is stale."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from typing import Any

MODULES = ("runyard.core",)


def _doc(obj: Any) -> str:
    # The object's own docstring: an inherited one ("Initialize self.") says nothing.
    return inspect.cleandoc(getattr(obj, "__doc__", None) or "").strip()


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    # Object reprs carry memory addresses that change from run to run.
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def _members(cls: type) -> list[tuple[str, Any]]:
    out = []
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(member, (staticmethod, classmethod)):
            out.append((name, member.__func__))
        elif isinstance(member, property) or inspect.isfunction(member):
            out.append((name, member))
    return out


def describe_class(qualname: str, cls: type) -> list[str]:
    signature = _signature(cls).split(" -> ")[0]
    lines = [f"### `{qualname}`", "", "```python", f"class {cls.__name__}{signature}", "```"]
    if _doc(cls):
        lines += ["", _doc(cls)]
    for name, member in _members(cls):
        if isinstance(member, property):
            head = f"#### `{cls.__name__}.{name}` (property)"
        else:
            head = f"#### `{cls.__name__}.{name}{_signature(member)}`"
        lines += ["", head]
        if _doc(member):
            lines += ["", _doc(member)]
    return lines


def describe_function(qualname: str, fn: Any) -> list[str]:
    lines = [f"### `{qualname}{_signature(fn)}`"]
    if _doc(fn):
        lines += ["", _doc(fn)]
    return lines


def generate() -> str:
    """The whole of docs/api/index.md."""
    out = [
        "# Python API reference",
        "",
        "Generated from the docstrings by `python tools/apidoc.py > docs/api/index.md`; a",
        "test fails when this file is stale. The names follow the Azure ML SDK v1",
        "(`azureml.core` -> `runyard.core`); see the [README](../../README.md).",
    ]
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        out += ["", f"## `{module_name}`", ""]
        if _doc(module):
            out += [_doc(module), ""]
        for name in sorted(getattr(module, "__all__", ())):
            obj = getattr(module, name)
            out += [""]
            if inspect.isclass(obj):
                out += describe_class(f"{module_name}.{name}", obj)
            elif callable(obj):
                out += describe_function(f"{module_name}.{name}", obj)
            else:
                out += [f"### `{module_name}.{name}`", "", f"`{obj!r}`"]
    errors = importlib.import_module("runyard.errors")
    out += ["", "## Errors: `runyard.errors`", "", "```", _doc(errors), "```", ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(generate())
