"""Remote datastores against a real S3-compatible server (moto's, on loopback):
registration that checks the endpoint, credentials kept out of the registry, uploads,
datasets read through the per-machine cache (a second read moves nothing), and a
submitted run whose input comes from S3."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.core import Dataset, Datastore, Experiment, ScriptRunConfig, Workspace
from runyard.entities import ComputeTargetConfig
from runyard.errors import DatastoreAccessError
from tests.support.s3 import free_port, moto_server

pytest.importorskip("s3fs")
pytest.importorskip("moto")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str) -> Iterator[Workspace]:
    import fsspec

    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RUNYARD_SECRETS_FILE", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fs = fsspec.filesystem(
        "s3", key="testing", secret="testing", endpoint_url=endpoint, skip_instance_cache=True
    )
    bucket = f"b{tmp_path.name.replace('_', '-').lower()}"[:60]
    fs.mkdir(bucket)
    workspace = Workspace.create(tmp_path / "project")
    workspace.add_compute_target(ComputeTargetConfig(name="cpu", type="local"))
    workspace.bucket = bucket  # type: ignore[attr-defined]
    yield workspace
    workspace.close()


def _s3(ws: Workspace, endpoint: str) -> Datastore:
    return Datastore.register_s3(
        ws,
        "s3data",
        ws.bucket,  # type: ignore[attr-defined]
        prefix="root",
        endpoint_url=endpoint,
        access_key_id="testing",
        secret_access_key="testing",
    )


def _tree(root: Path, n: int) -> Path:
    for i in range(n):
        (root / f"part{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"part{i % 3}" / f"{i}.bin").write_bytes(bytes([i % 256]) * (100 + i))
    return root


def test_register_upload_and_read_through_the_cache(
    ws: Workspace, endpoint: str, tmp_path: Path
) -> None:
    store = _s3(ws, endpoint)
    assert store.datastore_type == "S3" and "s3data" in ws.datastores
    registry = (ws.config_path.parent / "datastores.json").read_text()
    assert "testing" not in registry  # the keys are not in the registry ...
    secrets = tmp_path / "secrets.json"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600  # ... but in a 0600 file
    assert json.loads(secrets.read_text())["s3data"]["key"] == "testing"
    store.upload(str(_tree(tmp_path / "data", 30)), target_path="cifar", show_progress=False)
    ds = Dataset.File.from_files(path=(Datastore.get(ws, "s3data"), "cifar"))
    assert len(ds.to_path()) == 30
    registered = ds.register(ws, "s3set")
    again = Dataset.File.from_files(path=(store, "cifar")).register(ws, "s3set")
    assert again.version == registered.version == 1
    blobs = ws_cache_blobs(tmp_path)
    assert len(blobs) == 30
    inodes = {p: p.stat().st_ino for p in blobs}
    with Dataset.get_by_name(ws, "s3set").mount() as mounted:
        files = sorted(Path(mounted.mount_point).rglob("*.bin"))
        assert len(files) == 30 and files[0].read_bytes()[:1] == b"\x00"
    # Nothing was fetched again: every cached blob is the same file as before.
    assert {p: p.stat().st_ino for p in ws_cache_blobs(tmp_path)} == inodes
    got = Dataset.get_by_name(ws, "s3set").download(tmp_path / "dl")
    assert len(got) == 30


def ws_cache_blobs(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "datasets" / "blobs").glob("*/*"))


TRAIN = textwrap.dedent(
    """
    import os, sys
    from runyard.core import Run
    total = sum(len(open(os.path.join(d, f), "rb").read())
                for d, _, fs in os.walk(sys.argv[1]) for f in fs)
    Run.get_context().log("bytes", total)
    """
)


def test_a_submitted_run_reads_an_s3_dataset(ws: Workspace, endpoint: str, tmp_path: Path) -> None:
    store = _s3(ws, endpoint)
    store.upload(str(_tree(tmp_path / "data", 9)), target_path="small", show_progress=False)
    ds = Dataset.File.from_files(path=(store, "small")).register(ws, "small")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    config = ScriptRunConfig(
        source_directory=str(code),
        script="train.py",
        compute_target="cpu",
        arguments=[ds.as_named_input("small").as_mount()],
    )
    run = Experiment(ws, "s3").submit(config)
    run.wait_for_completion(timeout=120, raise_on_error=False)
    assert run.get_status() == "Completed", run.get_driver_log()
    assert run.get_metrics()["bytes"] == sum(100 + i for i in range(9))
    # The driver log never shows the secret.
    assert "testing" not in run.get_driver_log()


def test_bad_endpoint_and_bad_bucket_are_clear_errors(ws: Workspace, endpoint: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DatastoreAccessError, match=r"could not be reached.*endpoint_url"):
        Datastore.register_s3(
            ws,
            "gone",
            "bucket",
            endpoint_url=dead,
            access_key_id="testing",
            secret_access_key="testing",
        )
    with pytest.raises(DatastoreAccessError, match="does not exist"):
        Datastore.register_s3(
            ws,
            "nobucket",
            "no-such-bucket",
            endpoint_url=endpoint,
            access_key_id="testing",
            secret_access_key="testing",
        )
    assert set(ws.datastores) == {"workspaceblobstore"}
    assert not os.environ.get("AWS_ACCESS_KEY_ID")


def _iam_keys(url: str, bucket: str) -> tuple[str, str]:
    """An IAM user allowed everything, and a bucket, made before auth is switched on."""
    import boto3  # type: ignore[import-untyped]

    anon = {"endpoint_url": url, "region_name": "us-east-1"}
    anon |= {"aws_access_key_id": "x", "aws_secret_access_key": "x"}
    iam = boto3.client("iam", **anon)
    iam.create_user(UserName="runyard")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="runyard", PolicyName="all", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="runyard")["AccessKey"]
    boto3.client("s3", **anon).create_bucket(Bucket=bucket)
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def test_a_wrong_key_or_secret_names_the_datastore_and_the_fix(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    # moto checks signatures against its IAM users once its no-auth allowance is spent
    # (INITIAL_NO_AUTH_ACTION_COUNT, reset at run time through /moto-api/reset-auth):
    # a server of its own, so the module's shared one stays open.
    with moto_server(tmp_path) as url:
        key_id, secret = _iam_keys(url, "authed-bucket")
        assert httpx.post(f"{url}/moto-api/reset-auth", content=b"0").status_code == 200
        for bad_id, bad_secret in ((key_id, "not-the-secret"), ("AKIANOSUCHKEY0000000", secret)):
            with pytest.raises(DatastoreAccessError) as info:
                Datastore.register_s3(
                    ws,
                    "authed",
                    "authed-bucket",
                    endpoint_url=url,
                    access_key_id=bad_id,
                    secret_access_key=bad_secret,
                )
            message = str(info.value)
            assert "'authed'" in message and "refused the credentials" in message
            assert "RUNYARD_DATASTORE_AUTHED_KEY" in message and "overwrite=True" in message
            assert secret not in message and "not-the-secret" not in message
        assert set(ws.datastores) == {"workspaceblobstore"}
        store = Datastore.register_s3(
            ws,
            "authed",
            "authed-bucket",
            endpoint_url=url,
            access_key_id=key_id,
            secret_access_key=secret,
        )
        store.upload(str(_tree(tmp_path / "data", 3)), target_path="d", show_progress=False)
        # A secret rotated after registration: the same clear error on use.
        monkeypatch.setenv("RUNYARD_DATASTORE_AUTHED_KEY", key_id)
        monkeypatch.setenv("RUNYARD_DATASTORE_AUTHED_SECRET", "rotated")
        with pytest.raises(DatastoreAccessError, match=r"'authed'.*refused the credentials"):
            Dataset.File.from_files(path=(Datastore.get(ws, "authed"), "d")).to_path()
