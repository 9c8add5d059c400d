"""Where a split lives while an ablation trains, and the streaming path for a split larger than memory.

:func:`place_splits` decides, before anything is decoded, from each split's estimated decoded size:

- ``device``: it fits the device budget (half the free CUDA memory, or ``cache_memory``): decoded
  once onto the GPU (:class:`~augmentlab.data.cache.TensorCache`);
- ``host``: it fits the host budget (half the memory this process may still take, within its
  cgroup's limit, or ``host_memory``) but not the device: decoded once into pinned host memory, each
  batch copied to the GPU as it is drawn;
- ``stream``: it fits neither (full COCO-Stuff at 512² is about 90 GB of uint8). Nothing is decoded
  up front: :class:`StreamingSource` has ``torch.utils.data.DataLoader`` workers decode and resize
  each epoch's batches, in the epoch's own order, into pinned memory, a few batches ahead; the GPU
  augmentations then run on them as on any batch.

:class:`StreamingSource` serves the same calls as a ``TensorCache`` (``epoch_order``, ``in_order``,
``batch``), with the same permutation for the same ``(seed, epoch)``, so an arm trains on the same
batches whichever way its data arrives. The splits share the budgets, and so do the worker
processes of ``--parallel``, each of which holds its own copy. A streamed epoch decodes every image again, so it is only
as fast as the workers: the Cost table's data ms/step shows when they starve the GPU.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
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
    mask_storage_dtype,
)
from augmentlab.data.wording import plural
from augmentlab.tensors import constant

logger = logging.getLogger("augmentlab.data")

HOST_BUDGET_FRACTION = 0.5
"""Share of the available host memory a decoded split may take; the rest is the processes' own (and the other split's)."""

PREFETCH_BATCHES = 4
"""Batches each streaming worker decodes ahead of the step loop."""


CGROUP_ROOT = Path("/sys/fs/cgroup")

_NO_LIMIT = 2**60
"""A cgroup v1 memory limit at or above this is the kernel's "unlimited" (``PAGE_COUNTER_MAX`` pages)."""


def available_host_bytes(proc: Path = Path("/proc"), cgroups: Path = CGROUP_ROOT) -> int | None:
    """Host memory this process can still take without swapping or being killed, or None where it cannot be read.

    Linux's ``MemAvailable``, or less where a memory cgroup caps this process below what the
    machine has: a container's limit, a SLURM job's ``--mem``. ``/proc/meminfo`` shows the whole
    machine even there, so a split sized by it alone would get the job OOM-killed. Each cgroup from
    this process's own up to the root is read (v2 ``memory.max``, v1 ``memory.limit_in_bytes``), and
    the room left under the tightest is its limit less the usage that cannot be reclaimed (the usage
    less the inactive page cache, the working set that container runtimes report).
    """
    known = [room for room in (_mem_available(proc / "meminfo"), _cgroup_room(proc / "self" / "cgroup", cgroups)) if room is not None]
    if known:
        return min(known)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (OSError, ValueError, AttributeError):
        return None


