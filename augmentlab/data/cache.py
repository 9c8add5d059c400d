"""A dataset decoded once into two tensors, kept on the training device when it fits, and served by index.

Every sample is decoded once into ``images`` uint8 ``[N, 3, H, W]`` and ``masks`` ``[N, H, W]``.
The masks take the smallest of uint8, int16, int32 and int64 that holds every label and the
ignore index (:func:`mask_storage_dtype`), so a usual dataset (ignore 255, fewer than 255 classes)
costs one byte per pixel.

Where the tensors live: on the training device when their size fits ``memory_budget_bytes``
(default on CUDA: half the free memory that ``torch.cuda.mem_get_info`` reports; on the CPU no
limit, the host memory being the device's). Otherwise they stay in host memory, pinned when the
training device is CUDA, and each batch is gathered on the host and copied with
``non_blocking=True``.

Every arm of an ablation shares one cache: :meth:`TensorCache.build` returns the same object for
the same ``(dataset.cache_key, device, memory_budget_bytes, on_device)`` until :func:`clear_tensor_caches`.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import torch

from augmentlab.checks import check_integer
from augmentlab.data.wording import plural
from augmentlab.errors import AugmentlabError, FieldError, Param
from augmentlab.tensors import constant

logger = logging.getLogger("augmentlab.data")

DEVICE_BUDGET_FRACTION = 0.5
"""Share of the free CUDA memory a cache may take when no budget is given; the rest is the model's."""

_MASK_DTYPES = (torch.uint8, torch.int16, torch.int32, torch.int64)

_caches: dict[tuple[str, str, int | None, bool | None], "TensorCache"] = {}


