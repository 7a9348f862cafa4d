"""Reading pip requirements files into spec parts (requirements and options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runyard.environments.spec import canonical_pip_option, canonical_requirement
from runyard.errors import ValidationError

_MAX_INCLUDE_DEPTH = 10


@dataclass
class RequirementLines:
    """Requirements and pip options read from a file (or a conda file's ``pip:`` list)."""

    requirements: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins ``\\`` continuations and drops comments, as pip does."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        # pip's rule: a comment starts at '#' at the line start or after whitespace.
        if line.lstrip().startswith("#"):
            continue
        cut = line.find(" #")
        line = (line[:cut] if cut >= 0 else line).strip()
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def add_requirement_line(
    line: str, into: RequirementLines, base_dir: Path, where: str, depth: int = 0
) -> None:
    """Adds one requirements-file line: a requirement, ``-r FILE`` or an index option."""
    words = line.split()
    head = words[0]
    if head in ("-r", "--requirement") or head.startswith("--requirement="):
        target = line.split("=", 1)[1] if "=" in head else " ".join(words[1:])
        if not target:
            raise ValidationError(f"{where}: '{head}' needs a file name")
        include = Path(target).expanduser()
        if not include.is_absolute():
            include = base_dir / include
        _read_file(include, into, depth + 1)
        return
    if head in ("-e", "--editable"):
        raise ValidationError(
            f"{where}: editable install {line!r} is not supported in an environment "
            "(it is not reproducible); install the package by name or 'name @ URL'"
        )
    if head in ("-c", "--constraint"):
        raise ValidationError(
            f"{where}: constraint files are not supported inside an environment's "
            "requirements; pin the versions in the requirements themselves"
        )
    try:
        if head.startswith("-") and not head.startswith("--hash"):
            option = canonical_pip_option(line)
            flag, _, value = option.partition(" ")
            if flag == "--find-links" and "://" not in value:
                # uv reads the requirements from elsewhere: anchor the folder here.
                option = f"{flag} {(base_dir / Path(value).expanduser()).resolve()}"
            into.options.append(option)
        else:
            into.requirements.append(canonical_requirement(line))
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None


def _read_file(path: Path, into: RequirementLines, depth: int) -> None:
    if depth > _MAX_INCLUDE_DEPTH:
        raise ValidationError(
            f"{path}: requirements files include each other more than "
            f"{_MAX_INCLUDE_DEPTH} levels deep; is there a '-r' loop?"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"requirements file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read requirements file {path}: {exc}") from None
    for number, line in _logical_lines(text):
        add_requirement_line(line, into, path.parent, f"{path}:{number}", depth)


def read_requirements_file(path: str | Path) -> RequirementLines:
    """Reads a pip requirements file (comments, continuations, ``-r`` includes, index
    options). Raises ValidationError naming the file and line of a bad entry."""
    out = RequirementLines()
    _read_file(Path(path).expanduser(), out, 0)
    return out
