"""Walking a source folder for a snapshot, with its ignore rules.

``.runyardignore`` at the top of the folder if present, else every ``.gitignore``
(nested ones apply below their folder), in gitignore syntax. ``.git/``, ``.runyard/``
and ``__pycache__/`` are always skipped. A symlink (to a file or a folder) whose target
is inside the folder is taken *as a link* (an :class:`Entry` with ``link``, the target
relative to the link's folder), never as its target's content and never followed; a
link leaving the folder, a broken link and a link loop are skipped with a warning
naming them. A file name that is not UTF-8 is refused.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runyard.errors import ValidationError

ALWAYS_SKIPPED = frozenset({".git", ".runyard", "__pycache__"})
RUNYARD_IGNORE = ".runyardignore"
GIT_IGNORE = ".gitignore"


@dataclass(frozen=True)
class Entry:
    """A file of the source folder that the snapshot takes."""

    path: str  # relative, posix
    full: str
    size: int
    mtime_ns: int
    inode: int
    mode: int
    link: str | None = None  # a symlink: its target, relative to the link's folder


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    include: bool  # True: ignore what it matches; False: a negation ("!pattern")
    contents_only: bool  # "dir/**": matches what is inside dir/, not dir/ itself

    def matches(self, path: str) -> bool:
        """Whether the rule matches ``path`` itself (folders end with "/"), as git
        decides it: not merely because it matches one of the path's folders. pathspec's
        regexes also match everything below a matched folder, which is what lets a
        negation like "!a/" wrongly bring back a/build/ after "build/"."""
        if self.regex.pattern == ".":  # "*" or "**": every path
            return bool(path)
        if self.contents_only:
            found = self.regex.match(path)
            return found is not None and found.end() < len(path)
        return self.regex.fullmatch(path) is not None


class _IgnoreRules:
    """Gitignore-style rules, possibly from several nested files."""

    def __init__(self, source: Path) -> None:
        self._rules: dict[str, list[_Rule]] = {}  # folder prefix ("" or "a/b/") -> rules
        self.use_gitignore = not (source / RUNYARD_IGNORE).is_file()
        if not self.use_gitignore:
            self._load("", source / RUNYARD_IGNORE)

    def _load(self, prefix: str, path: Path) -> None:
        import pathspec  # only paid for when a folder has ignore rules

        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        rules = []
        for pattern in pathspec.GitIgnoreSpec.from_lines(lines).patterns:
            if pattern.include is None or pattern.regex is None:
                continue  # a comment or a blank line
            text = str(getattr(pattern, "pattern", "")).rstrip()
            rules.append(_Rule(pattern.regex, bool(pattern.include), text.endswith("/**")))
        self._rules[prefix] = rules

    def enter(self, prefix: str, folder: str, names: set[str]) -> None:
        """Called for each folder walked; picks up its ``.gitignore``."""
        if self.use_gitignore and GIT_IGNORE in names:
            self._load(prefix, Path(folder) / GIT_IGNORE)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """The last rule matching the path decides; deeper files come after shallower
        ones, as in git. A folder that is ignored is never entered, so nothing below it
        can be brought back (git's rule too)."""
        verdict = False
        for prefix, rules in self._rules.items():
            if prefix and not rel.startswith(prefix):
                continue
            sub = rel[len(prefix) :] + ("/" if is_dir else "")
            for rule in rules:
                if rule.matches(sub):
                    verdict = rule.include
        return verdict


def _inside(source: Path, path: str) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(source))


def walk(source: Path) -> Iterator[Entry]:
    """The files of ``source`` that a snapshot takes, after the ignore rules."""
    rules = _IgnoreRules(source)
    stack: list[tuple[str, str]] = [(str(source), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except (PermissionError, FileNotFoundError):
            continue
        rules.enter(prefix, folder, {e.name for e in entries})
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in ALWAYS_SKIPPED or rules.ignored(rel, True):
                        continue
                    stack.append((entry.path, rel + "/"))
                    continue
                if entry.is_symlink():
                    found = _link(source, entry, rel, rules)
                    if found is not None:
                        yield found
                    continue
                st = entry.stat()
            except OSError:
                continue  # removed while walking
            if not stat.S_ISREG(st.st_mode) or rules.ignored(rel, False):
                continue
            _check_name(source, entry.path, rel)
            yield Entry(rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_mode)


def _link(source: Path, entry: os.DirEntry[str], rel: str, rules: _IgnoreRules) -> Entry | None:
    """A symlink of the folder as a link entry, or None (skipped, with a warning)."""
    if rules.ignored(rel, False):  # git keeps a link as a file, whatever it points at
        return None
    try:
        entry.stat()  # follows the link: a loop or a missing target fails here
    except OSError as exc:
        why = "a symlink loop" if exc.errno == errno.ELOOP else "a broken symlink"
        warnings.warn(f"snapshot: skipped {entry.path}, {why}", stacklevel=3)
        return None
    if not _inside(source, entry.path):
        # A link out of the folder (src/x -> /etc/passwd) would copy a file the
        # user never meant to share into the snapshot, served by the studio.
        warnings.warn(
            f"snapshot: skipped {entry.path}, a symlink to "
            f"{os.path.realpath(entry.path)} outside {source}",
            stacklevel=3,
        )
        return None
    _check_name(source, entry.path, rel)
    # Relative to the link's folder, resolved: it still points right when restored elsewhere.
    folder = os.path.realpath(os.path.dirname(entry.path))
    target = os.path.relpath(os.path.realpath(entry.path), folder)
    _check_name(source, os.path.realpath(entry.path), target)
    st = entry.stat(follow_symlinks=False)
    size = len(target.encode("utf-8"))
    return Entry(rel, entry.path, size, st.st_mtime_ns, st.st_ino, 0o777, link=target)


def _check_name(source: Path, full: str, rel: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"the source folder has a file whose name is not UTF-8: "
            f"{os.fsencode(full)!r}; rename it or add it to {source / RUNYARD_IGNORE}"
        ) from None
