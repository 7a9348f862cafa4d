"""The user's pip configuration, read as pip reads it and translated for uv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.environments.pipconfig import read_pip_settings, uv_settings
from runyard.errors import ConfigError


def _layout(tmp_path: Path) -> dict[str, str]:
    """A home, an XDG system dir and an /etc stand-in, each with a pip.conf."""
    (tmp_path / "xdg" / "pip").mkdir(parents=True)
    (tmp_path / "xdg" / "pip" / "pip.conf").write_text(
        "[global]\nindex-url = https://system.example/simple\n"
        "extra-index-url = https://system-extra.example/simple\n"
        "[install]\nfind-links = /system/wheels\n",
        encoding="utf-8",
    )
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "pip.conf").write_text(
        "[global]\nconstraint = /etc-constraints.txt\n", encoding="utf-8"
    )
    (tmp_path / "home" / ".config" / "pip").mkdir(parents=True)
    (tmp_path / "home" / ".config" / "pip" / "pip.conf").write_text(
        "[global]\nextra-index-url =\n    file:///opt/a/simple\n    file:///opt/b/simple\n"
        "find_links = /user/wheels\n",  # underscores are accepted, as pip does
        encoding="utf-8",
    )
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}


def test_files_layer_as_pip_does(tmp_path: Path) -> None:
    environ = _layout(tmp_path)
    settings = read_pip_settings(environ, site_prefix=tmp_path / "site", etc_dir=tmp_path / "etc")
    assert settings.index_url == "https://system.example/simple"
    # the user file's [global] overrides the system file's [global] ...
    assert settings.extra_index_urls == ("file:///opt/a/simple", "file:///opt/b/simple")
    # ... but any file's [install] overrides every [global]
    assert settings.find_links == ("/system/wheels",)
    assert settings.constraints == ("/etc-constraints.txt",)
    assert settings.origins["extra-index-url"].endswith(".config/pip/pip.conf")


def test_environment_variables_win(tmp_path: Path) -> None:
    environ = {
        **_layout(tmp_path),
        "PIP_INDEX_URL": "https://env.example/simple",
        "PIP_EXTRA_INDEX_URL": "https://x.example/simple https://y.example/simple",
        "PIP_FIND_LINKS": "/env/wheels",
        "PIP_CONSTRAINT": "/env/c1.txt /env/c2.txt",
    }
    settings = read_pip_settings(environ, site_prefix=tmp_path / "site", etc_dir=tmp_path / "etc")
    assert settings.index_url == "https://env.example/simple"
    assert settings.extra_index_urls == ("https://x.example/simple", "https://y.example/simple")
    assert settings.find_links == ("/env/wheels",)
    assert settings.constraints == ("/env/c1.txt", "/env/c2.txt")
    assert settings.origins["find-links"] == "$PIP_FIND_LINKS"


def test_pip_config_file(tmp_path: Path) -> None:
    environ = _layout(tmp_path)
    own = tmp_path / "own.conf"
    own.write_text("[install]\nno-index = yes\nconstraint = rel/c.txt\n", encoding="utf-8")
    environ["PIP_CONFIG_FILE"] = str(own)
    settings = read_pip_settings(environ, site_prefix=tmp_path / "site", etc_dir=tmp_path / "etc")
    # an existing $PIP_CONFIG_FILE replaces the user files, not the system ones
    assert settings.extra_index_urls == ("https://system-extra.example/simple",)
    assert settings.no_index is True and settings.constraints == ("rel/c.txt",)
    environ["PIP_CONFIG_FILE"] = os.devnull  # pip: read no file at all
    settings = read_pip_settings(environ, site_prefix=tmp_path / "site", etc_dir=tmp_path / "etc")
    assert settings.index_url is None and settings.find_links == ()


def test_bad_config_file_is_named(tmp_path: Path) -> None:
    own = tmp_path / "own.conf"
    own.write_text("index-url = no section header\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"own\.conf"):
        read_pip_settings(
            {"HOME": str(tmp_path), "PIP_CONFIG_FILE": str(own)},
            site_prefix=tmp_path,
            etc_dir=tmp_path,
        )


def test_translation_to_uv(tmp_path: Path) -> None:
    environ = {
        **_layout(tmp_path),
        "PIP_CONSTRAINT": "rel/c.txt",
        "PIP_TRUSTED_HOST": "a.example b.example",
    }
    settings = read_pip_settings(environ, site_prefix=tmp_path / "site", etc_dir=tmp_path / "etc")
    uv = uv_settings(settings, environ={}, cwd=tmp_path)
    assert uv.env == {
        "UV_INDEX_URL": "https://system.example/simple",
        "UV_EXTRA_INDEX_URL": "file:///opt/a/simple file:///opt/b/simple",
        "UV_INDEX_STRATEGY": "unsafe-best-match",
        "UV_FIND_LINKS": "/system/wheels",
        "UV_CONSTRAINT": str(tmp_path / "rel" / "c.txt"),
        "UV_INSECURE_HOST": "a.example b.example",
    }
    assert uv.args == ()
    assert any("UV_FIND_LINKS" in note for note in uv.notes)
    # a UV_* variable the user set wins over the translated pip value
    kept = uv_settings(settings, environ={"UV_INDEX_URL": "https://mine/simple"}, cwd=tmp_path)
    assert "UV_INDEX_URL" not in kept.env
    assert any("not applied" in note for note in kept.notes)


def test_several_find_links_are_comma_separated_for_uv(tmp_path: Path) -> None:
    settings = read_pip_settings(
        {
            "HOME": str(tmp_path),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_FIND_LINKS": "/a /b",
            "PIP_NO_INDEX": "1",
        },
        site_prefix=tmp_path,
        etc_dir=tmp_path,
    )
    uv = uv_settings(settings, environ={}, cwd=tmp_path)
    assert uv.env["UV_FIND_LINKS"] == "/a,/b"
    assert "UV_INDEX_STRATEGY" not in uv.env  # no extra index, no strategy change
    assert uv.args == ("--no-index",)


_PIP_PROBE = """
import json
from pip._internal.commands import create_command
options, _ = create_command("install").parse_args([])
print(json.dumps({"index_url": options.index_url, "extra": options.extra_index_urls,
                  "find_links": options.find_links, "constraints": options.constraints}))
