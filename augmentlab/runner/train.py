"""One training run: the fixed DeepLabV3+ recipe with one arm's augmentation set and loss.

The step loop never waits on the host: batches come from the device-resident cache, are
augmented on the device, and the loss and its terms accumulate in device tensors that are read
once per epoch. On CUDA it runs with autocast, channels_last, ``cudnn.benchmark`` (unless the
run turns it off) and the fused Adam; on the CPU the same code runs plainly.

A run that fails for its own reason (a NaN loss, CUDA out of memory, an exception raised by a
plugin) comes back as a failed :class:`RunResult` with the reason; other runs go on.
"""

from __future__ import annotations

import contextlib
import math
import platform
import random
import time
import traceback
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from augmentlab.augment.pipeline import TransformOutputError, plugin_transforms
from augmentlab.data.cache import TensorCache, derived_seed
from augmentlab.data.native import NativeMasks
from augmentlab.errors import first_line, one_line
from augmentlab.registry.loading import env_flag
from augmentlab.results.records import EpochRecord, RunResult, arm_name
from augmentlab.runner.metrics import ConfusionMatrix, SegmentationMetrics
from augmentlab.runner.model import build_model, model_layout, normalize_images
from augmentlab.runner.recipe import SMP_MODEL_CLASSES, Recipe
from augmentlab.runner.training_data import TrainingData

VERSIONED_LIBRARIES = ("torch", "torchvision", "kornia", "segmentation-models-pytorch", "pycocotools", "numpy")
"""Libraries whose versions every run records."""

ENV_DEBUG = "AUGMENTLAB_DEBUG"
"""Set to 1 to have a run's exception raised instead of recorded as a failed run."""

AUGMENTATION_STREAM = 1
"""Key of the augmentation's random stream, beside the sample order's (see :func:`derived_seed`)."""


@dataclass(frozen=True)
class RunSpec:
    """One (arm, seed) run, as plain values so that it can travel to another process."""

    augmentation: str
    loss: str
    seed: int
    recipe: Recipe
    device: str
    compile: bool = False
    cudnn_benchmark: bool = True
    """On CUDA, let cuDNN time its algorithms for each convolution shape and keep the fastest (see :func:`warm_up`)."""

    @property
    def arm(self) -> str:
        return arm_name(self.augmentation, self.loss)


class RunProgress(Protocol):
    """What a progress display hears from a run. ``loss_sum`` is a 0-dim device tensor: reading it syncs, so read it rarely."""

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None: ...

    def step_done(self, step: int, loss_sum: torch.Tensor) -> None:
        """``loss_sum``: the epoch's step losses so far, summed; their mean is ``loss_sum / (step + 1)``."""
        ...

    def epoch_done(self, record: EpochRecord) -> None: ...


class RunFailure(Exception):
    """A run failed for its own reason; the message is the one line the store keeps."""


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


