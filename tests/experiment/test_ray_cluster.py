"""A two-node Ray cluster on this machine: `ray start --head` and `ray start --address` (1 CPU each, told apart
by a custom resource), a study submitted with `--address`, steps spread over both nodes, one step's worker killed
mid-training (Ray retries it once and it resumes from its checkpoint), the study resumed, and results landing once.

Teardown stops exactly the two nodes this test started (`ray start --block` processes get SIGTERM, then the
whole process tree SIGKILL): `ray stop` would also stop every other Ray instance on the machine. Ray advertises
the machine's own address even when given 127.0.0.1 (it never hands out a loopback address); nothing leaves
the machine. docs/experiments.md shows the same on a real cluster.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sftlab.experiment import run_experiment
from sftlab.experiment.plan import read_state
from sftlab.store import ResultsStore
from sftlab.train.runs import list_checkpoints, read_log_history

from .conftest import require_stages, tiny_spec

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(procs) -> None:
    import psutil

    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes on SIGTERM
            _, alive = psutil.wait_procs(tree, timeout=20)
            for leftover in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    leftover.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


@pytest.fixture
def two_node_cluster():
    """(address, {node_id: "head" | "worker"}) of a head and a worker node started here, stopped afterwards."""
    pytest.importorskip("ray")
    import ray

    if ray.is_initialized():
        ray.shutdown()
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's unix socket paths must fit 107 bytes
    ray_bin = str(Path(sys.executable).with_name("ray"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
           "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus", "1", "--object-store-memory", "80000000", "--block", "--disable-usage-stats"]
    nodes = [
        ["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard", "false",
         "--temp-dir", temp, "--resources", json.dumps({"sftlab_test_head": 1})],
        ["--address", f"127.0.0.1:{port}", "--resources", json.dumps({"sftlab_test_worker": 1})],
    ]
    procs = []
    try:
        for args in nodes:
            procs.append(subprocess.Popen([ray_bin, "start", *args, *common], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            names = _wait_for_nodes(port, len(procs))
        yield f"127.0.0.1:{port}", names
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(reversed(procs))
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_nodes(port: int, count: int) -> dict:
    """Wait until `count` nodes are alive; {node_id: head | worker} from their custom resources."""
    import ray

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            ray.init(address=f"127.0.0.1:{port}", log_to_driver=False, include_dashboard=False)
            alive = [n for n in ray.nodes() if n["Alive"]]
        except Exception:  # the head is not up yet
            alive = []
        finally:
            if ray.is_initialized():
                ray.shutdown()
        if len(alive) >= count:
            return {n["NodeID"]: "head" if "sftlab_test_head" in n["Resources"] else "worker" for n in alive}
        assert time.monotonic() < deadline, f"only {len(alive)} of {count} Ray nodes up after {START_TIMEOUT} s"
        time.sleep(1)


def cluster_spec() -> dict:
    raw = tiny_spec(max_steps=6, schedule=[1, 6])  # two independent cells: fixed and diverse prompts
    raw["report"] = False
    raw["eval"].update(baselines=["oracle", "random"], episodes=1, max_turns=1, max_new_tokens=4,
                       splits=["SimpleSokoban"], checkpoints="last")
    return raw


def _kill_when_checkpointed(exp: Path, stop) -> dict:
    """Watch the train steps; SIGKILL the Ray worker of the first one with a complete checkpoint-1 (mid-run)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not stop.is_set():
        for run in ("fixed", "diverse"):
            state = read_state(exp, f"train/{run}") or {}
            ckpt = exp / "outputs" / "runs" / run / "checkpoints" / "checkpoint-1" / "COMPLETE"
            if state.get("status") == "running" and ckpt.is_file():
                os.kill(state["pid"], signal.SIGKILL)
                return {"run": run, "pid": state["pid"]}
        time.sleep(0.05)
    return {}


def test_study_on_a_two_node_cluster_survives_a_killed_worker_and_resumes(two_node_cluster, tmp_path,
                                                                           write_spec):
    import threading

    require_stages()
    address, names = two_node_cluster
    assert sorted(names.values()) == ["head", "worker"]
    exp = tmp_path / "exp"
    spec = write_spec(cluster_spec())

    # 1. the data and training steps, with one training step's worker process killed after its first checkpoint
    killed, stop = {}, threading.Event()
    watcher = threading.Thread(target=lambda: killed.update(_kill_when_checkpointed(exp, stop)), daemon=True)
    watcher.start()
    try:
        first = run_experiment(spec, exp, only=["kind=sft"], executor="ray", ray_address=address)
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert killed, "no training step was seen running with a checkpoint"
    assert set(first.outcome.values()) == {"done"} and len(first.outcome) == 4
    states = {sid: read_state(exp, sid) for sid in first.outcome}
    used = {names[s["node"]["ray_node_id"]] for s in states.values()}
    assert used == {"head", "worker"}, states  # independent steps ran on both nodes
    # the killed step was retried by Ray (attempt 2) and resumed from its last checkpoint; no other step reran
    retried = f"train/{killed['run']}"
    assert {sid: s["attempt"] for sid, s in states.items()} == {sid: 2 if sid == retried else 1 for sid in states}
    log = (exp / "logs" / f"train__{killed['run']}.log").read_text()
    assert log.count(f"=== {retried} (sft") == 2 and "resuming from checkpoint-" in log
    for run in ("fixed", "diverse"):
        folder = exp / "outputs" / "runs" / run
        assert [s for s, _ in list_checkpoints(folder)] == [0, 1, 6]
        assert [e["step"] for e in read_log_history(folder) if "loss" in e] == [1, 2, 3, 4, 5, 6]  # each step once

    # 2. the study resumes: only the evaluations are left, the finished steps are not touched
    second = run_experiment(spec, exp, executor="ray", ray_address=address)
    assert set(second.outcome) == {"eval/fixed/sokoban-eval", "eval/diverse/sokoban-eval",
                                   "eval/oracle/sokoban-eval", "eval/random/sokoban-eval"}
    assert set(second.outcome.values()) == {"done"}
    assert all(read_state(exp, sid) == s for sid, s in states.items())
    store_path = exp / "outputs" / "eval" / "results.sqlite"
    with ResultsStore(store_path) as store:
        rows = len(store)
        # each run's last checkpoint (or policy) was evaluated exactly once: one evaluation key per run
        assert {run: len({r.key for r in store.query(run=run)}) for run in store.runs()} == {
            "fixed": 1, "diverse": 1, "oracle": 1, "random": 1}
    assert rows > 0

    # 3. a third run has nothing to do and the results stay as they are
    assert run_experiment(spec, exp, executor="ray", ray_address=address).outcome == {}
    with ResultsStore(store_path) as store:
        assert len(store) == rows
