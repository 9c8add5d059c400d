"""Where a split lives while an ablation trains, and the streaming path for a split larger than memory.

:func:`placement` decides, before anything is decoded, from the split's estimated decoded size:

- ``device``: it fits the device budget (half the free CUDA memory, or ``cache_memory``): decoded
  once onto the GPU (:class:`~augmentlab.data.cache.TensorCache`);
- ``host``: it fits host memory but not the device: decoded once into pinned host memory, each batch
  copied to the GPU as it is drawn;
- ``stream``: it fits neither (full COCO-Stuff at 512² is about 90 GB of uint8). Nothing is decoded
  up front: :class:`StreamingSource` has ``torch.utils.data.DataLoader`` workers decode and resize
  each epoch's batches, in the epoch's own order, into pinned memory, a few batches ahead; the GPU
  augmentations then run on them as on any batch.

:class:`StreamingSource` serves the same calls as a ``TensorCache`` (``epoch_order``, ``in_order``,
``batch``), with the same permutation for the same ``(seed, epoch)``, so an arm trains on the same
batches whichever way its data arrives. A streamed epoch decodes every image again, so it is only
as fast as the workers: the Cost table's data ms/step shows when they starve the GPU.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from augmentlab.data.cache import (
    DEVICE_BUDGET_FRACTION,
    CacheableDataset,
    _check_sample,
    _device_budget,
    _resolve_device,
    epoch_batches,
    in_order_batches,
)
from augmentlab.tensors import constant

logger = logging.getLogger("augmentlab.data")

HOST_BUDGET_FRACTION = 0.5
"""Share of the available host memory a decoded split may take; the rest is the processes' own (and the other split's)."""

PREFETCH_BATCHES = 4
"""Batches each streaming worker decodes ahead of the step loop."""


def available_host_bytes() -> int | None:
    """Host memory available to new allocations without swapping (Linux's ``MemAvailable``), or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return None


def host_budget() -> int | None:
    """The most a decoded split may take in host memory: half of what is available; None: unknown, so unlimited."""
    available = available_host_bytes()
    return None if available is None else int(available * HOST_BUDGET_FRACTION)


def decoded_bytes(dataset: CacheableDataset) -> int | None:
    """The decoded size of ``dataset``: uint8 RGB and a one-byte mask per pixel at its training size; None without one (sizes differ)."""
    size = getattr(dataset, "size", None)
    if size is None:
        return None
    height, width = size
    return len(dataset) * height * width * 4


@dataclass(frozen=True)
class Placement:
    """Where a split will live, and why, decided before it is decoded."""

    where: str
    """``device``, ``host`` or ``stream``."""
    nbytes: int | None
    """The estimated decoded size (None: unknown until decoded)."""
    reason: str

    def describe(self, name: str, count: int) -> str:
        size = "an unknown size" if self.nbytes is None else _size_text(self.nbytes)
        return f"{name} split: {count} images decode to {size}: {self.reason}"


def placement(dataset: CacheableDataset, device: torch.device | str, memory_budget_bytes: int | None = None, host_bytes: int | None = -1) -> Placement:
    """Where ``dataset`` will live when trained on ``device``: on it, in (pinned) host memory, or streamed.

    Args:
        memory_budget_bytes: the device budget (None: half the free CUDA memory; unlimited on the CPU).
        host_bytes: the host budget (-1: :func:`host_budget`; None: unlimited).
    """
    device = _resolve_device(device)
    nbytes = decoded_bytes(dataset)
    host = host_budget() if host_bytes == -1 else host_bytes
    if nbytes is None:
        return Placement("device" if device.type == "cpu" else "host", None, "sizes differ, so it is decoded first and placed then")
    budget = memory_budget_bytes if memory_budget_bytes is not None else _device_budget(device)
    if device.type != "cpu" and (budget is None or nbytes <= budget):
        share = f"{DEVICE_BUDGET_FRACTION:.0%} of the free memory" if memory_budget_bytes is None else "cache_memory"
        return Placement("device", nbytes, f"decoded once onto {device} (within {_size_text(budget)}, {share})" if budget is not None else f"decoded once onto {device}")
    if host is None or nbytes <= host:
        if device.type == "cpu":
            return Placement("device", nbytes, "decoded once into host memory, the CPU's own")
        return Placement("host", nbytes, f"over the {_size_text(budget)} budget on {device}, so decoded once into pinned host memory and copied batch by batch")
    over = f"over the {_size_text(budget)} budget on {device} and " if device.type != "cpu" else ""
    return Placement("stream", nbytes, f"{over}over the {_size_text(host)} host budget ({HOST_BUDGET_FRACTION:.0%} of the available memory), "
                     f"so streamed: {_decoders(stream_workers())} each batch as it is needed")


def stream_workers() -> int:
    """DataLoader workers for a streamed split: this process's share of the cores but one, at most 8; none in a daemonic process, which cannot start them.

    The share is torch's thread count, which ``--parallel`` workers set to the cores over the workers, so K processes do not start K times the workers.
    """
    if multiprocessing.current_process().daemon:
        return 0
    return max(0, min(8, torch.get_num_threads() - 1))


class _Samples(torch.utils.data.Dataset):
    """The dataset's samples, checked as the cache checks them."""

    def __init__(self, dataset: CacheableDataset, size: tuple[int, int]) -> None:
        self.dataset = dataset
        self.size = size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.dataset[index]
        _check_sample(index, image, mask, self.size)
        return image, mask


def _collate(samples: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch as uint8 images and the narrowest masks: a quarter or an eighth of the bytes to pin and copy."""
    images = torch.stack([image for image, _ in samples])
    masks = torch.stack([mask for _, mask in samples])
    if masks.dtype != torch.uint8 and int(masks.min()) >= 0 and int(masks.max()) <= 255:
        masks = masks.to(torch.uint8)
    return images, masks


class StreamingSource:
    """A split decoded batch by batch by DataLoader workers, in the order the step loop asks for.

    :meth:`epoch_order` and :meth:`in_order` hand out the batches and start the workers on them;
    :meth:`batch` then returns each one as it is asked for. A batch asked for out of that order is
    decoded in this process (slower, never wrong).
    """

    on_device = False

    def __init__(self, dataset: CacheableDataset, device: torch.device | str, *, workers: int | None = None) -> None:
        size = getattr(dataset, "size", None)
        if size is None:
            raise ValueError("a streamed split needs a training size, so that every batch has one shape")
        self.dataset = dataset
        self.device = _resolve_device(device)
        self.ignore_index = dataset.ignore_index
        self.cache_key = dataset.cache_key
        self.pinned = self.device.type == "cuda"
        self.image_size: tuple[int, int] = tuple(size)
        self.nbytes = decoded_bytes(dataset) or 0
        self.workers = stream_workers() if workers is None else workers
        self._samples = _Samples(dataset, self.image_size)
        self._queue: deque[torch.Tensor] = deque()
        self._loader: Iterator[tuple[torch.Tensor, torch.Tensor]] | None = None
        logger.info(f"streaming {len(dataset)} samples of {size[0]}×{size[1]} px ({_size_text(self.nbytes)} decoded) with {self.workers} workers")

    def __len__(self) -> int:
        return len(self.dataset)

    def epoch_order(self, epoch: int, seed: int, batch_size: int, drop_last: bool = True) -> list[torch.Tensor]:
        """The epoch's batches, the permutation :meth:`TensorCache.epoch_order` draws, with the workers started on them."""
        return self._start(epoch_batches(len(self), epoch, seed, batch_size, drop_last, torch.device("cpu")))

    def in_order(self, batch_size: int) -> list[torch.Tensor]:
        """Every sample in order, in batches (validation), with the workers started on them."""
        return self._start(in_order_batches(len(self), batch_size))

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples at ``indices`` on the training device: images float32 ``[B, 3, H, W]`` in ``[0, 1]``, masks int64 ``[B, H, W]``."""
        if self._queue and self._queue[0] is indices and self._loader is not None:
            self._queue.popleft()
            try:
                images, masks = next(self._loader)
            except Exception:
                # A worker wraps its exception in a page of traceback; decoding the batch here raises
                # the sample's own one-line error (an unreadable image, a mask of the wrong size).
                self.release()
                images, masks = self._decode_here(indices)
        else:
            images, masks = self._decode_here(indices)
        images = images.to(self.device, non_blocking=self.pinned)
        masks = masks.to(self.device, non_blocking=self.pinned)
        return images / constant(255.0, images.device), masks.long()

    def release(self) -> None:
        """Stop the workers; the next epoch_order or in_order starts them again."""
        self._queue.clear()
        self._loader = None

    def _decode_here(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = _collate([self._samples[index] for index in indices.tolist()])
        return (images.pin_memory(), masks.pin_memory()) if self.pinned else (images, masks)

    def _start(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        self._queue = deque(batches)
        # A generator of its own: the loader draws its workers' base seed from it, where by default it
        # would draw from the global one, which the augmentations of this epoch have just been seeded with.
        options: dict[str, Any] = {"num_workers": self.workers, "pin_memory": self.pinned, "collate_fn": _collate,
                                   "generator": torch.Generator().manual_seed(0)}
        if self.workers:
            options["prefetch_factor"] = PREFETCH_BATCHES
        loader = DataLoader(self._samples, batch_sampler=[batch.tolist() for batch in batches], **options)
        self._loader = iter(loader)
        return batches


def _decoders(workers: int) -> str:
    return f"{workers} DataLoader worker{'s' if workers != 1 else ''} decode{'s' if workers == 1 else ''}" if workers else "the training process decodes"


def _size_text(nbytes: int | None) -> str:
    if nbytes is None:
        return "no"
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:.1f} GiB"
    return f"{nbytes / 2**20:.1f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.0f} KiB"