def train_run(run: RunSpec, data: TrainingData, progress: RunProgress | None = None, versions: dict[str, str] | None = None) -> RunResult:
    """Train and validate one run; the best epoch by validation mIoU gives its metrics.

    KeyboardInterrupt passes through; every other failure of the run is returned as a failed
    result with a one-line reason and, where an exception caused it, its full traceback. With
    ``AUGMENTLAB_DEBUG=1`` the exception is raised instead, to debug a plugin where it fails.
    """
    result = RunResult(
        arm=run.arm, augmentation=run.augmentation, loss=run.loss, seed=run.seed, status="running",
        config=_run_config(run, data), versions=dict(versions or {}),
    )
    device = torch.device(run.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    try:
        with _callers_random_state(device):
            _train(run, data, result, progress)
        result.status = "finished"
    except Exception as error:  # anything the run raised is recorded, so the other runs still go on
        if env_flag(ENV_DEBUG):
            raise (error.__cause__ if isinstance(error, RunFailure) and error.__cause__ is not None else error)
        result.status, result.error = "failed", _failure_reason(error)
        result.retryable = isinstance(error, torch.OutOfMemoryError)  # the memory may be free next time; the rest would fail again
        if not isinstance(error, RunFailure) or error.__cause__ is not None:
            result.traceback = traceback.format_exc()
    result.train_seconds = time.perf_counter() - started
    if device.type == "cuda":
        result.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
    return result


@contextlib.contextmanager
def _callers_random_state(device: torch.device) -> Iterator[None]:
    """Leave the caller's random streams (torch's, on the CPU and ``device``; Python's; numpy's) and cuDNN's
    benchmark flag as they were: a run seeds its own, and a notebook's later seeded code must draw as before."""
    python_state, numpy_state, benchmark = random.getstate(), np.random.get_state(), torch.backends.cudnn.benchmark
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.backends.cudnn.benchmark = benchmark


def _train(run: RunSpec, data: TrainingData, result: RunResult, progress: RunProgress | None) -> None:
    from augmentlab.augment.mirror import label_swap_table, mirror_pairs
    from augmentlab.augment.pipeline import build_augmentation
    from augmentlab.losses.combo import build_loss

    recipe, device = run.recipe, torch.device(run.device)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = cuda and run.cudnn_benchmark
    torch.manual_seed(run.seed)  # the model's initialisation: the same for every arm of this seed
    layout = model_layout(device)  # the normalisation writes each batch in the model's layout
    model = build_model(recipe.encoder, recipe.encoder_weights, len(data.class_names), recipe.arch).to(device, memory_format=layout)
    step_model = torch.compile(model) if run.compile else model
    augment = build_augmentation(run.augmentation, ignore_index=data.ignore_index)
    augment.set_label_swap(label_swap_table(mirror_pairs(data.class_names, recipe.mirror_pairs), data.ignore_index))  # None: nothing to swap
    augment = augment.to(device)
    loss_fn = build_loss(run.loss, len(data.class_names), data.ignore_index, data.class_frequencies).to(device)
    # fused Adam runs the whole update in a few kernels on CUDA; foreach is the CPU's fastest path.
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, **({"fused": True} if cuda else {"foreach": True}))
    scaler = torch.amp.GradScaler(device.type, enabled=recipe.autocast == "fp16")
    steps_per_epoch = len(data.train) // recipe.batch_size  # epoch_order drops the last partial batch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(recipe.schedule, recipe.epochs * steps_per_epoch, recipe.warmup_epochs * steps_per_epoch))

    def step(images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with _autocast(device, recipe.autocast):
            logits = step_model(normalize_images(images, layout))
        with _blamed_on(f"loss {run.loss!r}"):
            loss = loss_fn(logits, masks)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()  # host arithmetic on the step count: it sets a Python float, never reads the device
        return loss.detach(), loss_fn.last_terms

    guard = PluginOutputGuard(run.augmentation, len(data.class_names), data.ignore_index)

    def batch(indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = data.train.batch(indices)
        with _blamed_on(f"augmentation {run.augmentation!r}"):
            augmented_images, augmented_masks = augment(images, masks)
        return augmented_images, guard.checked(augmented_masks)

    best: SegmentationMetrics | None = None
    for epoch in range(recipe.epochs):
        torch.manual_seed(derived_seed(run.seed, epoch, AUGMENTATION_STREAM))
        record = _train_epoch(epoch, run, data, batch, step, progress)
        guard.check_epoch(epoch)
        metrics = evaluate(model, data.val, len(data.class_names), data.ignore_index, recipe.batch_size, recipe.autocast,
                           data.val_native if recipe.eval_size == "native" else None)
        record.val_miou, record.val_pixel_accuracy, record.val_per_image_miou = metrics.miou, metrics.pixel_accuracy, metrics.per_image_miou
        result.history.append(record)
        if progress is not None:
            progress.epoch_done(record)
        if best is None or metrics.miou > best.miou:
            best, result.best_epoch = metrics, epoch
    assert best is not None  # recipe.epochs ≥ 1
    result.miou, result.pixel_accuracy, result.per_image_miou = best.miou, best.pixel_accuracy, best.per_image_miou
    result.per_class_iou = best.per_class_iou
    result.image_intersections, result.image_unions = best.image_intersections, best.image_unions
    history = result.history
    result.images_per_second = sum(r.images_per_second * r.seconds for r in history) / sum(r.seconds for r in history)
    result.data_ms_per_step = sum(r.data_ms_per_step for r in history) / len(history)
    result.model_ms_per_step = sum(r.model_ms_per_step for r in history) / len(history)


def lr_factor(schedule: str, total_steps: int, warmup_steps: int = 0) -> Callable[[int], float]:
    """The learning rate's multiplier at each optimizer step, for ``torch.optim.lr_scheduler.LambdaLR``.

    ``constant`` keeps 1 (the reference study's setting); ``poly`` decays as (1 − t)^0.9 and
    ``cosine`` as (1 + cos πt)/2, with t the share of the steps after warm-up (MMSegmentation's
    poly schedule, per iteration, ends at 0 as here). Warm-up rises linearly from 0.01 to 1.
    """
    decay_steps = max(1, total_steps - warmup_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return 0.01 + 0.99 * step / warmup_steps
        t = min(1.0, (step - warmup_steps) / decay_steps)
        if schedule == "poly":
            return (1.0 - t) ** 0.9
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * t))
        return 1.0

    return factor


_warmed_up: set[tuple] = set()


def warm_up(recipe: Recipe, num_classes: int, device: str | torch.device, cudnn_benchmark: bool = True) -> float:
    """Run one training step and one validation forward of the recipe's shapes with a throwaway model, once per process.

    On CUDA the first step of a process pays for loading kernels on first use and, with
    ``cudnn_benchmark``, for cuDNN timing its algorithms for every convolution: 16 s of the
    demo preset's first epoch on an H200, whose later epochs take 0.2 s. Paid here once per
    process, it is kept out of every run's time, so the first run of an ablation costs what the
    others do. The CPU has nothing to tune, and a process that warmed up for the same shapes and
    setting on the same device already has its tuning: both return at once.

    Returns:
        The seconds it took (0 when it had nothing to do).
    """
    device = torch.device(device)
    key = (recipe.encoder, recipe.image_size, recipe.batch_size, recipe.autocast, num_classes, str(device), cudnn_benchmark)
    if device.type != "cuda" or key in _warmed_up:
        return 0.0
    _warmed_up.add(key)
    started = time.perf_counter()
    torch.backends.cudnn.benchmark = cudnn_benchmark
    layout = model_layout(device)
    model = build_model(recipe.encoder, "none", num_classes, recipe.arch).to(device, memory_format=layout)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, fused=True)
    height, width = recipe.size
    images = torch.rand(recipe.batch_size, 3, height, width, device=device)
    masks = torch.randint(0, num_classes, (recipe.batch_size, height, width), device=device)
    with _autocast(device, recipe.autocast):
        logits = model(normalize_images(images, layout))
    torch.nn.functional.cross_entropy(logits.float(), masks).backward()
    optimizer.step()
    model.eval()
    with torch.inference_mode(), _autocast(device, recipe.autocast):
        model(normalize_images(images, layout))
    torch.cuda.synchronize(device)
    return time.perf_counter() - started


Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]
Batch = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _train_epoch(epoch: int, run: RunSpec, data: TrainingData, batch: Batch, step: Step, progress: RunProgress | None) -> EpochRecord:
    """One pass over the training set. The only host synchronisation is at its end."""
    batches = data.train.epoch_order(epoch, run.seed, run.recipe.batch_size)
    if progress is not None:
        progress.epoch_started(epoch, run.recipe.epochs, len(batches))
    timer = StepTimer(torch.device(run.device))
    total: torch.Tensor | None = None
    term_totals: dict[str, torch.Tensor] = {}
    started = time.perf_counter()
    for index, indices in enumerate(batches):
        timer.start()
        images, masks = batch(indices)
        timer.split()
        loss, terms = step(images, masks)
        timer.stop()
        total = loss if total is None else total + loss
        for label, value in terms.items():
            term_totals[label] = value if label not in term_totals else term_totals[label] + value
        if progress is not None:
            progress.step_done(index, total)
    assert total is not None  # epoch_order gives at least one batch
    data_ms, model_ms = timer.milliseconds()  # waits for the device
    seconds = time.perf_counter() - started
    mean_loss = float(total) / len(batches)
    if not math.isfinite(mean_loss):
        raise RunFailure(f"the loss became {mean_loss} in epoch {epoch + 1}; lower the learning rate, or check the loss and augmentations")
    return EpochRecord(
        epoch=epoch,
        train_loss=mean_loss,
        loss_terms={label: float(value) / len(batches) for label, value in term_totals.items()},
        val_miou=float("nan"), val_pixel_accuracy=float("nan"), val_per_image_miou=float("nan"),
        seconds=seconds,
        images_per_second=len(batches) * run.recipe.batch_size / seconds,
        data_ms_per_step=data_ms / len(batches),
        model_ms_per_step=model_ms / len(batches),
    )


