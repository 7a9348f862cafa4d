"""Real builds with uv into a per-module cache (``RUNYARD_CACHE_DIR``), from the small
packages of this machine's package index."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from runyard.core.environment import Environment
from runyard.environments import (
    PreparedEnvironment,
    get_curated,
    list_cached,
    prepare,
    prune,
    spec_from_lock,
    spec_hash,
)
from runyard.environments.cache import MARKER, envs_dir
from runyard.errors import EnvironmentBuildError, ValidationError

pytestmark = pytest.mark.usefixtures("env_cache")


def _unique(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec made new to the cache (an environment variable is part of the hash)."""
    return {**spec, "environment_variables": {"RUNYARD_TEST_ID": uuid.uuid4().hex}}


def _run(prepared: PreparedEnvironment, code: str) -> str:
    proc = subprocess.run(
        [str(prepared.python), "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _leftovers(hash_: str) -> list[Path]:
    return sorted(envs_dir().glob(f".*{hash_}*"))


def _wait_for(what: str, condition: Any, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_pip_requirements_env_builds_and_imports_six(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("six\n", encoding="utf-8")
    env = Environment.from_pip_requirements("six-env", req)
    env.environment_variables["GREETING"] = "hello"
    log = tmp_path / "system_logs" / "environment_build.log"
    prepared = prepare(env.to_spec(), log)

    assert prepared.spec_hash == env.spec_hash()
    assert prepared.name == "six-env" and prepared.version is None
    assert prepared.environment_variables == {"GREETING": "hello"}
    assert prepared.lock.startswith("six==")
    entry = envs_dir() / prepared.spec_hash
    assert prepared.python == entry / "bin" / "python"
    out = _run(prepared, "import six, sys; print(six.__version__, sys.prefix)")
    assert out.split()[1] == str(entry)  # the venv works where it was moved to
    assert list(entry.glob("lib/python*/site-packages/__pycache__/six.*.pyc"))  # compiled
    assert json.loads((entry / "spec.json").read_text())["pip"] == ["six"]
    assert (entry / "lock.txt").read_text() == prepared.lock
    text = log.read_text()
    assert "uv venv" in text and "+ six==" in text
    assert _leftovers(prepared.spec_hash) == []

    again = prepare(env.to_spec(), log)  # warm: no build, the same interpreter
    assert again == prepared
    assert log.read_text().count("uv venv") == 1
    assert "is built already" in log.read_text()


def test_console_scripts_survive_the_rename(tmp_path: Path) -> None:
    prepared = prepare(_unique({"name": "cli", "pip": ["tqdm"]}), tmp_path / "b.log")
    tqdm = prepared.python.parent / "tqdm"
    proc = subprocess.run([str(tqdm), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_byte_code_is_shared_with_sibling_environments(tmp_path: Path) -> None:
    first = prepare(_unique({"name": "a", "pip": ["six"]}), tmp_path / "a.log")
    log = tmp_path / "b.log"
    second = prepare(_unique({"name": "b", "pip": ["six", "tqdm"]}), log)
    assert re.search(r"reused the byte-code of \d+ distributions", log.read_text())

    def six_pyc(prepared: PreparedEnvironment) -> Path:
        entry = prepared.python.parent.parent
        return next(entry.glob("lib/python*/site-packages/__pycache__/six.*.pyc"))

    inode = six_pyc(second).stat().st_ino
    assert six_pyc(second).stat().st_nlink >= 2  # one file, several environments
    assert six_pyc(first).stat().st_mtime == six_pyc(second).stat().st_mtime
    assert _run(second, "import six; print(six.__file__)").startswith(
        str(second.python.parent.parent)
    )
    assert six_pyc(second).stat().st_ino == inode  # valid as it is: not rewritten on import
    assert list(
        second.python.parent.parent.glob("lib/python*/site-packages/tqdm/__pycache__/*.pyc")
    )


def test_missing_requirement_is_named_and_nothing_is_cached(tmp_path: Path) -> None:
    spec = _unique({"name": "broken", "pip": ["six", "runyard-no-such-package-xyz==1.0"]})
    log = tmp_path / "system_logs" / "environment_build.log"
    with pytest.raises(EnvironmentBuildError) as info:
        prepare(spec, log)
    message = str(info.value)
    assert "'runyard-no-such-package-xyz==1.0'" in message
    assert "'six'" not in message  # only the culprit is named
    assert str(log) in message
    assert "error:" in message  # uv's own error line
    hash_ = spec_hash(spec)
    assert not (envs_dir() / hash_).exists()
    assert _leftovers(hash_) == []
    assert "runyard-no-such-package-xyz" in log.read_text()  # the log is kept


def test_malformed_spec_is_refused_before_building(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=re.escape("'./here'")):
        prepare({"name": "x", "pip": ["./here"]}, tmp_path / "b.log")


_BUILD_SCRIPT = """
import json, sys
from pathlib import Path
from runyard.environments import prepare
prepared = prepare(json.loads(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"python": str(prepared.python), "hash": prepared.spec_hash}))
"""


def test_concurrent_builds_of_one_spec_build_once(tmp_path: Path) -> None:
    spec = _unique({"name": "race", "pip": ["six"]})
    logs = [tmp_path / f"build-{i}.log" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BUILD_SCRIPT, json.dumps(spec), str(log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for log in logs
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results[0] == results[1]
    texts = [log.read_text() for log in logs]
    assert sum("uv venv" in text for text in texts) == 1, texts
    assert _leftovers(spec_hash(spec)) == []


def _killed_builder_leaves_temp(tmp_path: Path, spec: dict[str, Any]) -> Path:
    """Starts a builder process, SIGKILLs it once uv is installing, returns the
    temp folder it left."""
    hash_ = spec_hash(spec)
    proc = subprocess.Popen(
        [sys.executable, "-c", _BUILD_SCRIPT, json.dumps(spec), str(tmp_path / "killed.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tmp = _wait_for(
            "the build's venv",
            lambda: next((p for p in _leftovers(hash_) if (p / "pyvenv.cfg").exists()), None),
        )
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert isinstance(tmp, Path)
    assert not (envs_dir() / hash_ / MARKER).exists(), "the build finished before the kill"
    # uv dies with its parent (PR_SET_PDEATHSIG) instead of writing on into the folder
    _wait_for(
        "uv to exit",
        lambda: (
            not any(
                str(tmp) in " ".join(p.info["cmdline"] or ())
                for p in psutil.process_iter(["cmdline"])
            )
        ),
        timeout_s=30,
    )
    return tmp


def test_build_killed_halfway_then_retried(tmp_path: Path) -> None:
    spec = _unique({"name": "killed", "pip": ["numpy"]})
    tmp = _killed_builder_leaves_temp(tmp_path, spec)
    assert tmp.exists()
    assert all(c.hash != spec_hash(spec) for c in list_cached())
    log = tmp_path / "retry.log"
    prepared = prepare(spec, log)
    assert _run(prepared, "import numpy; print(numpy.__version__)")
    assert "removed the remains of an unfinished build" in log.read_text()
    assert _leftovers(spec_hash(spec)) == []


def test_uv_killed_halfway_then_retried(tmp_path: Path) -> None:
    spec = _unique({"name": "uv-killed", "pip": ["numpy"]})
    hash_ = spec_hash(spec)
    errors: list[BaseException] = []

    def build() -> None:
        try:
            prepare(spec, tmp_path / "b.log")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=build)
    thread.start()
    me = psutil.Process()

    def installer() -> psutil.Process | None:
        for child in me.children(recursive=True):
            try:
                cmdline = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if "pip install" in cmdline and hash_ in cmdline:
                return child
        return None

    try:
        _wait_for("uv pip install", installer).send_signal(signal.SIGKILL)
    finally:
        thread.join(timeout=120)
    assert len(errors) == 1 and isinstance(errors[0], EnvironmentBuildError), errors
    assert "killed by SIGKILL" in str(errors[0])
    assert not (envs_dir() / hash_).exists() and _leftovers(hash_) == []
    assert prepare(spec, tmp_path / "b.log").spec_hash == hash_


def test_user_managed_interpreter_is_used_as_is(tmp_path: Path) -> None:
    env = Environment("mine")
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = sys.executable
    env.python.conda_dependencies.add_pip_package("six")  # not installed: user-managed
    before = sorted(envs_dir().iterdir())
    prepared = prepare(env.to_spec(), tmp_path / "b.log")
    assert prepared.python == Path(sys.executable)  # not resolved through symlinks
    assert prepared.lock == "" and prepared.spec_hash == env.spec_hash()
    assert sorted(envs_dir().iterdir()) == before  # nothing built
    env.python.interpreter_path = "python3"  # a bare name is looked up on PATH
    assert prepare(env.to_spec(), tmp_path / "b.log").python == Path(shutil.which("python3") or "")
    env.python.interpreter_path = str(tmp_path / "no-python")
    with pytest.raises(EnvironmentBuildError, match="does not exist"):
        prepare(env.to_spec(), tmp_path / "b.log")
    env.python.interpreter_path = str(tmp_path / "b.log")
    with pytest.raises(EnvironmentBuildError, match="not an executable file"):
        prepare(env.to_spec(), tmp_path / "b.log")


def test_no_spec_means_the_submitting_interpreter(tmp_path: Path) -> None:
    prepared = prepare(None, tmp_path / "b.log")
    assert prepared.python == Path(sys.executable)
    assert prepared.spec_hash == "" and prepared.lock == "" and prepared.version is None


@pytest.mark.skipif(
    any(shutil.which(t) for t in ("conda", "mamba", "micromamba")), reason="conda is on PATH"
)
def test_conda_spec_without_conda(tmp_path: Path) -> None:
    pip_only = tmp_path / "pip-only.yml"
    pip_only.write_text(
        "name: t\nchannels: [defaults]\ndependencies:\n  - python=3.11\n  - pip\n"
        "  - pip:\n    - six\n",
        encoding="utf-8",
    )
    log = tmp_path / "b.log"
    prepared = prepare(_unique(Environment.from_conda_specification("t", pip_only).to_spec()), log)
    assert _run(prepared, "import six; print(six.__name__)") == "six"
    assert "built with uv instead" in log.read_text()

    needs_conda = tmp_path / "needs-conda.yml"
    needs_conda.write_text(
        "dependencies:\n  - python=3.11\n  - pytorch\n  - torchvision=0.8\n", encoding="utf-8"
    )
    env = Environment.from_conda_specification("pytorch-env", needs_conda)
    with pytest.raises(EnvironmentBuildError) as info:
        prepare(env.to_spec(), log)
    assert "pytorch, torchvision=0.8" in str(info.value) and "pip:" in str(info.value)
    with pytest.raises(EnvironmentBuildError, match="conda"):
        Environment.from_existing_conda_environment("x", "base")


def test_docker_base_image_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    env = Environment("docker-env")
    env.docker.base_image = "mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04"
    with pytest.raises(EnvironmentBuildError) as info:
        prepare(env.to_spec(), tmp_path / "b.log")
    message = str(info.value)
    assert "no Docker engine is reachable" in message
    assert "env.docker.base_image = None" in message and "virtual environments" in message


def test_spec_from_lock_rebuilds_the_same_versions(tmp_path: Path) -> None:
    first = prepare(_unique({"name": "lockme", "pip": ["six"]}), tmp_path / "b.log")
    locked = spec_from_lock({"name": "lockme", "pip": ["six"]}, first.lock)
    assert locked["pip"] == [first.lock.strip()]
    again = prepare(locked, tmp_path / "b.log")
    assert again.lock == first.lock


def test_list_and_prune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNYARD_CACHE_DIR", str(tmp_path / "cache"))
    old = prepare({"name": "old", "pip": []}, tmp_path / "b.log")
    new = prepare(
        {"name": "new", "pip": [], "environment_variables": {"A": "1"}}, tmp_path / "b.log"
    )
    os.utime(envs_dir() / old.spec_hash / MARKER, (0, 0))  # last used long ago
    stale = envs_dir() / f".tmp-{'f' * 64}-1-dead"
    stale.mkdir()
    cached = list_cached()
    assert [c.hash for c in cached] == [new.spec_hash, old.spec_hash]  # recent first
    assert cached[0].name == "new" and cached[0].size_bytes > 0
    removed = prune(older_than_days=1)
    assert set(removed) == {envs_dir() / old.spec_hash, stale}
    assert [c.hash for c in list_cached()] == [new.spec_hash]
    assert prune(keep={new.spec_hash}) == []
    assert prune() == [envs_dir() / new.spec_hash]
    assert list_cached() == []


@pytest.mark.slow
def test_pytorch_cpu_curated_environment(tmp_path: Path) -> None:
    log = tmp_path / "system_logs" / "environment_build.log"
    prepared = prepare(get_curated("Runyard-PyTorch-CPU"), log)
    assert "torch==2.13.0" in prepared.lock
    out = _run(
        prepared,
        "import torch, sklearn.datasets as d; x = d.load_digits().data; "
        "print(torch.__version__, torch.tensor(x).shape[1])",
    )
    assert out.startswith("2.13.0") and out.endswith(" 64")


@pytest.mark.soak  # ~600 MB installed and byte-compiled: minutes on two cores
def test_tensorflow_cpu_curated_environment(tmp_path: Path) -> None:
    log = tmp_path / "system_logs" / "environment_build.log"
    prepared = prepare(get_curated("Runyard-TensorFlow-CPU"), log)
    assert "tensorflow-cpu==2.21.0" in prepared.lock
    out = _run(
        prepared,
        "import numpy as np, tensorflow as tf; "
        "m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1)]); "
        "m.compile(optimizer='sgd', loss='mse'); "
        "h = m.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=2, verbose=0); "
        "print(tf.__version__, len(h.history['loss']))",
    )
    assert out.startswith("2.21.0") and out.endswith(" 2")