def _mem_available(meminfo: Path) -> int | None:
    try:
        with open(meminfo, encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room(membership: Path, cgroups: Path) -> int | None:
    """The room left under the tightest memory cgroup this process is in, or None without a limit."""
    try:
        lines = membership.read_text(encoding="ascii").splitlines()
    except (OSError, ValueError):
        return None
    rooms = []
    for line in lines:
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if number == "0" and not controllers:  # the v2 unified hierarchy
            files = (cgroups, "memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):  # v1
            files = (cgroups / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        else:
            continue
        root, limit, usage, inactive = files
        # From this process's own cgroup up to the root: a parent's limit binds its children. Inside a
        # container the path may name the host's hierarchy, absent here; the root is then its own.
        parts = [part for part in path.strip().split("/") if part]
        for depth in range(len(parts), -1, -1):
            rooms.append(_room(root.joinpath(*parts[:depth]), limit, usage, inactive))
    known = [room for room in rooms if room is not None]
    return min(known) if known else None


def _room(folder: Path, limit_name: str, usage_name: str, inactive_name: str) -> int | None:
    try:
        limit_text = (folder / limit_name).read_text(encoding="ascii").strip()
        if limit_text == "max":
            return None
        limit = int(limit_text)
        if limit >= _NO_LIMIT:
            return None
        usage = int((folder / usage_name).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    inactive = 0
    try:
        for line in (folder / "memory.stat").read_text(encoding="ascii").splitlines():
            key, _, value = line.partition(" ")
            if key == inactive_name:
                inactive = int(value)
    except (OSError, ValueError):
        pass
    return max(0, limit - max(0, usage - inactive))


def host_budget() -> int | None:
    """The most the decoded splits may take in host memory: half of what is available; None: unknown, so unlimited."""
    available = available_host_bytes()
    return None if available is None else int(available * HOST_BUDGET_FRACTION)


def decoded_bytes(dataset: CacheableDataset) -> int | None:
    """The decoded size of ``dataset``: uint8 RGB and the narrowest mask dtype per pixel at its training size; None without one (sizes differ)."""
    size = getattr(dataset, "size", None)
    if size is None:
        return None
    height, width = size
    return len(dataset) * height * width * (3 + mask_bytes(dataset))


def mask_bytes(dataset: CacheableDataset) -> int:
    """Bytes per mask pixel in the cache: one for up to 255 classes with an ignore index in 0..255, more beyond (as the cache stores them)."""
    classes = getattr(dataset, "num_classes", None)
    if classes is None:
        return 1
    ignore = dataset.ignore_index
    return mask_storage_dtype(min(0, ignore), max(classes - 1, ignore)).itemsize


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
        return f"{name} split: {plural(count, 'image')} decode{'s' if count == 1 else ''} to {size}: {self.reason}"


def placement(dataset: CacheableDataset, device: torch.device | str, memory_budget_bytes: int | None = None, host_bytes: int | None = None) -> Placement:
    """Where ``dataset`` alone will live when trained on ``device``: :func:`place_splits` of one split."""
    return place_splits([dataset], device, memory_budget_bytes, host_bytes)[0]


def place_splits(
    splits: Sequence[CacheableDataset],
    device: torch.device | str,
    memory_budget_bytes: int | None = None,
    host_bytes: int | None = None,
    *,
    device_copies: int = 1,
    host_copies: int = 1,
    threads: int | None = None,
) -> list[Placement]:
    """Where each of ``splits`` will live when trained on ``device``: on it, in (pinned) host memory, or streamed.

    The splits share the budgets: each is placed, in turn, in what the ones before it left.

    Args:
        memory_budget_bytes: the device budget of this process (None: half the free CUDA memory,
            shared by ``device_copies``; unlimited on the CPU).
        host_bytes: the host budget of this process (None: :func:`host_budget`, shared by
            ``host_copies``; unlimited where the available memory cannot be read).
        device_copies: processes that each decode their own copy onto this device (``--parallel``).
        host_copies: processes on this machine that each hold their own copy.
        threads: the torch threads of the process that will train (None: this one's), for the
            streaming workers it would start.
    """
    device = _resolve_device(device)
    shared = " shared by {} worker processes"
    if memory_budget_bytes is not None:
        budget, budget_words = memory_budget_bytes, "cache_memory"
    else:
        free = _device_budget(device)
        budget = None if free is None else free // device_copies
        budget_words = f"{DEVICE_BUDGET_FRACTION:.0%} of the free memory" + ("," + shared.format(device_copies) if device_copies > 1 else "")
    if host_bytes is None:
        available = host_budget()
        host = None if available is None else available // host_copies
        host_words = f"{HOST_BUDGET_FRACTION:.0%} of the available memory" + ("," + shared.format(host_copies) if host_copies > 1 else "")
    else:
        host, host_words = host_bytes, "host_memory"
    placed: list[Placement] = []
    device_taken = host_taken = 0
    for dataset in splits:
        nbytes = decoded_bytes(dataset)
        device_left = None if budget is None else max(0, budget - device_taken)
        host_left = None if host is None else max(0, host - host_taken)
        device_text = _budget_text(device_left, device_taken, f"budget on {device}", budget_words)
        host_text = _budget_text(host_left, host_taken, "host budget", host_words)
        if nbytes is None:
            placed.append(Placement("device" if device.type == "cpu" else "host", None, "sizes differ, so it is decoded first and placed then"))
        elif device.type != "cpu" and (device_left is None or nbytes <= device_left):
            device_taken += nbytes
            within = f", within {device_text}" if device_left is not None else ""
            placed.append(Placement("device", nbytes, f"decoded once onto {device}{within}"))
        elif host_left is None or nbytes <= host_left:
            host_taken += nbytes
            if device.type == "cpu":
                placed.append(Placement("device", nbytes, "decoded once into host memory, the CPU's own"))
            else:
                placed.append(Placement("host", nbytes, f"over {device_text}, so decoded once into pinned host memory and copied batch by batch"))
        else:
            over = f"over {device_text} and " if device.type != "cpu" else ""
            placed.append(Placement("stream", nbytes, f"{over}over {host_text}, so streamed: {_decoders(stream_workers(threads))} each batch as it is needed"))
    return placed


def _budget_text(left: int | None, taken: int, budget: str, words: str) -> str:
    """``the 512 KiB host budget (…)``, or what is left of it once an earlier split took its share."""
    if taken:
        return f"the {_size_text(left)} left of the {budget} ({words}) once the other split is in"
    return f"the {_size_text(left)} {budget} ({words})"


def stream_workers(threads: int | None = None) -> int:
    """DataLoader workers for a streamed split: the training process's share of the cores but one, at most 8; none in a daemonic process, which cannot start them.

    The share is torch's thread count (``threads``, or this process's), which ``--parallel`` workers
    set to the cores over the workers, so K processes do not start K times the workers.
    """
    if multiprocessing.current_process().daemon:
        return 0
    return max(0, min(8, (torch.get_num_threads() if threads is None else threads) - 1))


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
        logger.info(f"streaming {plural(len(dataset), 'sample')} of {size[0]}×{size[1]} px ({_size_text(self.nbytes)} decoded) with {self.workers} workers")

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