@torch.inference_mode()
def evaluate(
    model: nn.Module, cache: TensorCache, num_classes: int, ignore_index: int, batch_size: int, autocast: str = "none",
    native: NativeMasks | None = None,
) -> SegmentationMetrics:
    """Validation metrics of ``model`` over every sample of ``cache``, in order.

    With ``native``, each image is scored at its own size: the logits of the part of the input it
    occupies are upsampled (bilinear) to its size and compared with its mask as read, never
    resized. Image by image, since sizes differ; every shape is known on the host, so nothing
    waits on the device. Without, the masks at the training size are scored.
    """
    model.eval()
    matrix = ConfusionMatrix(num_classes, ignore_index)
    device = cache.device
    for indices in cache.in_order(batch_size):  # a streamed split starts decoding them now
        images, masks = cache.batch(indices)
        with _autocast(device, autocast):
            logits = model(normalize_images(images, model_layout(device)))
        if native is None:
            matrix.update(logits.argmax(1), masks)
            continue
        score_natively(matrix, logits, indices.tolist(), native)  # in_order's indices live on the CPU
    model.train()
    return matrix.compute()


def score_natively(matrix: ConfusionMatrix, logits: torch.Tensor, indices: Sequence[int], native: NativeMasks) -> None:
    """Add each image of a batch at its own size: the logits of its region of the input, upsampled
    bilinearly (align_corners=False, as MMSegmentation's resize) to its shape, against its mask."""
    for row, index in enumerate(indices):
        height, width = native.regions[index]
        region = logits[row : row + 1, :, :height, :width].float()
        upsampled = torch.nn.functional.interpolate(region, size=native.shapes[index], mode="bilinear", align_corners=False)
        matrix.update(upsampled.argmax(1), native.mask(index)[None])


