"""What a training process holds for an ablation: both splits decoded onto its device once, shared by every run.

The driver decodes the data it has already loaded and checked; a worker process (``--parallel``,
Ray) decodes its own copy from the :class:`~augmentlab.runner.executors.base.DataRequest`, once
per process. Between runs the memory a finished run left behind is released, so that a long
ablation does not creep towards OOM.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from augmentlab.data.cache import TensorCache
from augmentlab.data.dataset import SegmentationDataset
from augmentlab.data.native import NativeMasks
from augmentlab.data.stream import StreamingSource, placement

if TYPE_CHECKING:
    from augmentlab.runner.executors.base import DataRequest


@dataclass
class TrainingData:
    """What every run of an ablation trains and validates on, built once and shared."""

    train: TensorCache | StreamingSource
    val: TensorCache | StreamingSource
    class_names: tuple[str, ...]
    ignore_index: int
    class_frequencies: list[float]
    """Training pixels per class, for the losses that weight classes (``ce(weight=auto)``)."""
    val_native: NativeMasks | None = None
    """The validation masks at each image's own size, when the recipe scores natively."""


def training_data(
    train: SegmentationDataset, val: SegmentationDataset, device: str, memory_budget_bytes: int | None = None, native: bool = False,
) -> TrainingData:
    """Decode both splits once onto the training device (or into host memory, or stream them: :func:`~augmentlab.data.stream.placement`); every run shares them.

    With ``native``, the validation masks are also kept at each image's own size, for scoring there.
    """
    return TrainingData(
        train=split_source(train, device, memory_budget_bytes),
        val=split_source(val, device, memory_budget_bytes),
        class_names=tuple(train.class_names),
        ignore_index=train.ignore_index,
        class_frequencies=[float(count) for count in train.class_stats().pixel_counts],
        val_native=NativeMasks.build(val, device) if native and val.size is not None else None,
    )


def split_source(dataset: SegmentationDataset, device: str, memory_budget_bytes: int | None = None) -> TensorCache | StreamingSource:
    """A decoded cache of ``dataset`` where it fits host memory; a stream decoded batch by batch where it does not."""
    if placement(dataset, device, memory_budget_bytes).where == "stream":
        return StreamingSource(dataset, device)
    return TensorCache.build(dataset, device, memory_budget_bytes=memory_budget_bytes)


_loaded: dict[tuple[str, str], TrainingData] = {}


def load_training_data(request: DataRequest, device: str) -> TrainingData:
    """The request's data decoded onto ``device``, once per process."""
    key = (repr(request), device)
    if key not in _loaded:
        train, val = request.load_splits()
        _loaded[key] = training_data(train, val, device, request.memory_budget_bytes, request.native_eval)
    return _loaded[key]


def release_device_memory() -> None:
    """Free what the finished run left behind (model, optimiser state, activations) before the next one."""
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
