"""The environment spec: a plain JSON-able dict, its normal form and its content hash.

A spec is what ``Environment.to_spec()`` returns, what the registry stores and what the
runner hands to :func:`runyard.environments.prepare`::

    {
      "schema": 1,
      "name": "pytorch-env",            # not hashed
      "version": null,                  # registry version, not hashed
      "python_version": "3.11",         # null: the Python that runs Runyard (major.minor)
      "pip": ["torch==2.13.0"],         # requirement strings
      "pip_options": [],                # requirement-file options, e.g. "--index-url URL"
      "conda": [],                      # conda packages other than python and pip
      "channels": [],
      "conda_file": false,              # came from a conda spec: use conda when on PATH
      "user_managed": false,            # run interpreter_path as it is, build nothing
      "interpreter_path": null,
      "environment_variables": {},
      "docker_base_image": null
    }

Normalising sorts and canonicalises requirement strings and fills in the Python version,
so that two specs that build the same environment hash the same.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from runyard.errors import ValidationError

SCHEMA_VERSION = 1

# The keys that identify an environment's content; ``name`` and ``version`` label it.
_CONTENT_KEYS = (
    "schema",
    "python_version",
    "pip",
    "pip_options",
    "conda",
    "channels",
    "conda_file",
    "user_managed",
    "interpreter_path",
    "environment_variables",
    "docker_base_image",
)
_ALL_KEYS = frozenset(_CONTENT_KEYS) | {"name", "version"}

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_SPECIFIER_RE = re.compile(
    r"^(?:===|==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!_-]+(?:,(?:===|==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!_-]+)*$"
)
_PYTHON_VERSION_RE = re.compile(r"^(?:[0-9]+(?:\.[0-9]+){0,2}|[<>=!~][<>=!~0-9.*, ]+)$")
# Options a requirements file may carry that uv understands in a requirements file too.
PIP_OPTIONS_WITH_VALUE = ("--index-url", "--extra-index-url", "--find-links")
PIP_FLAG_OPTIONS = ("--no-index",)


def canonical_name(name: str) -> str:
    """PEP 503 normal form of a project name: ``Scikit_Learn`` -> ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def canonical_requirement(text: str) -> str:
    """A requirement string in one canonical spelling, e.g. ``Torch == 2.13.0`` ->
    ``torch==2.13.0``. Only named requirements are accepted (``name``,
    ``name[extra]>=1,<2; marker``, ``name @ URL``), each optionally followed by
    ``--hash=...`` options."""
    if not isinstance(text, str):
        raise ValidationError(f"a pip requirement must be a string, got {text!r}")
    words = text.split()
    hashes = sorted(w for w in words if w.startswith("--hash="))
    body = " ".join(w for w in words if not w.startswith("--hash="))
    match = _NAME_RE.match(body)
    if not body or match is None or body.startswith("-"):
        raise ValidationError(
            f"pip requirement {text!r} is not a named requirement; write it as "
            "'name', 'name==1.2' or 'name @ https://...' (editable and bare-path "
            "installs are not reproducible and are not supported)"
        )
    name, extras, rest = match.group(1), match.group(2), match.group(3).strip()
    out = canonical_name(name)
    if extras:
        items = sorted({canonical_name(e.strip()) for e in extras[1:-1].split(",") if e.strip()})
        out += f"[{','.join(items)}]" if items else ""
    if rest.startswith("@"):
        url, _, marker = rest[1:].partition(" ;")
        if not url.strip():
            raise ValidationError(f"pip requirement {text!r} has '@' but no URL after it")
        out += f" @ {url.strip()}"
    else:
        version, _, marker = rest.partition(";")
        version = "".join(version.split())
        if version.startswith("(") and version.endswith(")"):
            version = version[1:-1]
        if version and not _SPECIFIER_RE.match(version):
            raise ValidationError(
                f"pip requirement {text!r}: cannot read the version part {version!r}; "
                "use specifiers such as '==1.2', '>=1.0,<2'"
            )
        out += version
    marker = " ".join(marker.split())
    if marker:
        out += f"; {marker}"
    if hashes:
        out += " " + " ".join(hashes)
    return out


def requirement_name(requirement: str) -> str:
    """The canonical project name of a canonical requirement string."""
    match = _NAME_RE.match(requirement)
    return canonical_name(match.group(1)) if match else requirement


def canonical_pip_option(option: str) -> str:
    """``-i URL`` / ``--index-url=URL`` -> ``--index-url URL``; refuses other options."""
    words = option.replace("=", " ", 1).split() if option.startswith("--") else option.split()
    if not words:
        raise ValidationError("an empty pip option was given")
    short = {"-i": "--index-url", "-f": "--find-links"}
    flag = short.get(words[0], words[0])
    if flag in PIP_FLAG_OPTIONS and len(words) == 1:
        return flag
    if flag in PIP_OPTIONS_WITH_VALUE and len(words) == 2:
        return f"{flag} {words[1]}"
    allowed = ", ".join((*PIP_OPTIONS_WITH_VALUE, *PIP_FLAG_OPTIONS))
    raise ValidationError(
        f"pip option {option!r} is not supported in an environment spec; the supported "
        f"ones are {allowed} (pip configuration files are honoured as they are)"
    )


