"""Running an ablation from its config: :func:`run_ablation`, and :func:`plan_ablation` to check it without training.

The output folder's result store decides what is left, so running the same config again
resumes it: finished runs are skipped, and interrupted or failed ones run again. Each run is
recorded when it ends, and memory is released between runs so that a long ablation does not
creep towards OOM.

From Python::

    import augmentlab
    report = augmentlab.run_ablation(augmentlab.AblationConfig(aug=["hflip"], seeds=2))
    report.arms[1].delta, report.arms[1].verdict
"""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import itertools
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from augmentlab.atomic import cannot_write, write_text_atomically
from augmentlab.data import load_splits
from augmentlab.data.dataset import SegmentationDataset
from augmentlab.data.loading import shared_images_warning
from augmentlab.data.stream import place_splits
from augmentlab.data.wording import plural
from augmentlab.errors import AugmentlabError, Param, StoreError
from augmentlab.registry.loading import current_registry, plugin_options
from augmentlab.report.files import write_report_files
from augmentlab.report.looks import Replay, replay_design
from augmentlab.report.summary import Report, build_report
from augmentlab.results.lock import FolderLock
from augmentlab.results.pending import (
    PENDING_FOLDER,
    free_room,
    keep_room,
    pending_path,
    pending_results,
    save_pending,
)
from augmentlab.results.records import AblationInfo, ArmInfo, RunResult
from augmentlab.results.store import ResultStore
from augmentlab.runner.config import AblationConfig
from augmentlab.runner.executors.base import DataRequest, Executor, StopRuns
from augmentlab.runner.executors.process import ProcessExecutor, worker_threads
from augmentlab.runner.executors.sequential import SequentialExecutor
from augmentlab.runner.plan import AblationPlan, check_batch_fits
from augmentlab.runner.progress import AblationListener
from augmentlab.runner.recipe import resolve_mirror_pairs
from augmentlab.runner.train import RunProgress, RunSpec, run_versions, warm_up
from augmentlab.runner.training_data import training_data
from augmentlab.tracking.base import AblationStart, SinkSet

PYTHON_COMMAND = "augmentlab.run_ablation(...) from Python"
"""What command.txt records for an ablation started from Python rather than the command line."""