class CacheableDataset(Protocol):
    """What the cache needs of a dataset: samples of one size, and a key over its content."""

    cache_key: str
    ignore_index: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(image uint8 [3, H, W], mask integer [H, W])``, the same ``H, W`` for every index."""
        ...


def mask_storage_dtype(low: int, high: int) -> torch.dtype:
    """The smallest dtype of uint8, int16, int32, int64 that holds every value in ``low..high``."""
    for dtype in _MASK_DTYPES:
        info = torch.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return dtype
    raise ValueError(f"mask values {low}..{high} do not fit in int64")


class TensorCache:
    """A dataset's samples as ``images`` uint8 ``[N, 3, H, W]`` and ``masks`` ``[N, H, W]``.

    Build it with :meth:`build`. ``on_device`` tells whether the tensors sit on ``device`` or in
    host memory (``pinned`` when ``device`` is CUDA).
    """

    def __init__(
        self,
        images: torch.Tensor,
        masks: torch.Tensor,
        *,
        device: torch.device,
        on_device: bool,
        pinned: bool,
        ignore_index: int,
        cache_key: str,
    ) -> None:
        self._images: torch.Tensor | None = images
        self._masks: torch.Tensor | None = masks
        self.device = device
        """The training device, where :meth:`batch` delivers."""
        self.ignore_index = ignore_index
        self.cache_key = cache_key
        self.on_device = on_device
        """Whether the tensors are the device's; else they are host memory over the budget (the same memory on the CPU)."""
        self.pinned = pinned
        self.image_size: tuple[int, int] = (images.shape[2], images.shape[3])
        """``(H, W)`` of every sample."""
        self.nbytes = images.nbytes + masks.nbytes

    @classmethod
    def build(
        cls, dataset: CacheableDataset, device: torch.device | str, *, memory_budget_bytes: int | None = None, on_device: bool | None = None
    ) -> TensorCache:
        """Decode every sample of ``dataset`` once; the same call again returns the same cache.

        Args:
            dataset: samples of one size (load it with a training size when the images differ).
            device: the training device.
            memory_budget_bytes: the most the cache may take on ``device``; None: half the free
                memory on CUDA, unlimited on the CPU. A cache over budget stays in host memory.
            on_device: where the cache goes, decided already (:func:`~augmentlab.data.stream.place_splits`);
                None: by the budget, once decoded.

        Raises:
            AugmentlabError: the dataset is empty, or its samples differ in size.
            ValueError: a sample is not ``(uint8 [3, H, W], integer [H, W])``, or the budget is not an integer ≥ 0.
        """
        if memory_budget_bytes is not None:
            check_integer("memory_budget_bytes", memory_budget_bytes, low=0)
        device = _resolve_device(device)
        key = (dataset.cache_key, str(device), memory_budget_bytes, on_device)
        if key not in _caches:
            _caches[key] = cls._decode(dataset, device, memory_budget_bytes, on_device)
        return _caches[key]

    @classmethod
    def _decode(cls, dataset: CacheableDataset, device: torch.device, memory_budget_bytes: int | None, on_device: bool | None) -> TensorCache:
        images, masks = _decode_samples(dataset)
        nbytes = images.nbytes + masks.nbytes
        budget = _device_budget(device) if memory_budget_bytes is None else memory_budget_bytes
        if on_device is None:
            on_device = budget is None or nbytes <= budget
        if on_device:
            images, masks = images.to(device), masks.to(device)
        elif device.type == "cuda":
            images, masks = images.pin_memory(), masks.pin_memory()
        cache = cls(
            images,
            masks,
            device=device,
            on_device=on_device,
            pinned=not on_device and device.type == "cuda",
            ignore_index=dataset.ignore_index, cache_key=dataset.cache_key
        )
        logger.info(cache._describe(budget))
        return cache

    def _describe(self, budget: int | None) -> str:
        height, width = self.image_size
        contents = (
            f"{plural(len(self), 'sample')} of {height}×{width} px, {_mebibytes(self.nbytes)} "
            f"(images uint8, masks {str(self.masks.dtype).removeprefix('torch.')})"
        )
        if self.on_device:
            return f"dataset cache on {self.device}: {contents}"
        memory = "pinned host memory" if self.pinned else "host memory"
        return (
            f"dataset cache in {memory}: {contents}, over the {_mebibytes(budget)} budget on {self.device}; "
            f"batches are copied to {self.device} as they are drawn"
        )

    @property
    def images(self) -> torch.Tensor:
        """uint8 ``[N, 3, H, W]`` RGB, on ``device`` when ``on_device``, else in host memory."""
        return self._storage()[0]

    @property
    def masks(self) -> torch.Tensor:
        """uint8, int16, int32 or int64 ``[N, H, W]`` class indices and ``ignore_index``, beside ``images``."""
        return self._storage()[1]

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples at ``indices`` on the training device.

        Args:
            indices: int64 or int32 ``[B]``, values in ``0..N-1``, on any device. They are not
                range-checked here, since that would wait on the device.

        Returns:
            images float32 ``[B, 3, H, W]`` in ``[0, 1]``, masks int64 ``[B, H, W]``, on ``device``.
            With the cache on the device and ``indices`` there too, nothing waits on the host.
        """
        images, masks = self._storage()
        if not isinstance(indices, torch.Tensor) or indices.dim() != 1 or indices.dtype not in (torch.int64, torch.int32):
            described = f"{indices.dtype} {list(indices.shape)}" if isinstance(indices, torch.Tensor) else type(indices).__name__
            raise ValueError(f"indices must be an int64 or int32 tensor [B], got {described}")
        # A non-blocking copy to the host may be read before it lands, so only copies to a device are.
        indices = indices.to(images.device, non_blocking=images.device.type != "cpu")
        if self.on_device:
            image_batch, mask_batch = images.index_select(0, indices), masks.index_select(0, indices)
        else:
            image_batch = _gather(images, indices, self.pinned).to(self.device, non_blocking=True)
            mask_batch = _gather(masks, indices, self.pinned).to(self.device, non_blocking=True)
        # One pass from uint8 straight to float32, by a true division: CUDA divides by a Python
        # number as a multiplication by its reciprocal, 1 ulp off what decoding gives for half of
        # the values, while a divisor on the device is divided by exactly (the CPU is exact both ways).
        return image_batch / constant(255.0, image_batch.device), mask_batch.long()

    def epoch_order(self, epoch: int, seed: int, batch_size: int, drop_last: bool = True) -> list[torch.Tensor]:
        """The batches of one epoch: a permutation of ``0..N-1`` drawn from ``(seed, epoch)``, cut into batches.

        The permutation comes from a CPU ``torch.Generator``, so it is the same on every device
        and for every arm that uses the same seed. The index tensors (int64 ``[batch_size]``, the
        last one shorter when ``drop_last`` is False) live beside the cache's tensors, ready for
        :meth:`batch`.

        Raises:
            ValueError: ``epoch`` or ``seed`` is not an integer ≥ 0, or ``batch_size`` not one ≥ 1.
            AugmentlabError: ``drop_last`` and the dataset is smaller than one batch.
        """
        return epoch_batches(len(self), epoch, seed, batch_size, drop_last, self.images.device)

    def in_order(self, batch_size: int) -> list[torch.Tensor]:
        """Every sample in order, cut into batches of ``batch_size`` (validation): int64 index tensors on the CPU."""
        return in_order_batches(len(self), batch_size)

    def release(self) -> None:
        """Free the tensors; any later use of this cache raises. :func:`clear_tensor_caches` calls it."""
        self._images = self._masks = None

    def _storage(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._images is None or self._masks is None:
            raise RuntimeError("this TensorCache was released by clear_tensor_caches(); call TensorCache.build again")
        return self._images, self._masks


def epoch_batches(count: int, epoch: int, seed: int, batch_size: int, drop_last: bool, device: torch.device) -> list[torch.Tensor]:
    """One epoch's batches of ``0..count-1``: a permutation drawn from ``(seed, epoch)`` on a CPU generator, cut into batches, on ``device``.

    Raises:
        ValueError: ``epoch`` or ``seed`` is not an integer ≥ 0, or ``batch_size`` not one ≥ 1.
        AugmentlabError: ``drop_last`` and fewer than ``batch_size`` samples.
    """
    check_integer("epoch", epoch, low=0)
    check_integer("seed", seed, low=0)
    check_integer("batch_size", batch_size, low=1)
    if drop_last and batch_size > count:
        raise FieldError("batch_size", f"{batch_size} is larger than the dataset's {plural(count, 'sample')}, so an epoch has no full batch; lower it or use more images")
    generator = torch.Generator().manual_seed(derived_seed(seed, epoch))
    order = torch.randperm(count, generator=generator).to(device)
    batches = list(order.split(batch_size))
    if drop_last and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def in_order_batches(count: int, batch_size: int) -> list[torch.Tensor]:
    """``0..count-1`` in order, cut into batches of ``batch_size``: int64 index tensors on the CPU.

    Raises:
        ValueError: ``batch_size`` is not an integer ≥ 1.
    """
    check_integer("batch_size", batch_size, low=1)
    return list(torch.arange(count).split(batch_size))


def clear_tensor_caches() -> None:
    """Release every cache :meth:`TensorCache.build` made, and hand freed CUDA memory back to the driver."""
    for cache in _caches.values():
        cache.release()
    _caches.clear()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def _decode_samples(dataset: CacheableDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """All samples in host memory: images uint8 ``[N, 3, H, W]``, masks ``[N, H, W]`` of the smallest dtype."""
    count = len(dataset)
    if count == 0:
        raise AugmentlabError("the dataset has no samples, so there is nothing to train or validate on; check its paths and split")
    first = dataset[0]
    height, width = first[0].shape[-2:]
    images = torch.empty((count, 3, height, width), dtype=torch.uint8)
    low = high = dataset.ignore_index
    masks = torch.empty((count, height, width), dtype=mask_storage_dtype(low, high))
    for index in range(count):
        image, mask = first if index == 0 else dataset[index]
        _check_sample(index, image, mask, (height, width))
        low, high = min(low, int(mask.min())), max(high, int(mask.max()))
        if mask_storage_dtype(low, high) != masks.dtype:
            masks = masks.to(mask_storage_dtype(low, high))
        images[index] = image
        masks[index] = mask
    return images, masks


def _check_sample(index: int, image: torch.Tensor, mask: torch.Tensor, size: tuple[int, int]) -> None:
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"sample {index}: the image must be uint8 [3, H, W], got {image.dtype} {list(image.shape)}")
    if mask.dtype.is_floating_point or mask.dtype == torch.bool or mask.shape != image.shape[1:]:
        raise ValueError(
            f"sample {index}: the mask must be an integer tensor of the image's size {list(image.shape[1:])}, "
            f"got {mask.dtype} {list(mask.shape)}"
        )
    if tuple(image.shape[1:]) != size:
        raise AugmentlabError(
            f"samples differ in size: sample 0 is {size[0]}×{size[1]} but sample {index} is "
            f"{image.shape[1]}×{image.shape[2]} (height×width); give a training size (", Param("image_size"),
            ", or size=(H, W) to load_dataset) so that every sample is resized to it",
        )


def _gather(source: torch.Tensor, indices: torch.Tensor, pinned: bool) -> torch.Tensor:
    """``source[indices]`` on the host, into pinned memory when ``pinned`` so that the copy to CUDA is asynchronous."""
    if not pinned:
        return source.index_select(0, indices)
    out = torch.empty((len(indices), *source.shape[1:]), dtype=source.dtype, pin_memory=True)
    return torch.index_select(source, 0, indices, out=out)


def _resolve_device(device: torch.device | str) -> torch.device:
    """``cuda`` and ``cuda:0`` are one device, so they share one cache."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _device_budget(device: torch.device) -> int | None:
    """The default budget: a share of the free memory on CUDA; None (unlimited) elsewhere."""
    if device.type != "cuda":
        return None
    free_bytes, _ = torch.cuda.mem_get_info(device)
    return int(free_bytes * DEVICE_BUDGET_FRACTION)


def derived_seed(*keys: int) -> int:
    """One 64-bit generator seed per tuple of keys such as ``(seed, epoch)``, well mixed so that no two tuples share a stream."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0])


def _mebibytes(nbytes: int | None) -> str:
    return f"{nbytes / 2**20:.2f} MiB"