class StepTimer:
    """Milliseconds of data (batch + augmentation) and of the model per step, summed over an epoch.

    On CUDA it records events, so timing adds no synchronisation until :meth:`milliseconds`;
    on the CPU, where every operation has finished when it returns, it reads the clock.
    """

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self._marks: list[tuple[object, object, object]] = []
        self._current: list[object] = []

    def _mark(self) -> object:
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def start(self) -> None:
        self._current = [self._mark()]

    def split(self) -> None:
        self._current.append(self._mark())

    def stop(self) -> None:
        start, split = self._current
        self._marks.append((start, split, self._mark()))

    def milliseconds(self) -> tuple[float, float]:
        """(data ms, model ms) summed over the steps so far."""
        if self.cuda:
            torch.cuda.synchronize()
            return (sum(a.elapsed_time(b) for a, b, _ in self._marks), sum(b.elapsed_time(c) for _, b, c in self._marks))
        return (sum(b - a for a, b, _ in self._marks) * 1000, sum(c - b for _, b, c in self._marks) * 1000)


class PluginOutputGuard:
    """Checks what an augmentation set with plugin transforms hands to the loss, so that a broken plugin is named, not the loss.

    Built-in transforms are held to the mask contract by ``augmentlab.testing.check_augmentation``
    and pay nothing here; every transform's dtypes and shapes are the pipeline's own check. With a
    plugin transform in the set, labels outside ``0..C-1`` that are not ``ignore_index`` are set to
    ``ignore_index`` before the loss sees them and noted in a device flag, read once at the end of
    the epoch with the loss (no host synchronisation in the step).
    """

    def __init__(self, spec: str, num_classes: int, ignore_index: int) -> None:
        self.spec, self.num_classes, self.ignore_index = spec, num_classes, ignore_index
        self.plugins = plugin_transforms(spec)
        self._invalid: torch.Tensor | None = None

    def _failure(self, problem: str) -> RunFailure:
        return RunFailure(f"augmentation {self.spec!r} {problem}; its plugin transforms: {', '.join(self.plugins)}")

    def checked(self, out_masks: torch.Tensor) -> torch.Tensor:
        """``out_masks``, its labels outside the classes set to ``ignore_index``.

        Dtypes, shapes and devices are the pipeline's own check, after each transform
        (:class:`~augmentlab.augment.pipeline.TransformOutputError` names the one that broke them).
        """
        if not self.plugins:
            return out_masks
        invalid = ((out_masks < 0) | (out_masks >= self.num_classes)) & (out_masks != self.ignore_index)
        flag = invalid.any()
        self._invalid = flag if self._invalid is None else self._invalid | flag
        return torch.where(invalid, self.ignore_index, out_masks)

    def check_epoch(self, epoch: int) -> None:
        """Raise RunFailure when a batch of the epoch held labels outside the classes (one host read, at the epoch's end)."""
        if self._invalid is not None and bool(self._invalid):
            raise self._failure(
                f"returned mask labels outside the classes 0..{self.num_classes - 1} that are not ignore_index {self.ignore_index} "
                f"in epoch {epoch + 1} (they were kept out of the loss)"
            )


