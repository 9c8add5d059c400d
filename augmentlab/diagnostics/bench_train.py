"""`augmentlab bench train`: epoch time of augmentlab's training loop next to the classic pipeline.

Both sides train the same DeepLabV3+ (:func:`augmentlab.runner.model.build_model`) at the same image
size and batch size, with Adam and the same loss (:func:`augmentlab.build_loss`), on the same
training images, and time their training steps only (validation is not in the epoch time).

- ``augmentlab``: :func:`augmentlab.runner.train.train_run` itself. The data is decoded once into a
  tensor cache on the training device beforehand (its seconds are reported apart), and every
  batch is augmented there; on CUDA with the recipe's autocast, channels_last and fused Adam.
- ``reference``: the pipeline of the reference study. A torch ``DataLoader`` with N worker
  processes decodes each sample from its files, applies the albumentations equivalents of the
  same augmentation set at the same ``p`` to the uint8 HWC image and its mask on the CPU, then
  ImageNet ``Normalize`` and ``ToTensorV2``; the model trains in fp32 with torch's default
  settings and plain Adam.

Both time each step the same way (:class:`augmentlab.runner.train.StepTimer`): the data part is the
batch (augmentlab: gather and augment; reference: waiting on the DataLoader and the copy to the
device), the model part is forward, loss, backward and the optimiser step. On CUDA the timer
records events, so the data part is the time the GPU waited for data.

``benchmarks/reference_loop.py`` runs the reference pipeline alone as a script.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np
import torch
from rich.table import Table

from augmentlab.data.cache import mask_storage_dtype
from augmentlab.diagnostics.bench_augment import equivalents, import_albumentations
from augmentlab.diagnostics.equivalents import REFERENCE_SIZE
from augmentlab.errors import AugmentlabError, Param
from augmentlab.losses.combo import build_loss
from augmentlab.registry.api import available_augmentations, resolve_augmentation_set
from augmentlab.registry.spec import AugmentationTerm
from augmentlab.runner.model import IMAGENET_MEAN, IMAGENET_STD, build_model
from augmentlab.runner.plan import check_batch_fits
from augmentlab.runner.recipe import Recipe
from augmentlab.runner.train import RunSpec, StepTimer, train_run
from augmentlab.runner.training_data import (
    TrainingData,
    release_device_memory,
    training_data,
)

REFERENCE_AUGMENTATIONS = "hflip,vflip,rot90,affine,elastic,grid,brightness,contrast"
"""The reference study's augmentation set (``experiments/final.toml``), the default of ``bench train``."""

MAX_DEFAULT_WORKERS = 8


class TrainBenchFailure(Exception):
    """augmentlab's own training run failed; the message says why."""


class ReferenceDataset(Protocol):
    """What the reference pipeline reads: a dataset of samples at the training size."""

    class_names: Sequence[str]
    ignore_index: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image uint8 [3, S, S], mask int64 [S, S])``, decoded from the files on each access."""
        ...


@dataclass(frozen=True)
class PipelineTiming:
    """Per-epoch figures of one pipeline; the first epoch is warm-up when there are several.

    The summaries are medians over the other epochs, so that one epoch slowed by something else
    on the machine does not move them.
    """

    pipeline: str
    description: str
    images_per_epoch: int
    epoch_seconds: tuple[float, ...]
    data_ms_per_step: tuple[float, ...]
    model_ms_per_step: tuple[float, ...]
    train_loss: tuple[float, ...]
    setup_seconds: float = 0.0
    """Work done once before the first epoch and not in any epoch time (augmentlab's decode into its cache)."""

    @property
    def warmup_epochs(self) -> int:
        return 1 if len(self.epoch_seconds) > 1 else 0

    def _measured(self, values: tuple[float, ...]) -> float:
        return statistics.median(values[self.warmup_epochs :])

    @property
    def epoch_time(self) -> float:
        """Median seconds of the measured epochs."""
        return self._measured(self.epoch_seconds)

    @property
    def images_per_second(self) -> float:
        return self.images_per_epoch / self.epoch_time

    @property
    def data_ms(self) -> float:
        return self._measured(self.data_ms_per_step)

    @property
    def model_ms(self) -> float:
        return self._measured(self.model_ms_per_step)

    @property
    def data_share(self) -> float:
        """Share of a step's time spent on data, in [0, 1]."""
        return self.data_ms / (self.data_ms + self.model_ms)

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "description": self.description,
            "epoch_seconds": self.epoch_time,
            "images_per_second": self.images_per_second,
            "data_share": self.data_share,
            "data_ms_per_step": self.data_ms,
            "model_ms_per_step": self.model_ms,
            "setup_seconds": self.setup_seconds,
            "warmup_epochs": self.warmup_epochs,
            "per_epoch": {
                "seconds": list(self.epoch_seconds),
                "data_ms_per_step": list(self.data_ms_per_step),
                "model_ms_per_step": list(self.model_ms_per_step),
                "train_loss": list(self.train_loss),
            },
        }