"""


def test_agrees_with_pip_itself(tmp_path: Path) -> None:
    """pip's own option parser, given the same files and variables, reads the same
    values (system files of this machine included, as both read them)."""
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PIP_")},
        **_layout(tmp_path),
        "PIP_EXTRA_INDEX_URL": "https://x.example/simple https://y.example/simple",
    }
    environ.pop("XDG_CONFIG_HOME", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PIP_PROBE],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pip = json.loads(proc.stdout)
    ours = read_pip_settings(environ)
    assert ours.extra_index_urls == tuple(pip["extra"])
    assert ours.find_links == tuple(pip["find_links"])
    assert ours.constraints == tuple(pip["constraints"])
    assert (ours.index_url or "https://pypi.org/simple") == pip["index_url"]


def test_this_machine(tmp_path: Path) -> None:
    """On a machine configured like the project's (local indexes, /opt/wheels), the
    translation reaches uv; skipped elsewhere."""
    settings = read_pip_settings()
    if "file:///opt/pypi/simple" not in settings.extra_index_urls:
        pytest.skip("this machine has no local package index configured")
    uv = uv_settings(settings, environ={}, cwd=tmp_path)
    assert "file:///opt/pypi/simple" in uv.env["UV_EXTRA_INDEX_URL"]
    assert uv.env["UV_INDEX_STRATEGY"] == "unsafe-best-match"
    assert "/opt/wheels" in uv.env["UV_FIND_LINKS"].split(",")
