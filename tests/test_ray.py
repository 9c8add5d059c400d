"""``--executor ray`` on a local two-CPU Ray: same results as the local executor, lost workers retried, resume.

One Ray is started for the module, on loopback, with tiny data (16 train / 8 val images of
64×64 trained at 32 px for one epoch). Its workers also import from ``<root>/site``, where a
test can install a fake plugin distribution with the ``install_distribution`` fixture.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from augmentlab.cli.app import app
from augmentlab.data.demo.generator import generate_demo_dataset
from augmentlab.results.store import ResultStore
from augmentlab.runner.executors.base import DataRequest
from augmentlab.runner.recipe import PRESETS
from augmentlab.runner.train import RunSpec


@pytest.fixture(scope="module")
def ray_root(tmp_path_factory: pytest.TempPathFactory):
    """The module's folder: ``data/`` (the tiny COCO dataset) and ``site/`` (on the Ray workers' PYTHONPATH)."""
    ray = pytest.importorskip("ray")
    root = tmp_path_factory.mktemp("ray")
    generate_demo_dataset(root / "data", train_images=16, val_images=8, size=(64, 64))
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": str(root / "site")}}, logging_level="WARNING",
    )
    yield root
    ray.shutdown()


def ablate(data: Path, out: Path, *options: str, exit_code: int = 0) -> str:
    """Run the 4-run ablation (none/hflip × ce/dice, or the given --loss) on the tiny dataset in ``data``; the output."""
    arguments = [
        "ablate", "--data", str(data / "train.json"), "--val", str(data / "val.json"), "--images", str(data / "images"),
        "--aug", "hflip", "--image-size", "32", "--epochs", "1", "--batch-size", "4", "--quiet", "--out", str(out), *options,
    ]
    if "--loss" not in options:
        arguments += ["--loss", "dice"]
    if "--seeds" not in options:
        arguments += ["--seeds", "1"]
    result = CliRunner().invoke(app, arguments, env={"COLUMNS": "200"})
    assert result.exit_code == exit_code, result.output
    return result.output


def stored_metrics(out: Path) -> dict[tuple[str, int], tuple[str, float | None, list[float | None]]]:
    (folder,) = out.iterdir()
    with ResultStore(folder) as store:
        return {result.key: (result.status, result.miou, result.per_class_iou) for result in store.results()}


@pytest.fixture(scope="module")
def ray_ablation(ray_root: Path) -> Path:
    """The output folder of the 4-run ablation through Ray, one CPU and so one torch thread per run."""
    out = ray_root / "ray-runs"
    ablate(ray_root / "data", out, "--executor", "ray", "--cpus-per-run", "1")
    return out


@pytest.fixture
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_ray_gives_the_local_executors_results_for_the_same_seeds_and_threads(ray_root, ray_ablation, tmp_path, one_torch_thread):
    # CPU results depend on torch's thread count (reductions split differently), so both sides use one thread.
    ablate(ray_root / "data", tmp_path / "local")
    local = stored_metrics(tmp_path / "local")
    assert len(local) == 4 and all(status == "finished" for status, _, _ in local.values())
    assert stored_metrics(ray_ablation) == local


def test_resume_submits_only_the_unfinished_run(ray_root, ray_ablation, tmp_path):
    out = tmp_path / "runs"
    shutil.copytree(ray_ablation, out)
    (folder,) = out.iterdir()
    with sqlite3.connect(folder / "results.sqlite") as connection:
        connection.execute("UPDATE runs SET status = 'running' WHERE arm = 'hflip | dice'")
        finished_at = dict(connection.execute("SELECT arm, finished_at FROM runs WHERE arm != 'hflip | dice'").fetchall())
    connection.close()
    output = ablate(ray_root / "data", out, "--executor", "ray", "--cpus-per-run", "1")
    assert "3 of 4 runs already finished, 1 to run" in output
    assert [line for line in output.splitlines() if line.endswith(": started")] == ["run 1/1 [hflip | dice] seed 0: started"]
    assert stored_metrics(out) == stored_metrics(ray_ablation)
    with sqlite3.connect(folder / "results.sqlite") as connection:
        assert dict(connection.execute("SELECT arm, finished_at FROM runs WHERE arm != 'hflip | dice'").fetchall()) == finished_at
    connection.close()


CRASH_ONCE_PLUGIN = """
    import os
    import signal
    from pathlib import Path

    import augmentlab
    from augmentlab.losses.cross_entropy import CrossEntropyLoss

    MARKER = Path({marker!r})


    class CrashOnceLoss(CrossEntropyLoss):
        '''Cross-entropy whose first call, in any process, kills that process as a lost worker would die.'''

        def compute(self, logits, target):
            if not MARKER.exists():
                MARKER.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            return super().compute(logits, target)


    @augmentlab.hookimpl
    def augmentlab_register_losses():
        return [augmentlab.Loss("crash_once", CrashOnceLoss)]
