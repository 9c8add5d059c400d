"""Where an ablation's runs train: one after another in this process, or in worker processes.

The driver (:func:`augmentlab.ablate.execute`) owns the result store and the progress display;
an executor only trains runs and hands each result back as it arrives, so every executor gets
the same resume semantics.

- :class:`SequentialExecutor` trains in this process, with live per-epoch progress.
- :class:`ProcessExecutor` keeps one worker process per slot: ``--parallel K`` gives K slots on
  one device (small models leave a large GPU idle), ``--devices 0,1`` one slot per GPU. Each
  worker loads the data itself from a :class:`DataRequest` and keeps its own cache, and loads
  plugins from the installed entry points with the driver's plugin options.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from augmentlab.results import RunResult
from augmentlab.train import RunProgress, RunSpec, TrainingData, train_run

Started = Callable[[RunSpec], "RunProgress | None"]
Done = Callable[[RunResult], None]


class Executor(Protocol):
    """Trains runs; calls ``started(run)`` when a run is handed out and ``done(result)`` when it ends."""

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None: ...


@dataclass(frozen=True)
class DataRequest:
    """How any process loads the ablation's data: ``load_splits`` arguments with absolute paths.

    Workers on other machines (a cluster) need the same paths on a shared filesystem.
    """

    data: str | None
    val: str | None = None
    val_masks: str | None = None
    val_split: float = 0.2
    options: dict[str, Any] = field(default_factory=dict)
    """The other ``load_splits`` keyword arguments (images, masks, ignore_index, classes, strict)."""
    size: tuple[int, int] | None = None
    plugin_options: dict[str, Any] = field(default_factory=dict)
    """``load_plugins`` keyword arguments of the driver (strict, disable, autoload)."""
    memory_budget_bytes: int | None = None

    def paths(self) -> list[str]:
        """Every file or folder the request reads, for checking that a worker can see them."""
        candidates = [self.data, self.val, self.val_masks, self.options.get("images"), self.options.get("masks")]
        return [str(path) for path in candidates if path is not None]


def absolute(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


_loaded: dict[tuple[str, str], TrainingData] = {}


def load_training_data(request: DataRequest, device: str) -> TrainingData:
    """The request's data decoded onto ``device``, once per process."""
    from augmentlab.ablate import training_data
    from augmentlab.data import load_splits

    key = (repr(request), device)
    if key not in _loaded:
        train, val = load_splits(
            request.data, val=request.val, val_masks=request.val_masks, val_split=request.val_split, size=request.size, **request.options
        )
        _loaded[key] = training_data(train, val, device, request.memory_budget_bytes)
    return _loaded[key]


class SequentialExecutor:
    """Runs one after another in this process, on the data the driver already loaded."""

    def __init__(self, data: TrainingData, versions: dict[str, str]) -> None:
        self.data = data
        self.versions = versions

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None:
        from augmentlab.ablate import release_device_memory

        for run in runs:
            result = train_run(run, self.data, started(run), self.versions)
            done(result)
            del result
            release_device_memory()


class ProcessExecutor:
    """One spawned worker process per slot; each slot is a device such as ``cuda:0`` or ``cpu``.

    A worker that dies (killed, or crashed inside a native library) fails the runs it had in
    hand; the executor starts fresh workers for the runs still waiting.
    """

    def __init__(self, request: DataRequest, slots: Sequence[str], versions: dict[str, str]) -> None:
        if not slots:
            raise ValueError("a process executor needs at least one slot")
        self.request = request
        self.slots = list(slots)
        self.versions = versions

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None:
        waiting = list(runs)
        while waiting:
            waiting = self._run_pool(waiting, started, done)

    def _run_pool(self, runs: list[RunSpec], started: Started, done: Done) -> list[RunSpec]:
        """Train ``runs`` on one pool; return those never handed out if the pool broke."""
        context = multiprocessing.get_context("spawn")
        slots = context.Queue()
        for slot in self.slots:
            slots.put(slot)
        threads = max(1, (os.cpu_count() or 1) // len(self.slots))
        pool = concurrent.futures.ProcessPoolExecutor(
            len(self.slots), mp_context=context, initializer=_init_worker, initargs=(slots, self.request, threads)
        )
        pending: dict[concurrent.futures.Future[RunResult], RunSpec] = {}
        queue = list(runs)
        broken = False
        try:
            while queue or pending:
                while queue and len(pending) < len(self.slots) and not broken:
                    run = queue.pop(0)
                    started(run)
                    pending[pool.submit(_train_in_worker, run, self.versions)] = run
                finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    run = pending.pop(future)
                    try:
                        done(future.result())
                    except concurrent.futures.process.BrokenProcessPool:
                        broken = True
                        done(failed_result(run, "the worker process died during this run (killed, out of host memory, or a crash in native code)"))
                if broken and not pending:
                    return queue
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return []


_worker_slot = "cpu"
_worker_request: DataRequest | None = None


def _init_worker(slots: Any, request: DataRequest, threads: int) -> None:
    """Take a slot, share the host's cores fairly, load the plugins like the driver."""
    global _worker_slot, _worker_request
    import torch

    from augmentlab.plugin_manager import load_plugins

    _worker_slot = slots.get()
    torch.set_num_threads(threads)
    load_plugins(**request.plugin_options)
    _worker_request = request


def _train_in_worker(run: RunSpec, versions: dict[str, str]) -> RunResult:
    from augmentlab.ablate import release_device_memory

    assert _worker_request is not None  # set by _init_worker
    run = replace(run, device=_worker_slot)
    result = train_run(run, load_training_data(_worker_request, _worker_slot), None, versions)
    release_device_memory()
    return result


def failed_result(run: RunSpec, reason: str) -> RunResult:
    """A failed result for ``run`` that never produced one itself (its worker died, or it never started)."""
    return RunResult(arm=run.arm, augmentation=run.augmentation, loss=run.loss, seed=run.seed, status="failed", error=reason)