def default_workers() -> int:
    """DataLoader workers when none are asked for: one per CPU core, at most 8."""
    return min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1)


def reference_transform(aug_spec: str, image_size: int | tuple[int, int], ignore_index: int = 255) -> Any:
    """The reference pipeline's ``albumentations.Compose``: each term's equivalent at the term's ``p``,
    then ImageNet ``Normalize`` and ``ToTensorV2``.

    The equivalents are ``ALBUMENTATIONS_EQUIVALENTS`` of the augmentation families: stock
    transforms with parameters matched to augmentlab's defaults. Each gets the term's ``p`` (or
    the augmentation's default ``p``), fills masks with ``ignore_index``, and crops to
    ``image_size`` (N, or (height, width) as a recipe's H×W size).

    Raises:
        SpecError: ``aug_spec`` is malformed or names an unknown augmentation or parameter.
        AugmentlabError: albumentations is not installed, a term has no albumentations
            equivalent, or a term sets a parameter other than ``p`` to a non-default value.
    """
    albumentations = import_albumentations()
    if albumentations is None:
        raise AugmentlabError("the reference pipeline needs albumentations, which is not installed: pip install albumentations")
    from albumentations.pytorch import ToTensorV2

    factories = equivalents("albumentations")
    transforms = [_equivalent(term, factories, image_size, ignore_index) for term in resolve_augmentation_set(aug_spec)]
    return albumentations.Compose([*transforms, albumentations.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD), ToTensorV2()])


def _equivalent(term: AugmentationTerm, factories: dict[str, Any], image_size: int | tuple[int, int], ignore_index: int) -> Any:
    if term.name not in factories:
        raise AugmentlabError(
            f"augmentation '{term.name}' has no albumentations equivalent, so the reference pipeline cannot run it; "
            "leave it out of ", Param("aug"), f" (those with one: {', '.join(sorted(factories))})",
        )
    defaults = available_augmentations()[term.name].defaults
    changed = [key for key, value in term.params if key != "p" and _plain(value) != _plain(defaults.get(key))]
    if changed:
        raise AugmentlabError(
            f"'{term}' sets {', '.join(changed)}, but the albumentations equivalent of '{term.name}' matches "
            "augmentlab's defaults only; give it with p alone"
        )
    transform = factories[term.name]()
    transform.p = float(term.kwargs.get("p", defaults.get("p", 1.0)))
    if hasattr(transform, "fill_mask"):
        transform.fill_mask = ignore_index
    if getattr(transform, "size", None) == REFERENCE_SIZE:
        transform.size = (image_size, image_size) if isinstance(image_size, int) else (int(image_size[0]), int(image_size[1]))
    return transform