"""


class TestALostWorker:
    @pytest.fixture
    def tmp_path(self, ray_root: Path) -> Path:
        """``install_distribution`` installs into ``tmp_path / "site"``: here, the folder on the Ray workers' path."""
        return ray_root

    def test_is_retried_and_the_ablation_completes(self, install_distribution, ray_root):
        marker = ray_root / "crashed-once"
        install_distribution("augmentlab-crash-once", {"crash_once_plugin": CRASH_ONCE_PLUGIN.format(marker=str(marker))}, {"crash_once": "crash_once_plugin"})
        out = ray_root / "crash-runs"
        output = ablate(ray_root / "data", out, "--executor", "ray", "--cpus-per-run", "1", "--loss", "crash_once")
        assert marker.exists(), output  # a worker was killed in the run's first try
        results = stored_metrics(out)
        assert {key: status for key, (status, _, _) in results.items()} == {
            ("none | ce", 0): "finished", ("none | crash_once", 0): "finished", ("hflip | ce", 0): "finished", ("hflip | crash_once", 0): "finished",
        }


def train_one_run_on_ray(request: DataRequest):
    """The result of the baseline run trained through a RayExecutor on the module's Ray."""
    from augmentlab.runner.executors.ray_cluster import RayExecutor

    executor = RayExecutor(request, {}, address=None, gpus_per_run=0, cpus_per_run=1)
    results = []
    executor.run([RunSpec("none", "ce", 0, PRESETS["demo"], "cpu")], lambda run: None, results.append)
    (result,) = results
    assert (result.key, result.status) == (("none | ce", 0), "failed")
    return result


def test_a_worker_that_cannot_see_the_data_fails_the_run_naming_the_node_and_the_path(ray_root, tmp_path):
    missing = tmp_path / "not-shared" / "train.json"
    result = train_one_run_on_ray(DataRequest(data=str(missing)))
    assert result.error.startswith(f"Ray worker {socket.gethostname()} (")
    assert result.error.endswith(f"cannot see {missing}; the dataset must be on a shared filesystem, at the same path on every node")


def test_a_task_that_raises_fails_its_run_in_one_line(ray_root, tmp_path):
    broken = tmp_path / "train.json"
    broken.write_text("{}")
    result = train_one_run_on_ray(DataRequest(data=str(broken)))
    assert result.error.startswith("AugmentlabError on a Ray worker: ") and "\n" not in result.error, result.error


def test_executor_ray_without_ray_says_how_to_install_it(monkeypatch, tmp_path):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "ray" else find_spec(name, *args))
    generate_demo_dataset(tmp_path / "data", train_images=16, val_images=8, size=(64, 64))
    result = CliRunner().invoke(app, ["ablate", "--data", str(tmp_path / "data" / "train.json"), "--images", str(tmp_path / "data" / "images"), "--executor", "ray", "--dry-run"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --executor is ray, which is not installed; pip install 'augmentlab[ray]'\n"


def test_a_ray_driver_without_a_gpu_plans_cuda_runs_for_the_clusters_gpus(monkeypatch, tmp_path):
    # The driver only checks the data; the GPUs are the workers'. It once tried to place the splits on a GPU of its own.
    pytest.importorskip("ray")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    generate_demo_dataset(tmp_path / "data", train_images=16, val_images=8, size=(64, 64))
    result = CliRunner().invoke(app, ["ablate", "--data", str(tmp_path / "data" / "train.json"), "--images", str(tmp_path / "data" / "images"),
                                      "--executor", "ray", "--gpus-per-run", "1", "--batch-size", "4", "--out", str(tmp_path / "runs"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "this machine has no GPU: each Ray worker places the splits on its own; where they would live here:\n" in result.stdout
    assert "device: cuda" in result.stdout and result.stdout.endswith("dry run: nothing was trained or written\n")
