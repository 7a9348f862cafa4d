"""``runyard datastore``, ``runyard dataset`` and ``runyard model``: a few lines each
over :mod:`runyard.core.datastore`, :mod:`runyard.core.dataset` and
:mod:`runyard.core.model`."""

from __future__ import annotations

from typing import Any

import click

from runyard.cli.common import CliContext, pass_cli
from runyard.cli.output import echo_json, echo_table, fmt_time, list_json

_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
def datastore() -> None:
    """List datastores and upload files to them."""


@datastore.command("list")
@_JSON
@pass_cli
def datastore_list(cli: CliContext, as_json: bool) -> None:
    """The workspace's datastores (the default one first)."""
    from runyard.core.datastore import Datastore

    stores = list(Datastore.list(cli.ws).values())
    if as_json:
        echo_json(list_json("datastore", [s.spec.as_dict() for s in stores]))
        return
    echo_table(["name", "type", "url"], [[s.name, s.datastore_type, s.spec.url] for s in stores])


@datastore.command("upload")
@click.argument("src_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--target-path", default="", help="Folder in the datastore.")
@click.option("--name", "name", default=None, help="Datastore (default: the workspace's).")
@click.option("--overwrite", is_flag=True, help="Replace files already there.")
@_JSON
@pass_cli
def datastore_upload(
    cli: CliContext,
    src_dir: str,
    target_path: str,
    name: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Upload every file under SRC_DIR."""
    from runyard.core.datastore import Datastore

    ref = Datastore(cli.ws, name).upload(
        src_dir, target_path, overwrite=overwrite, show_progress=not as_json
    )
    if as_json:
        echo_json({"datastore": ref.datastore.name, "path": ref.path_on_datastore})
        return
    click.echo(f"uploaded {src_dir} to {ref.datastore.name}:{ref.path_on_datastore or '/'}")


@click.group()
def dataset() -> None:
    """List, inspect and download registered datasets."""


def _dataset_row(v: Any) -> dict[str, Any]:
    return {
        "id": v.dataset_id,
        "name": v.name,
        "version": v.version,
        "kind": v.kind,
        "files": v.file_count,
        "bytes": v.total_bytes,
        "content_hash": v.content_hash,
        "run_id": v.run_id,
        "created_at": v.created_at,
        "tags": dict(v.tags),
        "paths": list(v.definition.get("paths", [])),
        "datastore": v.definition.get("datastore", {}).get("name"),
    }


@dataset.command("list")
@click.option("--name", default=None, help="Only this dataset's versions.")
@_JSON
@pass_cli
def dataset_list(cli: CliContext, name: str | None, as_json: bool) -> None:
    """Every registered dataset version."""
    versions = cli.ws.store.list_datasets(name)
    if as_json:
        echo_json(list_json("dataset", [_dataset_row(v) for v in versions]))
        return
    rows = [
        [v.name, v.version, v.kind, v.file_count, v.total_bytes, fmt_time(v.created_at)]
        for v in versions
    ]
    echo_table(["name", "version", "kind", "files", "bytes", "created"], rows)


@dataset.command("show")
@click.argument("name")
@click.option("--version", type=int, default=None, help="Default: the latest.")
@_JSON
@pass_cli
def dataset_show(cli: CliContext, name: str, version: int | None, as_json: bool) -> None:
    """A dataset version, its files and the runs that read or wrote it."""
    v = cli.ws.store.get_dataset(name, version)
    row = _dataset_row(v)
    row["files_list"] = {path: entry[1] for path, entry in v.manifest.items()}
    if as_json:
        echo_json(row)
        return
    for key in ("id", "name", "version", "kind", "datastore", "paths", "files", "bytes"):
        click.echo(f"{key}: {row[key]}")
    click.echo(f"content hash: {v.content_hash}")
    for path, size in list(row["files_list"].items())[:20]:
        click.echo(f"  {path}  {size}")


@dataset.command("download")
@click.argument("name")
@click.argument("target", type=click.Path(file_okay=False))
@click.option("--version", type=int, default=None, help="Default: the latest.")
@click.option("--overwrite", is_flag=True, help="Replace files already there.")
@_JSON
@pass_cli
def dataset_download(
    cli: CliContext, name: str, target: str, version: int | None, overwrite: bool, as_json: bool
) -> None:
    """Copy a file dataset's files into TARGET, checking each sha256."""
    from runyard.core.dataset import Dataset

    found = Dataset.get_by_name(cli.ws, name, version or "latest")
    paths = found.download(target, overwrite=overwrite)
    if as_json:
        echo_json(list_json("file", paths))
        return
    click.echo(f"downloaded {len(paths)} files of {name}:{found.version} to {target}")


@click.group()
def model() -> None:
    """List, inspect, download and alias registered models."""


@model.command("list")
@click.option("--name", default=None, help="Only this model's versions.")
@_JSON
@pass_cli
def model_list(cli: CliContext, name: str | None, as_json: bool) -> None:
    """Every registered model version."""
    from runyard.core.model import Model

    models = Model.list(cli.ws, name=name)
    if as_json:
        echo_json(list_json("model", [m.serialize() for m in models]))
        return
    rows = [
        [m.name, m.version, ",".join(m.aliases), m.run_id or "", fmt_time(m.created_time)]
        for m in models
    ]
    echo_table(["name", "version", "aliases", "run", "created"], rows)


@model.command("show")
@click.argument("ref")
@_JSON
@pass_cli
def model_show(cli: CliContext, ref: str, as_json: bool) -> None:
    """REF is NAME (latest), NAME:VERSION or NAME@ALIAS."""
    m = _model(cli, ref)
    data = {**m.serialize(), "files": m.files}
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key}: {value}")


@model.command("download")
@click.argument("ref")
@click.argument("target", type=click.Path(file_okay=False), default=".")
@click.option("--exist-ok", is_flag=True, help="Overwrite files already there.")
@_JSON
@pass_cli
def model_download(cli: CliContext, ref: str, target: str, exist_ok: bool, as_json: bool) -> None:
    """Copy a model's files into TARGET, checking each sha256."""
    path = _model(cli, ref).download(target, exist_ok=exist_ok)
    if as_json:
        echo_json({"path": path})
        return
    click.echo(path)


@model.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int, required=False)
@click.option("--remove", is_flag=True, help="Remove the alias.")
@click.option("--history", is_flag=True, help="Print the alias's moves instead.")
@_JSON
@pass_cli
def model_alias(
    cli: CliContext,
    name: str,
    alias: str,
    version: int | None,
    remove: bool,
    history: bool,
    as_json: bool,
) -> None:
    """Point ALIAS of model NAME at VERSION (default: the latest)."""
    store = cli.ws.store
    if history:
        events = store.get_model_alias_history(name, alias)
        if as_json:
            echo_json(list_json("event", [e.__dict__ for e in events]))
            return
        rows = [[e.from_version or "", e.to_version or "", e.actor, fmt_time(e.at)] for e in events]
        echo_table(["from", "to", "by", "at"], rows)
        return
    target = None if remove else (version or store.get_model(name).version)
    event = store.set_model_alias(name, alias, target, _actor())
    if as_json:
        echo_json(event.__dict__)
        return
    click.echo(f"{name}@{alias}: {event.from_version} -> {event.to_version}")


def _actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _model(cli: CliContext, ref: str) -> Any:
    from runyard.core.model import Model

    if ":" in ref:
        return Model(cli.ws, id=ref)
    return Model(cli.ws, ref)
