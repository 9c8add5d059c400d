"""Runs in worker processes on this machine: ``--parallel K`` and ``--devices 0,1``.

:class:`ProcessExecutor` keeps one worker process per slot: ``--parallel K`` gives K slots on
one device (small models leave a large GPU idle), ``--devices 0,1`` one slot per GPU. Each
worker loads the data itself from a :class:`~augmentlab.runner.executors.base.DataRequest` and
keeps its own cache, and loads plugins from the installed entry points with the driver's
plugin options.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import gc
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from augmentlab.results.records import RunResult
from augmentlab.runner.executors.base import (
    DataRequest,
    Done,
    Started,
    StopRuns,
    failed_result,
)
from augmentlab.runner.recipe import Recipe
from augmentlab.runner.train import RunSpec, train_run, warm_up
from augmentlab.runner.training_data import load_training_data, release_device_memory


class ProcessExecutor:
    """One spawned worker process per slot; each slot is a device such as ``cuda:0`` or ``cpu``.

    :meth:`start` launches the workers as early as the driver likes: they import the libraries,
    load the plugins and set up their device while the driver parses its options and loads the
    data. :meth:`data_ready` then sends each the :class:`DataRequest` (the driver has loaded, so
    checked and cached, the data: COCO masks are rasterized once) and the recipe; each decodes
    the data onto its device and warms up there (:func:`augmentlab.runner.train.warm_up`), so runs
    start at full speed. :meth:`run` does both itself when they were not called; the workers stay
    for the next :meth:`run` (the next look of sequential seeds) until :meth:`close` stops them.

    A worker that dies (killed, or crashed inside a native library) breaks its pool. When one
    run was in flight, that run is recorded failed; when several were, nobody can tell which
    one killed it, so they run again one at a time on fresh workers, and one that kills its
    worker then is recorded failed. Runs never handed out go to the fresh workers as usual.
    """

    def __init__(self, slots: Sequence[str], plugin_options: dict[str, Any] | None = None, versions: dict[str, str] | None = None) -> None:
        if not slots:
            raise ValueError("a process executor needs at least one slot")
        self.slots = list(slots)
        self.plugin_options = dict(plugin_options or {})
        self.versions = dict(versions or {})
        self._job: tuple[DataRequest, Recipe | None, bool] | None = None
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._jobs: Any = None
        self._sent = False

    def start(self) -> None:
        """Launch every worker now; each prepares what it can and waits for :meth:`data_ready`."""
        if self._pool is not None:
            return
        context = multiprocessing.get_context("spawn")
        slots, self._jobs = context.Queue(), context.Queue()
        for slot in self.slots:
            slots.put(slot)
        threads = worker_threads(len(self.slots))
        self._pool = concurrent.futures.ProcessPoolExecutor(
            len(self.slots), mp_context=context, initializer=_init_worker, initargs=(os.getpid(), slots, self.plugin_options, threads, self._jobs)
        )
        self._sent = False
        # The pool spawns a worker per submission while none is idle: one no-op each starts them all now.
        for _ in self.slots:
            self._pool.submit(_ready)
        if self._job is not None:
            self._send(self._job)

    def data_ready(self, request: DataRequest, recipe: Recipe | None = None, cudnn_benchmark: bool = True) -> None:
        """The data to load (the driver has loaded and so checked it), and the recipe and cuDNN setting
        to warm up for (recipe None: no warm-up)."""
        self._job = (request, recipe, cudnn_benchmark)
        if self._pool is not None and not self._sent:
            self._send(self._job)

    def _send(self, job: tuple[DataRequest, Recipe | None, bool] | None) -> None:
        for _ in self.slots:
            self._jobs.put(job)
        self._sent = True

    def close(self, terminate: bool = False) -> None:
        """Stop the workers: after their current task, or at once with ``terminate`` (the driver failed or was interrupted)."""
        if self._pool is None:
            return
        if not self._sent:
            self._send(None)  # workers still waiting stop without loading anything
        if terminate:
            for process in list(getattr(self._pool, "_processes", {}).values()):  # no public way before Python 3.14
                process.terminate()
        forget_a_dead_resource_tracker()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def run(self, runs: Sequence[RunSpec], started: Started, done: Done) -> None:
        if self._job is None:
            raise ValueError("call data_ready() with the data request before run()")
        waiting, suspects = list(runs), set()
        try:
            while waiting:
                self.start()
                waiting = self._run_pool(waiting, suspects, started, done)
        except BaseException:
            self.close(terminate=True)  # interrupted or terminated: the runs in flight are not waited for
            raise

    def _run_pool(self, queue: list[RunSpec], suspects: set[tuple[str, int]], started: Started, done: Done) -> list[RunSpec]:
        """Train runs from ``queue`` on the current pool; if the pool breaks, return the runs to try again on a fresh one.

        A suspect (in flight when an earlier pool broke beside others) only runs alone.
        """
        assert self._pool is not None
        pending: dict[concurrent.futures.Future[RunResult], RunSpec] = {}
        crashed: list[RunSpec] = []
        while queue or pending:
            while queue and not crashed and len(pending) < len(self.slots):
                alone = _key(queue[0]) in suspects
                if pending and (alone or any(_key(run) in suspects for run in pending.values())):
                    break
                run = queue.pop(0)
                try:
                    started(run)
                except StopRuns:
                    queue.clear()  # the runs in flight still end and are handed to done
                    break
                pending[self._pool.submit(_train_in_worker, run, self.versions)] = run
            if not pending:  # stopped (StopRuns) with nothing in flight
                break
            finished, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                run = pending.pop(future)
                try:
                    done(future.result())
                except concurrent.futures.process.BrokenProcessPool:
                    crashed.append(run)
            if crashed and not pending:
                self.close()
                if len(crashed) == 1:
                    done(failed_result(crashed[0], "the worker process died during this run (killed, out of host memory, or a crash in native code)"))
                    return queue
                suspects.update(_key(run) for run in crashed)
                return crashed + queue
        return []


def _key(run: RunSpec) -> tuple[str, int]:
    return (run.arm, run.seed)


_worker_slot = "cpu"
_worker_request: DataRequest | None = None
_worker_error: BaseException | None = None


def _init_worker(driver: int, slots: Any, plugin_options: dict[str, Any], threads: int, jobs: Any) -> None:
    """Take a slot, share the host's cores fairly, load the plugins like the driver and set up the
    device; then, once the driver sends the data request, decode the data and warm up.

    A failure to load the data is kept and raised by the first run, as it would be in the driver.
    """
    global _worker_slot, _worker_request, _worker_error
    die_with_parent(driver)
    # The driver read the same data first and said what there was to say about it; a copy per worker is noise.
    logging.getLogger("augmentlab.data").setLevel(logging.ERROR)
    import torch

    from augmentlab.registry.loading import load_plugins

    importlib.import_module("segmentation_models_pytorch")  # now, while the driver is busy, not at the first run
    _worker_slot = slots.get()
    torch.set_num_threads(threads)
    load_plugins(**plugin_options)
    if torch.device(_worker_slot).type == "cuda":
        torch.zeros(1, device=_worker_slot)  # the CUDA context
    job = jobs.get()
    if job is None:  # the driver stopped before any run
        return
    # What the worker imported lives as long as it does: leave it out of the collections that
    # release_device_memory runs after each run (see augmentlab.runner.ablation.startup_objects_frozen).
    gc.freeze()
    _worker_request, recipe, cudnn_benchmark = job
    try:
        data = load_training_data(_worker_request, _worker_slot)
        if recipe is not None:
            warm_up(recipe, len(data.class_names), _worker_slot, cudnn_benchmark)
    except Exception as error:  # raised again by the first run, which reports it like the driver would
        _worker_error = error


def worker_threads(workers: int) -> int:
    """Each of ``workers`` local worker processes trains with its share of the cores, so that they do not oversubscribe them."""
    return max(1, (os.cpu_count() or 1) // workers)


def die_with_parent(parent: int) -> None:
    """End this worker when the driver that started it ends, however it ends (SIGKILL included).

    On Linux the kernel sends SIGKILL at once (``PR_SET_PDEATHSIG``); everywhere, a daemon thread
    also checks once a second that the parent is still the same process, and exits when it is not.
    A worker left behind would keep gigabytes of host and GPU memory until killed by hand.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the driver ended while this worker was starting, before the request took effect
        os._exit(EXIT_ORPHANED)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="augmentlab-parent-watch", daemon=True).start()


