"""Azure Blob datastores against Azurite (npm) on loopback: registration with the
account key, uploads, a dataset read by a submitted run through ``as_download`` and
``as_mount``, downloads, the key kept out of every store row and log, and a wrong
key refused with an error naming the datastore and the fix."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Dataset, Datastore, Experiment, ScriptRunConfig, Workspace
from runyard.entities import ComputeTargetConfig
from runyard.errors import DatastoreAccessError
from tests.support.azurite import Azurite, azurite_binary, azurite_server

pytest.importorskip("adlfs")
if azurite_binary() is None:
    pytest.skip("azurite is not installed (run `make azurite`)", allow_module_level=True)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RUNYARD_SECRETS_FILE", str(tmp_path / "secrets.json"))
    workspace = Workspace.create(tmp_path / "project")
    workspace.add_compute_target(ComputeTargetConfig(name="cpu", type="local"))
    yield workspace
    workspace.close()


def _container(tmp_path: Path) -> str:
    return f"c{tmp_path.name.replace('_', '-').lower()}"[:60].rstrip("-")


def _blob(ws: Workspace, azurite: Azurite, container: str, key: str | None = None) -> Datastore:
    return Datastore.register_azure_blob_container(
        ws,
        "azdata",
        container_name=container,
        account_name=azurite.account_name,
        account_key=key or azurite.account_key,
        endpoint=azurite.endpoint,
        create_if_not_exists=True,
    )


def _tree(root: Path, n: int) -> Path:
    for i in range(n):
        (root / f"part{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"part{i % 3}" / f"{i}.bin").write_bytes(bytes([i % 256]) * (100 + i))
    return root


TRAIN = textwrap.dedent(
    """
    import os, sys
    from runyard.core import Run
    run = Run.get_context()
    for name, root in (("mounted", sys.argv[1]), ("copied", sys.argv[2])):
        total = sum(len(open(os.path.join(d, f), "rb").read())
                    for d, _, fs in os.walk(root) for f in fs)
        run.log(name, total)
    run.log("same", int(run.input_datasets["dl"] == sys.argv[2]))
    """
)


def _no_key_anywhere(ws: Workspace, azurite: Azurite, logs: list[str]) -> None:
    project = ws.config_path.parent
    for path in project.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert azurite.account_key.encode() not in data, path
    for text in logs:
        assert azurite.account_key not in text


def test_upload_register_and_read_in_a_submitted_run(
    ws: Workspace, azurite: Azurite, tmp_path: Path
) -> None:
    store = _blob(ws, azurite, _container(tmp_path))
    assert store.datastore_type == "AzureBlob" and store.account_name == azurite.account_name
    store.upload(str(_tree(tmp_path / "data", 12)), target_path="cifar", show_progress=False)
    ds = Dataset.File.from_files(path=(Datastore.get(ws, "azdata"), "cifar")).register(ws, "azset")
    again = Dataset.File.from_files(path=(store, "cifar")).register(ws, "azset")
    assert again.version == ds.version == 1
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    config = ScriptRunConfig(
        source_directory=str(code),
        script="train.py",
        compute_target="cpu",
        arguments=[
            ds.as_named_input("mnt").as_mount(),
            ds.as_named_input("dl").as_download(),
        ],
    )
    run = Experiment(ws, "az").submit(config)
    run.wait_for_completion(timeout=120, raise_on_error=False)
    assert run.get_status() == "Completed", run.get_driver_log()
    expected = sum(100 + i for i in range(12))
    metrics = run.get_metrics()
    assert metrics["mounted"] == metrics["copied"] == expected and metrics["same"] == 1
    names = {d["dataset"]["name"] for d in run.get_details()["inputDatasets"]}
    assert names == {"azset"}
    got = Dataset.get_by_name(ws, "azset").download(tmp_path / "dl")
    assert len(got) == 12
    assert sorted(p.read_bytes() for p in (tmp_path / "dl").rglob("*.bin")) == sorted(
        p.read_bytes() for p in (tmp_path / "data").rglob("*.bin")
    )
    back = tmp_path / "back"
    store.download(back, prefix="cifar", show_progress=False)
    assert len(list(back.rglob("*.bin"))) == 12
    # The key is in the 0600 secrets file only: no store row, registry, run folder or log.
    assert azurite.account_key in (tmp_path / "secrets.json").read_text()
    _no_key_anywhere(ws, azurite, [run.get_driver_log()])


def test_a_wrong_account_key_names_the_datastore_and_the_fix(
    ws: Workspace,
    azurite: Azurite,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container = _container(tmp_path)
    _blob(ws, azurite, container).unregister()
    wrong = "d3Jvbmcta2V5" + "A" * 76 + "=="
    with pytest.raises(DatastoreAccessError) as info:
        _blob(ws, azurite, container, key=wrong)
    message = str(info.value)
    assert "'azdata'" in message and "refused the credentials" in message
    assert "RUNYARD_DATASTORE_AZDATA_ACCOUNT_KEY" in message and "overwrite=True" in message
    assert wrong not in message and azurite.account_key not in message
    assert set(ws.datastores) == {"workspaceblobstore"}
    # A key that goes bad after registration (rotated) is the same clear error on use.
    store = _blob(ws, azurite, container)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "a.txt").write_text("a")
    store.upload(str(tmp_path / "one"), target_path="one", show_progress=False)
    monkeypatch.setenv("RUNYARD_DATASTORE_AZDATA_ACCOUNT_KEY", wrong)
    with pytest.raises(DatastoreAccessError, match=r"'azdata'.*ACCOUNT_KEY"):
        Dataset.File.from_files(path=(Datastore.get(ws, "azdata"), "one")).to_path()
    _no_key_anywhere(ws, azurite, [caplog.text])
