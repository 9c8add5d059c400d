"""Running an ablation: every planned (arm, seed) that the output folder does not hold yet.

The folder's result store decides what is left, so re-running a command resumes it: finished
runs are skipped, and interrupted or failed ones run again. Each run is recorded when it ends,
and memory is released between runs so that a long ablation does not creep towards OOM.
"""

from __future__ import annotations

import contextlib
import gc
import json
import platform
import shlex
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterator, Sequence

import torch

from augmentlab.data.cache import TensorCache
from augmentlab.data.segmentation import SegmentationDataset
from augmentlab.plan import AblationPlan
from augmentlab.progress import AblationProgress
from augmentlab.results import AblationInfo, ArmInfo, RunResult
from augmentlab.store import ResultStore
from augmentlab.executors import DataRequest, Executor
from augmentlab.train import RunProgress, RunSpec, TrainingData

VERSIONED_LIBRARIES = ("torch", "torchvision", "kornia", "segmentation-models-pytorch", "pycocotools", "numpy")


def ablation_info(plan: AblationPlan, name: str, class_names: Sequence[str], ignore_index: int, data: str) -> AblationInfo:
    return AblationInfo(
        name=name,
        class_names=list(class_names),
        arms=[ArmInfo(arm.name, str(arm.augmentation), str(arm.loss)) for arm in plan.arms],
        seeds=list(plan.seeds),
        recipe=asdict(plan.recipe),
        device=plan.device,
        preset=plan.preset,
        data=data,
        ignore_index=ignore_index,
    )


def training_data(train: SegmentationDataset, val: SegmentationDataset, device: str, memory_budget_bytes: int | None = None) -> TrainingData:
    """Decode both splits once onto the training device; every run of the ablation shares them."""
    return TrainingData(
        train=TensorCache.build(train, device, memory_budget_bytes=memory_budget_bytes),
        val=TensorCache.build(val, device, memory_budget_bytes=memory_budget_bytes),
        class_names=tuple(train.class_names),
        ignore_index=train.ignore_index,
        class_frequencies=[float(count) for count in train.class_stats().pixel_counts],
    )


def pending_runs(plan: AblationPlan, store: ResultStore, compile: bool = False, cudnn_benchmark: bool = True) -> list[RunSpec]:
    """The plan's runs the store has not finished, in plan order (arm by arm, seed by seed).

    ``compile`` and ``cudnn_benchmark`` change how fast a run trains, not what it trains, so
    runs finished with other settings count as finished.
    """
    finished = store.finished()
    return [
        RunSpec(str(arm.augmentation), str(arm.loss), seed, plan.recipe, plan.device, compile, cudnn_benchmark)
        for arm, seed in plan.runs
        if (arm.name, seed) not in finished
    ]


def run_versions(plugins: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """Versions that shaped a run: python, the libraries, CUDA and GPU, augmentlab and each plugin distribution."""
    versions = {"python": platform.python_version()}
    for library in ("augmentlab", *VERSIONED_LIBRARIES):
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[library] = "not installed"
    if torch.cuda.is_available():
        versions["cuda"] = str(torch.version.cuda)
        versions["gpu"] = torch.cuda.get_device_name()
    for distribution, version in plugins:
        versions[f"plugin {distribution}"] = version
    return versions


def execute(runs: Sequence[RunSpec], executor: Executor, store: ResultStore, progress: AblationProgress) -> None:
    """Train ``runs`` with ``executor``, recording each in ``store`` as it ends.

    A KeyboardInterrupt leaves the runs in hand marked ``running`` (so the next invocation runs
    them again) and propagates; everything recorded before it stays.
    """

    def started(run: RunSpec) -> RunProgress | None:
        store.mark_running(run.arm, run.seed, run.augmentation, run.loss)
        return progress.run_started(run.arm, run.seed)

    def done(result: RunResult) -> None:
        store.record(result)
        progress.run_done(result)

    with startup_objects_frozen():
        executor.run(runs, started, done)


@contextlib.contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Keep the objects alive now out of the garbage collector's passes until the block ends.

    A process that imported torch, segmentation_models_pytorch and the plugins tracks about
    450k objects (modules, classes, functions) that live until it exits, and every full
    collection walks them all: 0.25 s on the CPU for each :func:`release_device_memory` between
    runs. ``gc.freeze()`` is CPython's way to leave such objects out; the objects a run creates
    are collected as before. Does nothing when the caller has already frozen objects of its own.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def time_line(before: float, trained: Sequence[float], wall: float, workers: int = 1) -> str:
    """Where an ablation command's time went: start-up, and its runs' training time against the wall time they took.

    With several workers the ratio says how much the runs overlapped, so whether ``--parallel``
    paid: start-up and the report are not in it.

    Args:
        before: seconds from the command's start to the first run (imports, data, warm-up).
        trained: each run's own training seconds.
        wall: seconds from the first run's start to the last run's end.
        workers: runs at a time.
    """
    runs = f"{len(trained)} run{'s' if len(trained) != 1 else ''} trained for {sum(trained):.1f} s in {wall:.1f} s"
    if workers > 1:
        runs += f" on {workers} workers ({sum(trained) / wall:.1f}× overlap)" if wall > 0 else f" on {workers} workers"
    return f"time: {before:.1f} s before the first run; {runs}"


def release_device_memory() -> None:
    """Free what the finished run left behind (model, optimiser state, activations) before the next one."""
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def write_command(folder: Path, argv: Sequence[str]) -> str:
    """Append the command line to ``command.txt`` (one line per invocation, newest last) and return it."""
    command = shlex.join(["augmentlab", *argv])
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open(folder / "command.txt", "a", encoding="utf-8") as file:
        file.write(f"{stamp}  {command}\n")
    return command


def write_resolved_config(folder: Path, info: AblationInfo, request: DataRequest) -> Path:
    """``config.toml``: the resolved ablation, readable by ``--config`` (arms listed explicitly)."""
    lines = [
        f"# The resolved ablation in {folder}; `augmentlab ablate --config {folder / 'config.toml'}` runs it again.",
        f"name = {_toml(info.name)}",
        f"preset = {_toml(info.preset)}",
        f"device = {_toml(info.device)}",
        f"seeds = {len(info.seeds)}",
    ]
    paths = {"data": request.data, "val": request.val, "val_masks": request.val_masks}
    paths.update({key: request.options.get(key) for key in ("images", "masks")})
    lines += [f"{key} = {_toml(path)}" for key, path in paths.items() if path is not None]
    # How the data was read, so that the same files give the same split, labels and classes.
    if request.val is None:
        lines.append(f"val_split = {_toml(request.val_split)}")
    lines += [f"{key} = {_toml(request.options[key])}" for key in ("ignore_index", "classes", "strict") if request.options.get(key) is not None]
    lines += ["", "[recipe]"] + [f"{key} = {_toml(value)}" for key, value in info.recipe.items()]
    for arm in info.arms:
        lines += ["", "[[arms]]", f"aug = {_toml(arm.augmentation)}", f"loss = {_toml(arm.loss)}"]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: object) -> str:
    """A TOML value for the plain types a recipe and the data options hold (JSON's string escapes are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")
