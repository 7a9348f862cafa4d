"""Re-running a run: same snapshot, same arguments, the *locked* environment."""

from __future__ import annotations

from pathlib import Path

from runyard.core import Environment, Experiment, Run, ScriptRunConfig, Workspace

SCRIPT = """
import random, sys
import six  # from the run's own environment
from runyard.core import Run
run = Run.get_context()
rng = random.Random(int(sys.argv[1]))
for _ in range(20):
    run.log("score", rng.random())
run.log("six", six.__version__)
print("six", six.__version__)
"""


def test_resubmit_reproduces_metrics_with_the_locked_environment(
    tmp_path: Path, env_cache: Path
) -> None:
    ws = Workspace.create(tmp_path / "ws", name="ws")
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text(SCRIPT)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("six\n")  # unpinned on purpose
    env = Environment.from_pip_requirements("six-env", str(reqs))
    config = ScriptRunConfig(
        source_directory=str(src), script="score.py", arguments=[7], environment=env
    )
    first = Experiment(ws, "repro").submit(config)
    first.wait_for_completion(timeout=300)
    original = first.get_metrics()
    lock = first.info.definition["environment"]["lock"]
    assert "six==" in lock

    (src / "score.py").write_text("raise SystemExit('the source changed after submit')\n")
    again = first.resubmit()
    again.wait_for_completion(timeout=300)
    assert again.get_properties()["rerun_of"] == first.id
    assert again.get_metrics() == original  # same snapshot, same arguments, same result
    spec = again.info.definition["environment"]["spec"]
    assert spec["pip"] == [line for line in lock.splitlines() if line.startswith("six==")]
    assert Run.get(ws, again.id).get_status() == "Completed"
