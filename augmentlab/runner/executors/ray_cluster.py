"""Runs of an ablation as Ray tasks, spread over the GPUs and CPUs of a Ray cluster (``--executor ray``).

The driver stays the one process that owns the result store and the progress display, as with
the local executors: it submits every (arm, seed) run as one Ray task, and records each result
as it arrives, so a rerun of the same command resumes the same way.

Each task loads the data itself with :func:`augmentlab.runner.training_data.load_training_data` (once per
worker process) from the :class:`~augmentlab.runner.executors.base.DataRequest`'s absolute paths, so every
node must see the dataset at the same path (a shared filesystem). The built-in demo data is the
exception: it is generated on demand, byte for byte the same, by whichever node needs it.
Plugins are loaded on the worker from its installed entry points with the driver's plugin
options, so they must be installed on every node. The driver's ``AUGMENTLAB_*`` environment
variables (data and mask-cache folders, plugin switches) go to the tasks.

A worker or node lost during a run (killed, out of host memory, a crash in native code) makes
Ray run the task again, up to ``max_retries`` times. A run that fails for its own reason (NaN
loss, CUDA out of memory, an exception in a plugin) is a failed result, recorded and not retried.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from dataclasses import replace
from typing import Any, Sequence

import ray

from augmentlab.errors import first_line
from augmentlab.results.records import RunResult
from augmentlab.runner.executors.base import (
    DataRequest,
    Done,
    Started,
    StopRuns,
    failed_result,
)
from augmentlab.runner.train import RunSpec, run_versions, train_run, warm_up
from augmentlab.runner.training_data import load_training_data, release_device_memory

FORWARDED_ENV_PREFIX = "AUGMENTLAB_"
"""The driver's environment variables with this prefix are set in every task."""


class RayExecutor:
    """Every run a Ray task asking for ``gpus_per_run`` GPUs and ``cpus_per_run`` CPUs; Ray places them.

    ``address`` is given to ``ray.init``: ``auto`` joins the running cluster (``RAY_ADDRESS``, else
    the latest cluster started on this machine) and fails if there is none; ``ray://HOST:10001``
    joins a remote cluster through Ray Client; ``None`` joins a running cluster like ``auto`` but
    starts a local Ray on this machine when none runs. When Ray is already initialised in this
    process, its connection is used as it is and left open.
    """

    def __init__(
        self, request: DataRequest, versions: dict[str, str], *, address: str | None, gpus_per_run: float, cpus_per_run: float, max_retries: int = 3
    ) -> None:
        if gpus_per_run < 0 or cpus_per_run < 0:
            raise ValueError(f"resources per run must be ≥ 0, got {gpus_per_run} GPUs and {cpus_per_run} CPUs")
        if max_retries < 0:
            raise ValueError(f"max_retries must be ≥ 0, got {max_retries}")
        self.request = request
        self.versions = versions
        self.address = address
        self.gpus_per_run = gpus_per_run
        self.cpus_per_run = cpus_per_run
        self.max_retries = max_retries

    def describe(self) -> str:
        cluster = self.address or "the running cluster, else a new local one"
        return f"{cluster}; {self.gpus_per_run:g} GPU and {self.cpus_per_run:g} CPU per run; up to {self.max_retries} retries when a worker is lost"

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None:
        """Submit every run at once, then record each result as it arrives, in whatever order they end.

        A KeyboardInterrupt cancels the tasks still out and propagates; their runs stay 'running' in
        the store, so the next invocation runs them again.
        """
        connected_here = not ray.is_initialized()
        if connected_here:
            ray.init(address=self.address)
        try:
            self._run(runs, started, done)
        finally:
            if connected_here:
                ray.shutdown()  # stops a Ray this call started; only disconnects from a running cluster

    def _run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None:
        train = ray.remote(
            num_gpus=self.gpus_per_run,
            num_cpus=self.cpus_per_run,
            max_retries=self.max_retries,
            retry_exceptions=False,
            # A fresh worker process for each GPU run: CUDA keeps a process on the GPU it first used,
            # and the process's data cache holds GPU memory. CPU workers keep their cache for later runs.
            max_calls=1 if self.gpus_per_run > 0 else 0,
            runtime_env={"env_vars": {name: value for name, value in os.environ.items() if name.startswith(FORWARDED_ENV_PREFIX)}},
        )(_train_on_worker)
        device = "cuda" if self.gpus_per_run > 0 else "cpu"
        threads = max(1, int(self.cpus_per_run))
        pending: dict[ray.ObjectRef, RunSpec] = {}
        try:
            for run in runs:
                try:
                    started(run)
                except StopRuns:
                    break  # the runs already submitted still end and are handed to done
                pending[train.remote(replace(run, device=device), self.request, self.versions, threads)] = run
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for reference in ready:
                    done(self._result(reference, pending.pop(reference)))
        except KeyboardInterrupt:
            for reference in pending:
                ray.cancel(reference, force=True)
            raise

    def _result(self, reference: ray.ObjectRef, run: RunSpec) -> RunResult:
        try:
            return RunResult.from_dict(ray.get(reference))
        except ray.exceptions.RayTaskError as error:  # the task raised outside train_run: loading the data or the plugins
            cause = error.cause if error.cause is not None else error
            return failed_result(run, f"{type(cause).__name__} on a Ray worker: {first_line(cause)}", retryable=False)
        except ray.exceptions.RayError as error:  # the worker or its node was lost, in the first try and every retry
            return failed_result(
                run,
                f"the Ray worker was lost during this run in {self.max_retries + 1} tries (killed, out of host memory, "
                f"node lost, or a crash in native code): {type(error).__name__}: {first_line(error)}",
            )


def _train_on_worker(run: RunSpec, request: DataRequest, versions: dict[str, str], threads: int) -> dict[str, Any]:
    """Train ``run`` on this worker's share of its node (the body of the Ray task); the result as a plain dict."""
    import torch

    from augmentlab.registry.loading import load_plugins

    missing = [path for path in request.paths() if not os.path.exists(path)]
    if missing:
        node = f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"
        return failed_result(run, f"Ray worker {node} cannot see {missing[0]}; the dataset must be on a shared filesystem, at the same path on every node", retryable=False).to_dict()
    torch.set_num_threads(threads)
    logging.getLogger("augmentlab.data").setLevel(logging.ERROR)  # the driver said it already; Ray forwards each worker's copy
    importlib.invalidate_caches()  # a worker outlives ablations: find plugins installed since it started
    registry = load_plugins(**request.plugin_options)
    # The worker's own libraries, GPU and plugins shaped the run; the driver's fill in the rest.
    versions = {**versions, **run_versions([(plugin.distribution, plugin.version) for plugin in registry.plugins if plugin.status == "loaded"])}
    data = load_training_data(request, run.device)
    warm_up(run.recipe, len(data.class_names), run.device, run.cudnn_benchmark)  # once per worker process, kept out of the run's time
    result = train_run(run, data, None, versions)
    release_device_memory()
    return result.to_dict()

