"""Base classes for batch augmentations that keep masks exact.

Like kornia's augmentation bases, sampling parameters is kept apart from applying them, and the
base carries what every transform shares: input checks and the per-sample probability ``p``.
Everything stays on the batch's device; the choice of which samples to augment is a tensor,
never a Python branch, so no step waits on the host.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


def check_batch(images: torch.Tensor, masks: torch.Tensor) -> None:
    """Raise ValueError unless ``images`` is float [B,C,H,W] and ``masks`` int64 [B,H,W] on the same device."""
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.ndim != 4:
        got = f"{tuple(images.shape)} {images.dtype}" if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a float tensor [B,3,H,W] with values in [0,1], got {got}")
    if not isinstance(masks, torch.Tensor) or masks.dtype != torch.int64 or masks.ndim != 3:
        got = f"{tuple(masks.shape)} {masks.dtype}" if isinstance(masks, torch.Tensor) else type(masks).__name__
        raise ValueError(f"masks must be an int64 tensor [B,H,W] of class indices, got {got}")
    if masks.shape != images.shape[:1] + images.shape[2:]:
        raise ValueError(f"masks {tuple(masks.shape)} do not match images {tuple(images.shape)}; expected [B,H,W] = {tuple(images.shape[:1] + images.shape[2:])}")
    if masks.device != images.device:
        raise ValueError(f"images are on {images.device} but masks on {masks.device}; move both to one device")


def check_probability(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a number in [0, 1], got {p!r}")
    return float(p)


def select_per_sample(chosen: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``new[i]`` where ``chosen[i]`` else ``old[i]``; chosen is bool [B]."""
    return torch.where(chosen.view(-1, *([1] * (new.ndim - 1))), new, old)


class BatchAugmentation(nn.Module):
    """One augmentation applied to a whole batch, each sample with probability ``p``.

    Subclasses set ``kind`` and implement :meth:`sample_params` and :meth:`apply_transform`;
    ``forward`` checks the inputs, draws which samples to change and keeps the others as they were.

    Args:
        p: probability that a sample is transformed, drawn independently per sample.
    """

    kind: ClassVar[str]

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability(p)

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        """Draw this transform's random parameters, one set per sample, as tensors on ``device``."""
        return {}

    def apply_transform(
        self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transform every sample with its parameters; returns (images, masks) of the input shapes."""
        raise NotImplementedError

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a batch.

        Args:
            images: float [B,3,H,W] in [0,1].
            masks: int64 [B,H,W], class indices or ``ignore_index``.

        Returns:
            (images, masks) with the same shapes, dtypes and device.
        """
        check_batch(images, masks)
        batch_size, _, height, width = images.shape
        chosen = torch.rand(batch_size, device=images.device) < self.p
        params = self.sample_params(batch_size, height, width, images.device)
        new_images, new_masks = self.apply_transform(images, masks, params)
        images = select_per_sample(chosen, new_images, images)
        if new_masks is not masks:
            masks = select_per_sample(chosen, new_masks, masks)
        return images, masks

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


class AugmentationPipeline(nn.Module):
    """The augmentations of one spec, applied one after another (an empty pipeline is ``none``).

    Args:
        transforms: the built augmentations, in spec order.
        spec: the canonical spec string, kept for reports.
    """

    def __init__(self, transforms: list[nn.Module], spec: str) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(transforms)
        self.spec = spec

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images: float [B,3,H,W] in [0,1]; masks: int64 [B,H,W]. Returns both, augmented."""
        check_batch(images, masks)
        for transform in self.transforms:
            images, masks = transform(images, masks)
        return images, masks

    def __repr__(self) -> str:
        inner = "".join(f"\n  {transform!r}" for transform in self.transforms)
        return f"AugmentationPipeline('{self.spec}'){inner}"