def forget_a_dead_resource_tracker() -> None:
    """Stop telling a killed multiprocessing resource tracker about semaphores this process removes.

    When the tracker process dies (killed by hand, or by an OOM killer), every later unregister
    starts a new tracker, which knows none of the names and prints a traceback for each: 11 for
    an ablation whose runs all finished. The driver still unlinks each semaphore itself, so
    nothing leaks by not telling the new tracker; the stdlib has no public way to ask whether
    its tracker is alive, hence the private names, guarded.
    """
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    try:
        dead = tracker is not None and tracker._fd is not None and not tracker._check_alive()
    except (AttributeError, OSError):
        return
    if dead:
        resource_tracker.unregister = lambda name, rtype: None


PR_SET_PDEATHSIG = 1
PARENT_CHECK_SECONDS = 1.0
EXIT_ORPHANED = 3


def _ready() -> None:
    """A no-op task: submitting one per slot makes the pool start every worker at once."""


def _train_in_worker(run: RunSpec, versions: dict[str, str]) -> RunResult:
    if _worker_error is not None:
        raise _worker_error
    assert _worker_request is not None  # sent to _init_worker before any run
    run = replace(run, device=_worker_slot)
    result = train_run(run, load_training_data(_worker_request, _worker_slot), None, versions)
    release_device_memory()
    return result
