"""`augmentlab ablate --parallel K`: runs in worker processes land in the same store (streamed splits too), and a dying worker is handled.

Each test spawns real worker processes (each imports torch), so they are few and train tiny runs.
"""

from __future__ import annotations

import re

import pytest
from cli_assertions import assert_one_line_error
from runner_fixtures import (
    ablate_args,
    install_failing_plugin,
    invoke,
    plan_folder,
    rows,
    started_runs,
    tiny_demo,
)

DIED = "the worker process died during this run (killed, out of host memory, or a crash in native code)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


def test_parallel_runs_land_in_one_store_as_the_sequential_ones_do(demo, tmp_path):
    sequential = invoke(*ablate_args(demo, tmp_path / "sequential"))
    assert sequential.exit_code == 0, sequential.output
    # Under 1 KiB of host memory for each worker: each streams both splits, as a split larger than
    # the machine's memory would be; the batches, and so the runs, are the cached ones.
    parallel = invoke(*ablate_args(demo, tmp_path / "parallel"), "--parallel", "2", "--host-memory", "0.000001")
    assert parallel.exit_code == 0, parallel.output
    assert "2 runs at a time, in worker processes on cpu" in parallel.stdout
    assert "train split: 16 images decode to 64 KiB: over the 1 KiB host budget (host_memory), so streamed: the training process decodes" in parallel.stdout
    assert re.search(r"^time: \d+\.\d s before the first run; 4 runs trained for \d+\.\d s in \d+\.\d s on 2 workers \(\d+\.\d× overlap\)$", parallel.stdout, re.M)
    expected = [("hflip | ce", 0, "finished"), ("hflip | dice", 0, "finished"), ("none | ce", 0, "finished"), ("none | dice", 0, "finished")]
    folder = plan_folder(parallel.stdout)
    assert rows(folder) == rows(plan_folder(sequential.stdout)) == expected
    assert (folder / "report.md").exists()
    # Each worker trains with its share of the cores, which may change the last bits of the sums;
    # the same seed still gives the same run up to that rounding.
    for (arm, seed, miou), (_, _, other) in zip(rows(folder, "arm, seed, miou"), rows(plan_folder(sequential.stdout), "arm, seed, miou")):
        assert miou == pytest.approx(other, abs=0.02), arm


def test_a_worker_that_dies_beside_another_fails_only_its_own_run(demo, tmp_path, install_distribution):
    install_failing_plugin(install_distribution)
    result = invoke(*ablate_args(demo, tmp_path, aug=None, loss="die"), "--parallel", "2")
    assert result.exit_code == 1, result.output
    folder = plan_folder(result.stdout)
    # Both runs are in flight when the pool breaks (the baseline trains a whole epoch, the other
    # dies at its first step), so nobody can tell which killed it: each runs again alone, and
    # only the culprit dies again. The innocent run is never blamed.
    assert rows(folder, "arm, seed, status, error") == [("none | ce", 0, "finished", None), ("none | die", 0, "failed", DIED)]
    assert started_runs(result.stdout) == ["run 1/2 [none | ce] seed 0", "run 2/2 [none | die] seed 0"]
    # (Should one worker have finished the baseline before the other died, nothing runs again.)
    assert result.stdout.count("started again on a fresh worker") in (0, 2)
    assert f"run 2/2 [none | die] seed 0: FAILED: {DIED}" in result.stdout


def test_bad_data_with_parallel_is_one_line_and_stops_the_workers(tmp_path):
    result = invoke("ablate", "--data", str(tmp_path / "missing.json"), "--device", "cpu", "--parallel", "2", "--out", str(tmp_path))
    assert_one_line_error(result, "missing.json")
    assert not any(tmp_path.iterdir())