def python_version_from_conda(match_spec: str) -> str | None:
    """``python=3.8`` -> ``3.8``; ``python>=3.9`` -> ``>=3.9``; ``python`` -> None."""
    rest = match_spec.strip()[len("python") :].strip()
    if not rest:
        return None
    if rest.startswith("=") and not rest.startswith("=="):
        rest = rest[1:]
    elif rest.startswith("=="):
        rest = rest[2:]
    rest = rest.strip()
    if rest.endswith(".*"):
        rest = rest[:-2]
    return rest or None


def current_python_version() -> str:
    """The major.minor of the Python running Runyard: the default for a spec."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _str_list(spec: Mapping[str, Any], key: str) -> list[str]:
    value = spec.get(key) or []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"environment spec key {key!r} must be a list of strings")
    items = list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(
                f"environment spec key {key!r} must hold non-empty strings, got {item!r}"
            )
    return [i.strip() for i in items]


def _optional_str(spec: Mapping[str, Any], key: str) -> str | None:
    value = spec.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"environment spec key {key!r} must be a string or null")
    return value.strip()


def _bool(spec: Mapping[str, Any], key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise ValidationError(f"environment spec key {key!r} must be true or false")
    return value


def normalize_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Validates ``spec`` and returns its normal form (a new dict, every key present).

    Raises ValidationError naming the bad key or requirement.
    """
    if not isinstance(spec, Mapping):
        raise ValidationError(f"an environment spec must be a dict, got {type(spec).__name__}")
    unknown = sorted(set(spec) - _ALL_KEYS)
    if unknown:
        raise ValidationError(
            f"environment spec has unknown key(s) {', '.join(map(repr, unknown))}; "
            f"the known keys are {', '.join(sorted(_ALL_KEYS))}"
        )
    schema = spec.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise ValidationError(
            f"environment spec schema {schema!r} is not supported by this Runyard "
            f"(it reads schema {SCHEMA_VERSION}); upgrade Runyard"
        )
    name = spec.get("name") or ""
    if not isinstance(name, str):
        raise ValidationError("environment spec key 'name' must be a string")
    version = spec.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ValidationError("environment spec key 'version' must be an integer or null")

    user_managed = _bool(spec, "user_managed")
    python_version = _optional_str(spec, "python_version")
    if python_version is not None and not _PYTHON_VERSION_RE.match(python_version):
        raise ValidationError(
            f"python version {python_version!r} is not understood; write e.g. '3.11'"
        )
    if python_version is None and not user_managed:
        python_version = current_python_version()

    pip = sorted(
        {canonical_requirement(r) for r in _str_list(spec, "pip")},
        key=lambda r: (requirement_name(r), r),
    )
    pip_options = list(
        dict.fromkeys(canonical_pip_option(o) for o in _str_list(spec, "pip_options"))
    )
    conda = sorted(set(_str_list(spec, "conda")))
    channels = list(dict.fromkeys(_str_list(spec, "channels")))  # order is channel priority

    env_vars = spec.get("environment_variables") or {}
    if not isinstance(env_vars, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env_vars.items()
    ):
        raise ValidationError(
            "environment_variables must map strings to strings; convert values with str()"
        )
    return {
        "schema": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "python_version": python_version,
        "pip": pip,
        "pip_options": pip_options,
        "conda": conda,
        "channels": channels,
        "conda_file": _bool(spec, "conda_file"),
        "user_managed": user_managed,
        "interpreter_path": _optional_str(spec, "interpreter_path"),
        "environment_variables": dict(sorted(env_vars.items())),
        "docker_base_image": _optional_str(spec, "docker_base_image"),
    }


def content_hash(normalized: Mapping[str, Any]) -> str:
    """sha256 of a normalised spec's content (everything but name and version)."""
    content = {k: normalized[k] for k in _CONTENT_KEYS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec_hash(spec: Mapping[str, Any] | None) -> str:
    """The content hash of ``spec`` ("" for None, the submitting interpreter)."""
    if spec is None:
        return ""
    return content_hash(normalize_spec(spec))


def parse_lock(lock_text: str) -> list[str]:
    """The requirement lines of a lock (``uv pip freeze`` output), canonicalised."""
    pins: list[str] = []
    for raw in lock_text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            pins.append(canonical_requirement(line))
    return pins


def spec_from_lock(spec: Mapping[str, Any], lock_text: str) -> dict[str, Any]:
    """A copy of ``spec`` whose pip requirements are the exact versions in
    ``lock_text``, so that rerunning builds what ran before (``run.resubmit()``).

    A user-managed spec, or an empty lock, gives the spec back normalised.
    """
    normalized = normalize_spec(spec)
    if normalized["user_managed"] or not lock_text.strip():
        return normalized
    locked = dict(normalized)
    locked["pip"] = parse_lock(lock_text)
    return normalize_spec(locked)
