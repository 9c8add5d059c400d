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
from augmentlab.data.stream import Placement, StreamingSource, place_splits

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
    train: SegmentationDataset,
    val: SegmentationDataset,
    device: str,
    memory_budget_bytes: int | None = None,
    native: bool = False,
    *,
    host_bytes: int | None = None,
    device_copies: int = 1,
    host_copies: int = 1,
) -> TrainingData:
    """Decode both splits once onto the training device (or into host memory, or stream them), where :func:`~augmentlab.data.stream.place_splits` puts them; every run shares them.

    With ``native``, the validation masks are also kept at each image's own size, for scoring there.
    The budgets and copies are :func:`~augmentlab.data.stream.place_splits`'s.
    """
    placed = place_splits([train, val], device, memory_budget_bytes, host_bytes, device_copies=device_copies, host_copies=host_copies)
    return TrainingData(
        train=split_source(train, device, placed[0], memory_budget_bytes),
        val=split_source(val, device, placed[1], memory_budget_bytes),
        class_names=tuple(train.class_names),
        ignore_index=train.ignore_index,
        class_frequencies=[float(count) for count in train.class_stats().pixel_counts],
        val_native=NativeMasks.build(val, device) if native and val.size is not None else None,
    )


def split_source(dataset: SegmentationDataset, device: str, placed: Placement, memory_budget_bytes: int | None = None) -> TensorCache | StreamingSource:
    """``dataset`` where ``placed`` puts it: a decoded cache on the device or in host memory, or a stream decoded batch by batch."""
    if placed.where == "stream":
        return StreamingSource(dataset, device)
    on_device = None if placed.nbytes is None else placed.where == "device"  # an unknown size is placed once decoded
    return TensorCache.build(dataset, device, memory_budget_bytes=memory_budget_bytes, on_device=on_device)


_loaded: dict[tuple[str, str], TrainingData] = {}


def load_training_data(request: DataRequest, device: str) -> TrainingData:
    """The request's data decoded onto ``device``, once per process."""
    key = (repr(request), device)
    if key not in _loaded:
        train, val = request.load_splits()
        _loaded[key] = training_data(
            train, val, device, request.memory_budget_bytes, request.native_eval,
            host_bytes=request.host_memory_bytes, device_copies=request.device_copies, host_copies=request.host_copies,
        )
    return _loaded[key]


def release_device_memory() -> None:
    """Free what the finished run left behind (model, optimiser state, activations) before the next one."""
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