def _plain(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


class ReferenceSamples(torch.utils.data.Dataset):
    """The classic per-sample dataset: decode one sample, augment it with albumentations, normalise, convert.

    ``samples[i]`` is ``(image float32 [3, S, S] normalised, mask [S, S])``, the mask in the
    smallest integer type that OpenCV warps (uint8 for usual datasets).
    """

    def __init__(self, dataset: ReferenceDataset, transform: Any) -> None:
        self.dataset = dataset
        self.transform = transform
        self.mask_dtype = mask_storage_dtype(0, max(dataset.ignore_index, len(dataset.class_names) - 1))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.dataset[index]
        hwc = np.ascontiguousarray(image.permute(1, 2, 0).numpy())
        out = self.transform(image=hwc, mask=mask.to(self.mask_dtype).numpy())
        return out["image"], out["mask"]


def time_reference_epochs(
    dataset: ReferenceDataset,
    aug_spec: str,
    loss_spec: str,
    recipe: Recipe,
    device: torch.device | str,
    workers: int,
    *,
    seed: int = 0,
    class_frequencies: Sequence[float] | None = None,
) -> PipelineTiming:
    """Train ``recipe.epochs`` epochs the classic way and time them (see the module docstring).

    Args:
        dataset: the training samples, already at ``recipe.image_size`` (load it with ``size=``).
        workers: DataLoader worker processes (0: load in the training process). They persist
            across epochs, so their start-up falls into the first epoch.
        class_frequencies: training pixels per class, for ``ce(weight=auto)``; None counts them.

    Raises:
        SpecError, AugmentlabError: see :func:`reference_transform`; also samples of another
            size than ``recipe.image_size``, or fewer samples than one batch.
    """
    device = torch.device(device)
    transform = reference_transform(aug_spec, recipe.image_size, dataset.ignore_index)
    check_batch_fits(recipe.batch_size, len(dataset))
    size = tuple(dataset[0][0].shape[-2:])
    if size != recipe.size:
        raise AugmentlabError(f"the reference pipeline needs samples of {recipe.size[0]}×{recipe.size[1]}, got {size[0]}×{size[1]}; load the dataset with size=")
    if class_frequencies is None:
        class_frequencies = [float(count) for count in dataset.class_stats().pixel_counts]  # type: ignore[attr-defined]
    num_classes = len(dataset.class_names)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = False
    torch.manual_seed(seed)  # the same initialisation as augmentlab's run of this seed
    transform.set_random_seed(seed)  # albumentations draws from its own generator, seeded from the OS unless told: a seed repeats the epochs
    model = build_model(recipe.encoder, recipe.encoder_weights, num_classes, recipe.arch).to(device)
    loss_fn = build_loss(loss_spec, num_classes, dataset.ignore_index, class_frequencies).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    loader = torch.utils.data.DataLoader(
        ReferenceSamples(dataset, transform), batch_size=recipe.batch_size, shuffle=True, drop_last=True, num_workers=workers,
        pin_memory=cuda, persistent_workers=workers > 0, generator=torch.Generator().manual_seed(seed),
    )
    epoch_seconds, data_ms, model_ms, losses = [], [], [], []
    model.train()
    for _ in range(recipe.epochs):
        timer = StepTimer(device)
        started = time.perf_counter()
        batches = iter(loader)
        total = torch.zeros((), device=device)
        for _ in range(len(loader)):
            timer.start()
            images, masks = next(batches)
            images, masks = images.to(device, non_blocking=True), masks.to(device, non_blocking=True).long()
            timer.split()
            loss = loss_fn(model(images), masks)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            timer.stop()
            total += loss.detach()
        data, step = timer.milliseconds()  # waits for the device
        epoch_seconds.append(time.perf_counter() - started)
        data_ms.append(data / len(loader))
        model_ms.append(step / len(loader))
        losses.append(float(total) / len(loader))
    return PipelineTiming(
        pipeline="reference",
        description=f"albumentations on the CPU, {workers} worker{'' if workers == 1 else 's'}, fp32",
        images_per_epoch=len(loader) * recipe.batch_size,
        epoch_seconds=tuple(epoch_seconds), data_ms_per_step=tuple(data_ms), model_ms_per_step=tuple(model_ms), train_loss=tuple(losses),
    )


def time_augmentlab_epochs(
    data: TrainingData, aug_spec: str, loss_spec: str, recipe: Recipe, device: torch.device | str, *, seed: int = 0, setup_seconds: float = 0.0
) -> PipelineTiming:
    """Train ``recipe.epochs`` epochs with :func:`augmentlab.runner.train.train_run` and take the timings from its history.

    ``setup_seconds``: how long building ``data`` took, reported beside the epochs.

    Raises:
        TrainBenchFailure: the run failed (its reason is the message).
    """
    device = torch.device(device)
    result = train_run(RunSpec(aug_spec, loss_spec, seed, recipe, str(device)), data)
    if result.status != "finished":
        raise TrainBenchFailure(f"augmentlab's training run failed: {result.error}")
    history = result.history
    steps = len(data.train) // recipe.batch_size
    speed = f"autocast {recipe.autocast}, channels_last, fused Adam" if device.type == "cuda" else "fp32"
    return PipelineTiming(
        pipeline="augmentlab",
        description=f"cached and augmented on {device.type}, {speed}",
        images_per_epoch=steps * recipe.batch_size,
        epoch_seconds=tuple(record.seconds for record in history),
        data_ms_per_step=tuple(record.data_ms_per_step for record in history),
        model_ms_per_step=tuple(record.model_ms_per_step for record in history),
        train_loss=tuple(record.train_loss for record in history),
        setup_seconds=setup_seconds,
    )


def compare_training(
    train: Any, val: Any, aug_spec: str, loss_spec: str, recipe: Recipe, device: torch.device, workers: int, *, seed: int = 0
) -> list[PipelineTiming]:
    """Time augmentlab's loop, then the reference pipeline, on the same data; ``[augmentlab, reference]``.

    ``train`` and ``val`` are datasets at ``recipe.image_size`` (:func:`augmentlab.load_dataset`
    with ``size=``); ``val`` only serves augmentlab's per-epoch validation, which no epoch time includes.

    Raises:
        SpecError, AugmentlabError: bad input, found before anything trains.
        TrainBenchFailure: augmentlab's run failed.
    """
    reference_transform(aug_spec, recipe.image_size, train.ignore_index)
    build_loss(loss_spec, len(train.class_names), train.ignore_index, [1.0] * len(train.class_names))  # checks its values
    check_batch_fits(recipe.batch_size, len(train))
    started = time.perf_counter()
    data = training_data(train, val, str(device))
    setup_seconds = time.perf_counter() - started
    ours = time_augmentlab_epochs(data, aug_spec, loss_spec, recipe, device, seed=seed, setup_seconds=setup_seconds)
    release_device_memory()
    reference = time_reference_epochs(train, aug_spec, loss_spec, recipe, device, workers, seed=seed, class_frequencies=data.class_frequencies)
    release_device_memory()
    return [ours, reference]


def speedup(timings: Sequence[PipelineTiming]) -> float:
    """Reference epoch time over augmentlab's: above 1, augmentlab is faster."""
    return _timing_of("reference", timings).epoch_time / _timing_of("augmentlab", timings).epoch_time


def _timing_of(pipeline: str, timings: Sequence[PipelineTiming]) -> PipelineTiming:
    return next(timing for timing in timings if timing.pipeline == pipeline)


def speedup_text(ratio: float) -> str:
    """``augmentlab is 3.2× faster per epoch`` or ``augmentlab: 0.80× (slower) per epoch``."""
    if ratio >= 1:
        return f"augmentlab is {ratio:.1f}× faster per epoch than the reference pipeline"
    return f"augmentlab: {ratio:.2f}× (slower) per epoch than the reference pipeline"


def train_table(timings: Sequence[PipelineTiming], environment: dict[str, Any], recipe: Recipe) -> Table:
    """The timings as a rich table whose title and caption say what was measured and how."""
    device = f"{environment['device']} ({environment['device_name']})"
    images = timings[0].images_per_epoch
    warmup = timings[0].warmup_epochs
    epochs = len(timings[0].epoch_seconds)
    others = "epoch 2" if epochs == 2 else f"medians of epochs 2–{epochs}"
    measured = f"epoch 1 is warm-up and left out; {others}" if warmup else "one epoch, no warm-up left out"
    table = Table(
        title=f"Training speed: DeepLabV3+ {recipe.encoder}, {recipe.size[0]}×{recipe.size[1]}, batch {recipe.batch_size}, {images} images per epoch, on {device}",
        title_justify="left",
        caption=(
            f"{measured}. Epoch time counts the training steps only. augmentlab decoded the data once beforehand "
            f"({_timing_of('augmentlab', timings).setup_seconds:.1f} s); the reference decodes each sample from its files in its DataLoader. "
            "Data share: the part of a step spent on the batch (augmentlab: gather + augment; reference: waiting on "
            "the DataLoader + copy to the device); the rest is forward, loss, backward and Adam."
        ),
        caption_justify="left",
    )
    table.add_column("pipeline")
    table.add_column("how", overflow="fold")
    for column in ("epoch time", "images/s", "data share", "data ms/step", "model ms/step"):
        table.add_column(column, justify="right")
    for timing in timings:
        table.add_row(
            timing.pipeline, timing.description, f"{timing.epoch_time:.2f} s", f"{timing.images_per_second:.1f}",
            f"{timing.data_share:.0%}", f"{timing.data_ms:.1f}", f"{timing.model_ms:.1f}",
        )
    return table


def train_json(timings: Sequence[PipelineTiming], environment: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Settings, environment, each pipeline's figures (seconds, images per second) and the speed-up, JSON-ready."""
    return {"settings": settings, "environment": environment, "pipelines": [timing.as_json() for timing in timings], "speedup": speedup(timings)}
