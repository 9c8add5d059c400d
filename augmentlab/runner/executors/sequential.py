"""Runs one after another in the driver's own process, with live per-epoch progress."""

from __future__ import annotations

from collections.abc import Sequence

from augmentlab.runner.executors.base import Done, Started, StopRuns
from augmentlab.runner.train import RunSpec, train_run, warm_up
from augmentlab.runner.training_data import TrainingData, release_device_memory


class SequentialExecutor:
    """Runs one after another in this process, on the data the driver already loaded.

    On CUDA it warms up first (see :func:`augmentlab.runner.train.warm_up`), so that the first run's
    time is its own and compares with the others'.
    """

    def __init__(self, data: TrainingData, versions: dict[str, str]) -> None:
        self.data = data
        self.versions = versions

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None:
        if runs:
            warm_up(runs[0].recipe, len(self.data.class_names), runs[0].device, runs[0].cudnn_benchmark)
            release_device_memory()
        for run in runs:
            try:
                progress = started(run)
            except StopRuns:
                return
            result = train_run(run, self.data, progress, self.versions)
            done(result)
            del result
            release_device_memory()