class Terminated(KeyboardInterrupt):
    """A stop asked by a signal other than Ctrl-C (SIGTERM: ``timeout``, ``docker stop``, systemd, Slurm); handled as Ctrl-C is.

    Attributes:
        signal: the signal number.
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"terminated by signal {signal_number}")
        self.signal = signal_number


@contextlib.contextmanager
def terminated_as_interrupted(signals: Sequence[int] = (signal.SIGTERM,)) -> Iterator[None]:
    """While the block runs in the main thread, ``signals`` raise :class:`Terminated`, so that they take Ctrl-C's clean path."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(number: int, frame: object) -> None:
        raise Terminated(number)

    previous = {number: signal.signal(number, stop) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class AblationInterrupted(KeyboardInterrupt):
    """An ablation was interrupted (Ctrl-C, SIGTERM); every run that ended before is stored, and the same config resumes it.

    Attributes:
        folder: the ablation's output folder.
        finished: finished runs stored in it.
        planned: runs the plan has.
        signal: the signal that stopped it (``signal.SIGINT`` for Ctrl-C).
    """

    def __init__(self, folder: Path, finished: int, planned: int, signal_number: int = signal.SIGINT) -> None:
        super().__init__(f"interrupted: {finished} of {planned} runs are finished and saved in {folder}")
        self.folder, self.finished, self.planned, self.signal = folder, finished, planned, signal_number


@dataclass
class PreparedAblation:
    """A checked ablation with its data loaded, before anything trains or is written.

    Attributes:
        config: the ablation's settings.
        plan: arms × seeds under the recipe.
        folder: the output folder (``out / name``).
        train, val: the loaded splits.
        request: how worker processes load the same data.
        data_text: where the data came from and its content key, as the store records it.
    """

    config: AblationConfig
    plan: AblationPlan
    folder: Path
    train: SegmentationDataset
    val: SegmentationDataset
    request: DataRequest
    data_text: str


def plan_ablation(config: AblationConfig, *, progress: AblationListener | None = None) -> PreparedAblation:
    """Check every setting, resolve the arms and load (so check) the data; train and write nothing.

    This is what ``augmentlab ablate --dry-run`` does.

    Raises:
        AugmentlabError: a bad setting or bad data, in one line naming it.
    """
    return _prepare(*_checked_arguments(config, progress))


def _checked_arguments(config: object, progress: object) -> tuple[AblationConfig, AblationListener]:
    """``(config, listener)``, or a TypeError that says what to pass: a mapping of settings or a bare function is a common slip."""
    if not isinstance(config, AblationConfig):
        hint = "; build one with AblationConfig(**settings)" if isinstance(config, Mapping) else ""
        raise TypeError(f"config must be an augmentlab.AblationConfig, got {type(config).__name__}{hint}")
    if progress is None:
        return config, AblationListener()
    events = [name for name in vars(AblationListener) if not name.startswith("_") and callable(getattr(AblationListener, name))]
    if not isinstance(progress, AblationListener) and not all(callable(getattr(progress, name, None)) for name in events):
        raise TypeError(
            f"progress must be an augmentlab.runner.AblationListener (or ConsoleProgress), got {type(progress).__name__}; "
            "subclass AblationListener and override the events you want (notice, run_done, …)"
        )
    return config, progress


def run_ablation(config: AblationConfig, *, progress: AblationListener | None = None, command: str | None = None) -> Report:
    """Plan the ablation, load the data once, train what the output folder lacks, store each run, and report.

    The report files (report.md, .csv, .json, .png, .html) are written into the output folder, and the
    same :class:`~augmentlab.report.summary.Report` that ``augmentlab report DIR`` renders is
    returned. Failed runs are recorded and reported (``report.runs.failed``); they do not raise.

    Args:
        config: the ablation's settings.
        progress: hears what happens as it goes (default: nothing is printed); the command line
            passes :class:`~augmentlab.runner.progress.ConsoleProgress`.
        command: the line to record in the folder's ``command.txt`` (default: that it ran from Python).

    Raises:
        AugmentlabError: a bad setting or bad data, before anything trains.
        AblationInterrupted: Ctrl-C; the runs that ended are stored.
    """
    config, listener = _checked_arguments(config, progress)
    workers = _start_workers(config)
    try:
        prepared = _prepare(config, listener)
        if workers is not None:
            workers.data_ready(prepared.request, prepared.plan.recipe, config.cudnn_benchmark_on())
        return _train_and_report(prepared, listener, workers, command or PYTHON_COMMAND)
    finally:
        # Training closed them after the last look; if nothing ran (an error, a finished folder),
        # stop them now rather than wait for their start-up.
        if workers is not None:
            workers.close(terminate=True)


def _start_workers(config: AblationConfig) -> ProcessExecutor | None:
    """Local worker processes, started before anything else, so that their imports, plugins and
    device set-up overlap everything the driver does until the first run."""
    config.check_kinds()
    slots = config.worker_slots()
    if len(slots) == 1 or config.ray_options() is not None:
        return None
    workers = ProcessExecutor(slots, plugin_options())
    workers.start()
    return workers


def _warn_about_letter_sides(config: AblationConfig, class_names: Sequence[str], listener: AblationListener) -> None:
    """Name the classes that differ only by l and r when auto pairs mirror classes: auto leaves them unpaired."""
    from augmentlab.augment.mirror import letter_side_pairs

    if (config.mirror_pairs or "auto").strip().lower() != "auto":
        return
    pairs = letter_side_pairs(class_names)
    if pairs:
        spelt = ",".join(f"{class_names[a]}:{class_names[b]}" for a, b in pairs)
        listener.warning(
            f"classes {spelt.replace(',', ', ').replace(':', ' and ')} differ only by l and r, which mirror_pairs auto leaves unpaired "
            f"(l may not mean left); if they are left and right, a flip must swap them: set mirror_pairs to {spelt} (--mirror-pairs)"
        )


def _prepare(config: AblationConfig, listener: AblationListener) -> PreparedAblation:
    config.validate()
    check_output_folder(config.out, config.name)  # before the data loads: a real run could not write there
    device, _ = config.resolved_device()
    preset = config.preset_name()
    recipe = config.recipe()
    arms = config.planned_arms()
    request = config.data_request(plugin_options())
    # Loading checks the data (and rasterizes and caches COCO masks once) before anything trains;
    # the paths as given, so that a message names them as the user wrote them.
    with config.located():  # a data setting from a config file is named as the file writes it
        train, val = load_splits(config.data, **config.split_arguments(), size=request.size, resize=recipe.resize)
    config.check_losses(train.num_classes)
    recipe = resolve_mirror_pairs(recipe, train.class_names)
    _warn_about_letter_sides(config, train.class_names, listener)
    cores = os.cpu_count() or 1
    if device == "cpu" and len(config.worker_slots()) > cores:
        listener.warning(
            f"parallel {len(config.worker_slots())} on a CPU with {plural(cores, 'core')}: the runs share the cores, so no more than "
            f"{cores} at once go faster; set parallel to {cores} or fewer (--parallel)"
        )
    shared = shared_images_warning(train, val)
    if shared:
        listener.warning(shared)
    if recipe.encoder_weights not in ("imagenet", "none"):
        from augmentlab.runner.model import build_model

        build_model(recipe.encoder, recipe.encoder_weights, train.num_classes, recipe.arch)  # a local weights file is read now, so that it is checked
    elif recipe.encoder_weights == "imagenet":
        from augmentlab.runner.model import imagenet_weights_cached

        if imagenet_weights_cached(recipe.encoder) is False:
            listener.notice(
                f"the imagenet weights of {recipe.encoder} are not in the Hugging Face cache: the first run downloads them, which needs "
                "network access (offline, give --encoder-weights none or a local weights file)"
            )
    plan = AblationPlan(tuple(arms), tuple(range(config.seed_count())), recipe, preset, device, config.analysis_settings())
    data_key = train.cache_key + val.cache_key
    folder = config.out / (config.name or plan.default_name(data_key))
    how = f"the default for {device}" if config.preset is None else ("the config file" if "preset" in config.sources else "given")
    tuning = f", cuDNN benchmark {'on' if config.cudnn_benchmark_on() else 'off'}" if device.startswith("cuda") else ""
    listener.notice(f"preset: {preset} ({how}); device: {device}{tuning}")
    source = config.data or "built-in demo data (synthetic)"
    listener.notice(f"data: {source}: {len(train)} train / {len(val)} val images, {train.num_classes} classes")
    # Where each will live, before anything is decoded; the process that trains decides again with
    # the same budgets (a worker's own), since the free memory may have changed by then.
    threads = worker_threads(request.host_copies) if request.host_copies > 1 else None
    local = device
    if device == "cuda" and config.executor == "ray" and not torch.cuda.is_available():
        # A Ray driver without a GPU of its own: the cluster's workers place the splits on theirs.
        local = "cpu"
        listener.notice("this machine has no GPU: each Ray worker places the splits on its own; where they would live here:")
    placed = place_splits([train, val], local, request.memory_budget_bytes, request.host_memory_bytes,
                          device_copies=request.device_copies, host_copies=request.host_copies, threads=threads)
    for name, split, where in zip(("train", "val"), (train, val), placed):
        listener.notice(where.describe(name, len(split)))
    listener.planned(plan, folder)
    check_batch_fits(recipe.batch_size, len(train))
    if config.name is None:
        check_output_folder(config.out, folder.name)  # the name it derived; a given one was checked above
    data_text = f"{request.data or source} ({hashlib.sha256(data_key.encode()).hexdigest()[:12]})"
    prepared = PreparedAblation(config, plan, folder, train, val, request, data_text)
    check_resumes(prepared)
    return prepared


def check_output_folder(out: Path, name: str | None) -> None:
    """Refuse an output folder that cannot be made because a file stands at its place or above it.

    Checked before the data loads, and again once the default name is known, so that a dry run
    fails where the real run would; nothing is created.

    Raises:
        AugmentlabError: naming the file in the way.
    """
    target = out / name if name else out
    for path in (target, *target.parents):
        if path.is_dir():
            if not os.access(path, os.W_OK | os.X_OK):  # the run would fail at its lock file, or at mkdir
                raise cannot_write(path, PermissionError(errno.EACCES, os.strerror(errno.EACCES)), "the folder")
            return
        if not path.exists():
            continue
        if path == target and name:
            raise AugmentlabError(f"{path} is a file, not an ablation folder; give another ", Param("name"), ", or move that file away")
        where = f"{out} is a file" if path == out else f"{out}: {path} is a file"
        raise AugmentlabError(Param("out"), f" {where}, not a folder; give the folder that holds the ablations (e.g. ", Param("out"), " runs), or move that file away")


def check_resumes(prepared: PreparedAblation) -> None:
    """Refuse, as :meth:`ResultStore.begin` would, an existing folder that holds a different ablation; read only, nothing is written.

    Raises:
        AugmentlabError: the stored classes, recipe, device, data or ignore index differ, or the store cannot be read.
    """
    if not (prepared.folder / ResultStore.FILENAME).exists():
        return
    plan, train = prepared.plan, prepared.train
    with ResultStore(prepared.folder, create=False, read_only=True) as store:
        store.check_resumes(ablation_info(plan, prepared.folder.name, train.class_names, train.ignore_index, prepared.data_text))


def _train_and_report(prepared: PreparedAblation, listener: AblationListener, workers: ProcessExecutor | None, command: str) -> Report:
    config, plan, folder = prepared.config, prepared.plan, prepared.folder
    if plan.recipe.encoder_weights == "imagenet":
        from augmentlab.runner.model import build_model

        build_model(plan.recipe.encoder, "imagenet", prepared.train.num_classes, plan.recipe.arch)  # download the weights once, before any run
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AugmentlabError(Param("out"), f" {folder.parent}: cannot create {folder}: {error.strerror or error}") from None
    sinks = SinkSet(config.result_sinks(), listener.warning, folder)
    try:
        with FolderLock(folder), ResultStore(folder) as store:
            info = store.begin(ablation_info(plan, folder.name, prepared.train.class_names, prepared.train.ignore_index, prepared.data_text))
            folded = store.fold_pending()
            free_room(folder)  # a reserve left by a killed ablation; the runs below keep room again
            if folded:
                listener.notice(f"{folded} result(s) that could not be stored before are now in {store.path}")
            write_command(folder, command)
            write_resolved_config(folder, config, plan, prepared.request)
            if sinks:
                stored = tuple(result for result in store.results() if result.status != "running")
                sinks.ablation_started(AblationStart(info, folder, f"{folder.name}@{store.created_at()}", stored, command))
                for line in sinks.where():
                    listener.notice(line)
            _train_looks(prepared, info, store, listener, workers, sinks)
            report = build_report(store.info(), store.results())
        files = write_report_files(report, folder)
        sinks.report_built(report, files)
        return report
    finally:
        sinks.close()


def _train_looks(
    prepared: PreparedAblation, info: AblationInfo, store: ResultStore, listener: AblationListener, workers: ProcessExecutor | None, sinks: SinkSet
) -> None:
    """Train what the design's next look needs, look after look, until the stored results complete its path.

    A fixed design has one look. Runs that failed before this invocation are tried again; those
    that fail now count as ended, so that the looks go on without them.
    """
    config, plan, folder = prepared.config, prepared.plan, prepared.folder
    arms = {arm.name: arm for arm in info.arms}
    tried: set[tuple[str, int]] = set()
    ended: list[RunResult] = []  # the runs that ended in this invocation, for the time line, even when it is interrupted
    executor: Executor | None = None
    first_run_at: float | None = None
    try:
        for look in itertools.count(1):
            path = design_path(info, store.results(), tried)
            wanted = [key for key in path.next_runs if key not in tried]
            if look == 1:
                asked = sum(path.seeds.values())
                done = asked - len(wanted)
                if done:
                    listener.notice(f"resuming {folder}: {done} of {asked} runs already finished, {len(wanted)} to run")
            elif wanted:
                listener.notice(f"look {path.look} of {path.looks}: {len(path.open)} comparison(s) still open, {len(wanted)} more run(s)")
            if not wanted:
                if workers is not None:
                    workers.close()  # the workers' memory goes back before the report
                return
            if executor is None:
                executor = _executor(prepared, listener, workers)
                first_run_at = time.perf_counter()
                keep_room(folder)
            specs = [RunSpec(arms[name].augmentation, arms[name].loss, seed, plan.recipe, plan.device, config.compile, config.cudnn_benchmark_on())
                     for name, seed in wanted]
            listener.runs_started(len(specs))
            try:
                execute(specs, executor, store, listener, sinks, ended=ended)
            except KeyboardInterrupt as stop:
                raise AblationInterrupted(folder, len(store.finished()), sum(path.seeds.values()), getattr(stop, "signal", signal.SIGINT)) from None
            tried.update(wanted)
    finally:
        if first_run_at is not None:
            free_room(folder)
            trained = [result.train_seconds or 0.0 for result in ended]
            listener.runs_ended(first_run_at, trained, time.perf_counter() - first_run_at, len(workers.slots) if workers is not None else 1)


def design_path(info: AblationInfo, results: Sequence[RunResult], tried: set[tuple[str, int]]) -> Replay:
    """The design's path through its looks: the runs finished count, and those that failed in this invocation (``tried``).

    Runs that failed in an earlier invocation are tried again.
    """
    ended = {result.key for result in results if result.status == "finished" or (result.status == "failed" and result.key in tried)}
    return replay_design(info, results, {}, ended)[1]


def _executor(prepared: PreparedAblation, listener: AblationListener, workers: ProcessExecutor | None) -> Executor:
    """Where the pending runs train: Ray, the started local workers, or this process (warmed up first on CUDA)."""
    config, plan = prepared.config, prepared.plan
    registry = current_registry()
    versions = run_versions([(p.distribution, p.version) for p in registry.plugins if p.status == "loaded"])
    ray_options = config.ray_options()
    if ray_options is not None:
        from augmentlab.runner.executors.ray_cluster import RayExecutor

        executor = RayExecutor(prepared.request, versions, **ray_options)
        listener.notice(f"runs go to Ray ({executor.describe()})")
        return executor
    if workers is not None:
        listener.notice(f"{len(workers.slots)} runs at a time, in worker processes on {', '.join(sorted(set(workers.slots)))}")
        workers.versions = versions
        return workers
    device = plan.device
    request = prepared.request
    data = training_data(prepared.train, prepared.val, device, request.memory_budget_bytes, request.native_eval, host_bytes=request.host_memory_bytes)
    autotune = config.cudnn_benchmark_on()
    seconds = warm_up(plan.recipe, len(prepared.train.class_names), device, autotune)  # the executor's own call then has nothing to do
    if seconds:
        what = "cuDNN timing its algorithms, kernels loading" if autotune else "kernels loading; no cuDNN timing"
        listener.notice(f"warmed up {device} for the recipe's shapes in {seconds:.1f} s ({what}), kept out of every run's time")
    return SequentialExecutor(data, versions)


def ablation_info(plan: AblationPlan, name: str, class_names: Sequence[str], ignore_index: int, data: str) -> AblationInfo:
    return AblationInfo(
        name=name,
        class_names=list(class_names),
        arms=[ArmInfo(arm.name, str(arm.augmentation), str(arm.loss)) for arm in plan.arms],
        seeds=list(plan.seeds),
        recipe=json.loads(json.dumps(asdict(plan.recipe))),  # as the store gives it back: an H×W size is a list
        device=plan.device,
        preset=plan.preset,
        data=data,
        ignore_index=ignore_index,
        analysis=plan.analysis,
    )


def execute(
    runs: Sequence[RunSpec], executor: Executor, store: ResultStore, listener: AblationListener, sinks: SinkSet | None = None,
    ended: list[RunResult] | None = None,
) -> None:
    """Train ``runs`` with ``executor``, recording each in ``store`` as it ends, then telling ``sinks``.

    Each run that ends (finished or failed, stored or kept pending) is also appended to ``ended``
    as it ends, so that the caller knows what ran even when an interrupt cuts this call short.

    A finished run whose row cannot be written (a full disk, a lock that is not released, an I/O
    error) is saved to the folder's ``pending/`` instead, and nothing new is started; the runs in
    flight end and are saved the same way. Then :class:`StoreWriteFailed` says what happened.
    A KeyboardInterrupt leaves the runs in hand marked ``running`` (so the next invocation runs
    them again) and propagates; everything recorded before it stays.
    """
    failure: list[StoreError] = []

    def started(run: RunSpec) -> RunProgress | None:
        if failure:
            raise StopRuns
        try:
            store.mark_running(run.arm, run.seed, run.augmentation, run.loss)
        except StoreError as error:
            failure.append(error)
            raise StopRuns from None
        return listener.run_started(run.arm, run.seed)

    def done(result: RunResult) -> None:
        if ended is not None:
            ended.append(result)
        try:
            store.record(result)
        except StoreError as error:
            failure.append(error)
            kept_in = keep_pending(store.folder, result)
            listener.notice(f"{result.arm} seed {result.seed}: its result could not be written to {store.path} ({error}); it is kept in {kept_in}")
        else:
            if sinks is not None:
                sinks.run_ended(result)  # after the store: a sink only ever hears what is stored
        listener.run_done(result)

    with startup_objects_frozen():
        executor.run(runs, started, done)
    if failure:
        raise StoreWriteFailed(store.folder, failure[0], len(pending_results(store.folder)))


class StoreWriteFailed(StoreError):
    """The store could not take a result; the ablation stopped starting runs, and kept every result that ended."""

    def __init__(self, folder: Path, cause: StoreError, pending: int) -> None:
        kept = f"the {pending} result(s) it could not write are kept in {folder / PENDING_FOLDER} and go into the store at the next start or `augmentlab report`" if pending else "no result was lost"
        super().__init__(f"stopped: {cause}; {kept}")
        self.cause, self.pending = cause, pending


def keep_pending(folder: Path, result: RunResult) -> str:
    """Save a result the store could not take; where that fails too, print it whole, the last place left to keep it."""
    try:
        return str(save_pending(folder, result))
    except AugmentlabError as error:
        sys.stderr.write(f"{error}; the result follows as one JSON line, save it as {pending_path(folder, result)}:\n")
        sys.stderr.write(json.dumps(result.to_dict(), allow_nan=True) + "\n")
        sys.stderr.flush()
        return "the JSON line printed on stderr"


@contextlib.contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's passes until the block ends.

    A process that imported torch, segmentation_models_pytorch and the plugins tracks about
    450k objects (modules, classes, functions) that live until it exits, and every full
    collection walks them all: 0.25 s on the CPU for each release of memory between runs.
    ``gc.freeze()`` is CPython's way to leave such objects out; the objects a run creates are
    collected as before. Does nothing when the caller has already frozen objects of its own.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def command_line(argv: Sequence[str]) -> str:
    """The shell line of an ``augmentlab`` invocation with ``argv``, quoted so that it can be pasted back."""
    return shlex.join(["augmentlab", *argv])


def write_command(folder: Path, command: str) -> None:
    """Append ``command`` to ``command.txt`` (one line per invocation, newest last), with the time."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path = folder / "command.txt"
    try:
        with open(path, "a", encoding="utf-8") as file:
            file.write(f"{stamp}  {command}\n")
    except OSError as error:
        raise cannot_write(path, error, "the command log") from None


RESOLVED_DATA_SETTINGS = ("ignore_index", "strict")
"""How the data was read, written to config.toml even at their defaults, so that the same files give the same labels."""


def write_resolved_config(folder: Path, config: AblationConfig, plan: AblationPlan, request: DataRequest) -> Path:
    """``config.toml``: the resolved ablation (arms listed, or a screen's factors; the analysis settings; every recipe field;
    the absolute output folder and data paths), which ``--config`` reads back into the same folder from anywhere."""
    recipe = asdict(plan.recipe)
    # A screening design is its factors, not its runs: listed as arms it would be analysed as a factorial.
    screen = config.design == "screen"
    what = {"aug": config.aug, "loss": config.loss, "design": "screen", "foldover": config.foldover} if screen else {
        "arms": tuple({"aug": str(arm.augmentation), "loss": str(arm.loss)} for arm in plan.arms)}
    resolved = AblationConfig(
        **what,
        seeds=config.seeds if config.max_seeds is not None else len(plan.seeds),
        max_seeds=config.max_seeds,
        margin=config.margin,
        correction=config.correction,
        pooling=config.pooling,
        preset=plan.preset,
        device=plan.device,
        out=folder.parent.resolve(),  # from any working folder, the same folder
        name=folder.name,
        data=_path(request.data),
        val=_path(request.val),
        val_images=_path(request.val_images),
        val_masks=_path(request.val_masks),
        images=_path(request.options.get("images")),
        masks=_path(request.options.get("masks")),
        mask_colours=_path(request.options.get("mask_colours")),
        val_split=request.val_split,
        ignore_index=config.ignore_index,
        classes=config.classes,
        strict=config.strict,
        **recipe,
    )
    explicit = [*RESOLVED_DATA_SETTINGS, *recipe, "out", *(["val_split"] if request.val is None else [])]
    path = folder / "config.toml"
    comment = f"The resolved ablation in {folder}; `augmentlab ablate --config {path}` runs it again."
    write_text_atomically(path, resolved.to_toml(comment, explicit=explicit), what="the resolved config")
    return path


def _path(value: Any) -> Path | None:
    return None if value is None else Path(value)
