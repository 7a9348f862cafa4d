"""``python -m runyard.cli.docgen > docs/cli.md``: the CLI reference, generated from the
click commands themselves so that it cannot drift (tests/test_cli_docs.py checks it)."""

from __future__ import annotations

import inspect

import click

from runyard.cli.common import walk_commands

INTRO = """\
# The `runyard` command

Generated from the commands by `python -m runyard.cli.docgen > docs/cli.md`; a test
fails when this file is stale. Errors and their fixes: [troubleshooting](troubleshooting.md).

Every command takes `-w/--workspace PATH` (a workspace folder or its config file),
before or after the command's name: `runyard -w DIR runs list` and `runyard runs list
-w DIR` are the same. Without it the workspace is found from the current folder upwards.

## Output

Tables print floats to 4 significant digits and colour statuses on a terminal; piped,
they are tab-separated text (one header line). Every command that prints data takes
`--json`, with one shape per noun:

- **lists** are always `{"total": N, "<noun>s": [...]}`: `runs list` gives
  `{"total", "runs"}`, `experiments list` `{"total", "experiments"}`, `compute list`
  `{"total", "compute_targets"}`, `env list` `{"total", "environments", "curated",
  "cached"}`, `runs metrics` `{"total", "metrics"}`, `runs download` `{"total",
  "files"}`, `env prune` `{"total", "paths"}`. `total` counts every match; the list
  holds the page shown (`--limit`).
- **a run** is always the same object, from `runs list`, `runs show`, `submit`,
  `runs cancel`, `runs rerun` and `runs logs` (as `{"run": ..., "log": "..."}`;
  `runs delete` and `runs restore` give the list of them):
  `id`, `number`, `experiment_id`, `display_name`, `kind`, `status`, `compute`,
  `created_at`, `started_at`, `ended_at` (Unix seconds or null), `duration` (seconds
  or null), `parent_run_id`, `script`, `arguments`, `environment` (its name, or null for
  the submitting interpreter), `tags`, `properties`, `exit_code`, `error`,
  `deleted_at` (null unless deleted), and
  `metrics`: `{NAME: {"count", "last", "min", "max"}}` (every metric in `runs show`;
  in `runs list` the ones sorted by or shown as columns). NaN and infinities are the
  strings `"nan"`, `"inf"`, `"-inf"`.
- **a compute target**: `{"name", "type", "max_concurrent_runs", "address"}`.
- **an experiment** (`experiments delete` / `restore`): `{"id", "name", "created_at",
  "deleted_at"}`; `experiments list` adds `runs`, `last_run_at`, `status_counts` and
  `tags`.
- `studio` serves until stopped: its output is the banner (`Runyard studio listening
  on URL` and the write token), printed once it listens.
- **an environment** (`env show`): `{"name", "version", "hash", "spec", "built",
  "path", "lock"}`; `env build --json`: `{"name", "version", "hash", "python",
  "build_log"}`.

`submit --wait` and `runs logs --follow` print each status change and, while the
environment is built, a live line such as `building Runyard-PyTorch-CPU: downloading
17 packages, 12 s` to stderr (the step the build log is at: creating the venv, resolving,
downloading, installing, compiling bytecode, locking versions), then the run's output to
stdout. With `--json` the output goes to
stderr too, and stdout is the finished run's object. `env build` shows the same live
line on a terminal; the tools' full output is in the build log it names (in the
environment cache's `logs/` folder).

## Sorting and columns

`runs list --sort metric:NAME[:last|min|max]` sorts by a metric's last value (or its
minimum or maximum), **lowest first** (the best loss first); `--desc` puts the highest
first (for accuracy). Column sorts (`created_at`, the default, `number`, `status`,
`duration`, `started_at`, `ended_at`) put the newest or largest first; `--asc`
reverses them. A metric that no listed run logged is an error naming the metrics that
exist. `--columns` chooses the table's columns, e.g. `--columns
name,tags,params,metric:loss,metric:accuracy:max` (`params` are the script's
arguments).

## Shell completion

Click's completion, for bash, zsh and fish; it completes commands, options, run ids
(`runs show`, `logs`, `cancel`, ...), experiment names (`--experiment`) and compute
targets (`--compute`) from the workspace:

```sh
eval "$(_RUNYARD_COMPLETE=bash_source runyard)"   # in ~/.bashrc
eval "$(_RUNYARD_COMPLETE=zsh_source runyard)"    # in ~/.zshrc
_RUNYARD_COMPLETE=fish_source runyard > ~/.config/fish/completions/runyard.fish
```

## Commands
"""


def _option_row(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
        if not param.is_flag and param.metavar != "":
            names += f" {param.make_metavar(click.Context(click.Command('x')))}"
        names = names.replace("|", "\\|")
        text = (param.help or "").replace("|", "\\|").replace("\n", " ")
        if param.show_default and param.default not in (None, False, ()):
            text += f" (default: `{param.default}`)"
        if param.required:
            text += " (required)"
        return f"| {names} | {text} |"
    return ""


def command_markdown(name: str, cmd: click.Command) -> str:
    """One command's section: usage, help, options."""
    ctx = click.Context(cmd, info_name=name)
    lines = [f"### `{name}`", ""]
    pieces = cmd.collect_usage_pieces(ctx)
    lines += ["```", f"{name} {' '.join(pieces)}".rstrip(), "```", ""]
    if cmd.help:
        lines += [inspect.cleandoc(cmd.help).replace("\b\n", ""), ""]
    if isinstance(cmd, click.Group):
        subs = ", ".join(f"`{n}`" for n in sorted(cmd.commands))
        lines += [f"Commands: {subs}.", ""]
    rows = [
        _option_row(p)
        for p in cmd.params
        if isinstance(p, click.Option) and not p.hidden and p.name != "workspace"
    ]
    if rows:
        lines += ["| option | meaning |", "|---|---|", *rows, ""]
    return "\n".join(lines)


def generate() -> str:
    """The whole of docs/cli.md."""
    from runyard.cli import cli

    sections = [command_markdown("runyard", cli)]
    sections += [command_markdown(name, cmd) for name, cmd in walk_commands(cli, "runyard")]
    return INTRO + "\n" + "\n".join(sections)


if __name__ == "__main__":
    click.echo(generate(), nl=False)