def _failure_reason(error: Exception) -> str:
    """The one line a failed run keeps."""
    if isinstance(error, RunFailure):
        return str(error)
    if isinstance(error, torch.OutOfMemoryError):
        return f"CUDA out of memory: {first_line(error)}; lower the batch size or the image size"
    return one_line(error)


@contextlib.contextmanager
def _blamed_on(plugin: str) -> Iterator[None]:
    """Turn an exception raised by plugin code into the run's failure, naming the plugin; OOM keeps its own report.

    The plugin's exception stays the failure's cause, so the stored traceback shows where it raised.
    """
    try:
        yield
    except torch.OutOfMemoryError:
        raise
    except TransformOutputError as error:  # names the transform and its plugin already
        raise RunFailure(str(error)) from error
    except Exception as error:
        raise RunFailure(f"{plugin} raised {one_line(error)}") from error


def _autocast(device: torch.device, autocast: str) -> contextlib.AbstractContextManager:
    if autocast == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if autocast == "bf16" else torch.float16)


def _run_config(run: RunSpec, data: TrainingData) -> dict:
    return {
        "arm": run.arm, "augmentation": run.augmentation, "loss": run.loss, "seed": run.seed, "device": run.device,
        "compile": run.compile, "cudnn_benchmark": run.cudnn_benchmark, "recipe": asdict(run.recipe), "classes": list(data.class_names), "ignore_index": data.ignore_index,
        "train_images": len(data.train), "val_images": len(data.val), "model": f"segmentation_models_pytorch.{SMP_MODEL_CLASSES.get(run.recipe.arch, run.recipe.arch)}",
        "optimizer": "Adam", "normalization": "ImageNet mean/std after augmentation",
    }
