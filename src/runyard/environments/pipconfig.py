"""The user's pip configuration, translated for uv (which does not read it).

pip reads, later overriding earlier (see ``pip config debug``):

1. site-wide files: ``$XDG_CONFIG_DIRS/pip/pip.conf`` (default ``/etc/xdg``), then
   ``/etc/pip.conf``;
2. user files: ``~/.pip/pip.conf``, then ``$XDG_CONFIG_HOME/pip/pip.conf``
   (default ``~/.config``); skipped when ``$PIP_CONFIG_FILE`` names an existing file;
3. the interpreter's ``sys.prefix/pip.conf``;
4. ``$PIP_CONFIG_FILE`` (``os.devnull`` there means: read no file at all).

Across all files, ``[global]`` values are overridden by ``[install]`` ones, and both by
``PIP_*`` environment variables. Multi-valued options are whitespace-separated.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runyard.errors import ConfigError

# pip option name -> whether it takes several whitespace-separated values
_OPTIONS = {
    "index-url": False,
    "extra-index-url": True,
    "find-links": True,
    "constraint": True,
    "no-index": False,
    "trusted-host": True,
    "cert": False,
}
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class PipSettings:
    """The pip options that matter for installing, and where each came from."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    origins: Mapping[str, str] = field(default_factory=dict)  # option -> file or env var


def config_files(
    environ: Mapping[str, str], site_prefix: Path | None = None, etc_dir: Path = Path("/etc")
) -> list[tuple[str, Path]]:
    """pip's config files in the order pip reads them, as (kind, path) pairs.
    ``etc_dir`` stands for ``/etc`` (tests point it elsewhere)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    home = Path(environ.get("HOME") or Path.home())
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files: list[tuple[str, Path]] = [
        ("global", Path(d) / "pip" / "pip.conf") for d in xdg_dirs.split(os.pathsep) if d
    ]
    files.append(("global", etc_dir / "pip.conf"))
    if not (env_file and Path(env_file).exists()):
        xdg_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        files.append(("user", home / ".pip" / "pip.conf"))
        files.append(("user", xdg_home / "pip" / "pip.conf"))
    files.append(
        ("site", Path(site_prefix if site_prefix is not None else sys.prefix) / "pip.conf")
    )
    if env_file:
        files.append(("env", Path(env_file)))
    return files


def _normalize_key(key: str) -> str:
    return key.lower().replace("_", "-").lstrip("-")


def _read_sections(path: Path) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser()
    try:
        with path.open(encoding="utf-8") as fh:
            parser.read_file(fh)
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"pip configuration file {path} cannot be read: {exc}; fix it or point "
            "PIP_CONFIG_FILE elsewhere"
        ) from None
    return {
        section: {_normalize_key(k): v for k, v in parser.items(section)}
        for section in parser.sections()
    }


def read_pip_settings(
    environ: Mapping[str, str] | None = None,
    site_prefix: Path | None = None,
    etc_dir: Path = Path("/etc"),
) -> PipSettings:
    """Reads pip's configuration as pip would for ``pip install``. ``environ`` defaults
    to ``os.environ``; ``site_prefix`` to ``sys.prefix``."""
    env = os.environ if environ is None else environ
    layers: dict[str, dict[str, tuple[str, str]]] = {"global": {}, "install": {}}
    for _kind, path in config_files(env, site_prefix, etc_dir):
        if not path.is_file():
            continue
        for section, values in _read_sections(path).items():
            if section in layers:
                for key, value in values.items():
                    layers[section][key] = (value, str(path))
    merged: dict[str, tuple[str, str]] = {**layers["global"], **layers["install"]}
    for var, value in env.items():
        if var.startswith("PIP_") and var != "PIP_CONFIG_FILE":
            merged[_normalize_key(var[4:])] = (value, f"${var}")

    def many(key: str) -> tuple[str, ...]:
        return tuple(merged[key][0].split()) if key in merged else ()

    def one(key: str) -> str | None:
        value = merged[key][0].strip() if key in merged else ""
        return value or None

    no_index_text = (one("no-index") or "false").lower()
    if no_index_text not in _TRUE | _FALSE:
        raise ConfigError(
            f"pip option no-index={no_index_text!r} (from {merged['no-index'][1]}) is not "
            "a boolean; use true or false"
        )
    return PipSettings(
        index_url=one("index-url"),
        extra_index_urls=many("extra-index-url"),
        find_links=many("find-links"),
        constraints=many("constraint"),
        no_index=no_index_text in _TRUE,
        trusted_hosts=many("trusted-host"),
        cert=one("cert"),
        origins={k: v[1] for k, v in merged.items() if k in _OPTIONS},
    )


def _absolute(location: str, cwd: Path) -> str:
    """A local path made absolute (uv runs elsewhere); URLs are left alone."""
    if "://" in location:
        return location
    path = Path(location).expanduser()
    return str(path if path.is_absolute() else cwd / path)


@dataclass(frozen=True)
class UvSettings:
    """Environment variables and extra arguments that make uv behave like pip here."""

    env: dict[str, str]
    args: tuple[str, ...]
    notes: tuple[str, ...]  # one line per translated option, for the build log


def uv_settings(
    settings: PipSettings, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> UvSettings:
    """Translates pip settings to ``UV_*`` variables. A ``UV_*`` variable the user set
    already wins over the translated pip value."""
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    wanted: dict[str, tuple[str, str]] = {}
    if settings.index_url:
        wanted["UV_INDEX_URL"] = (settings.index_url, "index-url")
    if settings.extra_index_urls:
        wanted["UV_EXTRA_INDEX_URL"] = (" ".join(settings.extra_index_urls), "extra-index-url")
        # pip picks the best version across all indexes; uv's default stops at the first
        # index that has the package, which would hide e.g. a local +cpu wheel.
        wanted["UV_INDEX_STRATEGY"] = ("unsafe-best-match", "extra-index-url")
    if settings.find_links:
        # uv splits UV_FIND_LINKS on commas, not whitespace.
        links = ",".join(_absolute(x, base) for x in settings.find_links)
        wanted["UV_FIND_LINKS"] = (links, "find-links")
    if settings.constraints:
        paths = " ".join(_absolute(x, base) for x in settings.constraints)
        wanted["UV_CONSTRAINT"] = (paths, "constraint")
    if settings.trusted_hosts:
        wanted["UV_INSECURE_HOST"] = (" ".join(settings.trusted_hosts), "trusted-host")
    if settings.cert:
        wanted["SSL_CERT_FILE"] = (_absolute(settings.cert, base), "cert")
    out: dict[str, str] = {}
    notes: list[str] = []
    for var, (value, option) in wanted.items():
        origin = settings.origins.get(option, "pip configuration")
        if env.get(var):
            notes.append(f"pip {option} (from {origin}) not applied: {var} is set already")
            continue
        out[var] = value
        notes.append(f"pip {option} (from {origin}) -> {var}={value}")
    args: tuple[str, ...] = ()
    if settings.no_index:
        args = ("--no-index",)
        notes.append(f"pip no-index (from {settings.origins.get('no-index')}) -> --no-index")
    return UvSettings(env=out, args=args, notes=tuple(notes))
