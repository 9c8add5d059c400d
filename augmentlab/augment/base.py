"""Base classes for batch augmentations that keep masks exact.

Like kornia's augmentation bases, sampling parameters is kept apart from applying them, and the
base carries what every transform shares: input checks and the per-sample probability ``p``.
Everything stays on the batch's device; the choice of which samples to augment is a tensor,
never a Python branch, so no step waits on the host.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from augmentlab.augment.mirror import check_label_swap, swap_labels
from augmentlab.augment.params import chosen_samples
from augmentlab.checks import check_integer, check_number


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


FILL_MASK_CHOICES = ("ignore", "background")


def mask_fill_value(fill_mask: str, ignore_index: int) -> int:
    """The label given to mask pixels that have no source: ``ignore_index`` or background (0)."""
    if fill_mask not in FILL_MASK_CHOICES:
        raise ValueError(f"fill_mask must be 'ignore' or 'background', got {fill_mask!r}")
    check_integer("ignore_index", ignore_index)
    return ignore_index if fill_mask == "ignore" else 0


_LABEL_OFFSET = 2**23


def remap_masks(masks: torch.Tensor, grid: torch.Tensor, fill: int) -> torch.Tensor:
    """Sample masks at ``grid`` by nearest neighbour, exactly; samples outside the mask get ``fill``.

    Labels are never interpolated: grid_sample's nearest mode picks one source label, rounding
    half to even. Labels travel as ``label + 2**23`` in float32 (exact for |label| < 2**23), so
    the zero padding, and only it, yields 0 where a sample has no source. This is several times
    faster on the CPU than an index gather at the rounded positions, with identical results.

    Args:
        masks: int64 [B,H,W].
        grid: float [B,H',W',2], (x, y) sampling positions normalised to [-1, 1] with
            ``align_corners=False``, as for ``F.grid_sample``.
        fill: label for positions that fall outside the mask.

    Returns:
        int64 [B,H',W'].
    """
    labels, no_source = sample_labels(masks, grid)
    return labels.masked_fill_(no_source, fill)


def sample_labels(masks: torch.Tensor, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`remap_masks` before the fill: (int64 labels [B,H',W'], bool [B,H',W'] True where a sample has no source)."""
    # One pass into float32: the sum is formed in int64 and written as float32, exactly.
    encoded = torch.add(masks, _LABEL_OFFSET, out=torch.empty(masks.shape, dtype=torch.float32, device=masks.device)).unsqueeze(1)
    sampled = F.grid_sample(encoded, grid.float(), mode="nearest", padding_mode="zeros", align_corners=False)[:, 0]
    return sampled.long().sub_(_LABEL_OFFSET), sampled == 0


def remap_images(images: torch.Tensor, grid: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Sample images at ``grid`` bilinearly; by default positions outside the image read black (0).

    Args:
        images: float [B,C,H,W].
        grid: float [B,H',W',2] as in :func:`remap_masks`.
        padding_mode: ``zeros`` (black outside), or ``border``: positions between the outer
            pixel centres and the edge, and beyond, read the outer pixels.

    Returns:
        float [B,C,H',W'] of the input dtype.
    """
    return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode=padding_mode, align_corners=False)


def select_per_sample(chosen: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """``new[i]`` where ``chosen[i]`` else ``old[i]``; chosen is bool [B]."""
    return torch.where(chosen.view(-1, *([1] * (new.ndim - 1))), new, old)


class BatchAugmentation(nn.Module):
    """One augmentation applied to a whole batch, each sample with probability ``p``.

    Subclasses set ``kind`` and implement :meth:`sample_params` and :meth:`apply_transform`;
    ``forward`` checks the inputs, draws which samples to change and keeps the others as they were.
    A transform that can mirror a sample says which in :meth:`reflects`; with a label swap table
    set (:meth:`set_label_swap`), ``forward`` swaps the mirror-paired labels of those samples.

    Args:
        p: probability that a sample is transformed, drawn independently per sample.
    """

    kind: ClassVar[str]
    #: True when ``apply_transform`` itself leaves unchanged the samples whose ``params["chosen"]``
    #: is False (e.g. by folding the choice into a region), so ``forward`` skips its own select.
    selects_samples: ClassVar[bool] = False

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_number("p", p, low=0.0, high=1.0)
        # A buffer, so that ``.to(device)`` moves the table with the module; not saved with it.
        self.register_buffer("label_swap", None, persistent=False)

    def set_label_swap(self, table: torch.Tensor | None) -> None:
        """Swap mirror-paired labels in the samples this transform mirrors, by ``table`` (int64 [L], from
        :func:`~augmentlab.augment.mirror.label_swap_table`); None (the default) swaps nothing."""
        self.label_swap = check_label_swap(table)

    def reflects(self, params: dict[str, Any], batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor | bool:
        """Whether the transform, where it is applied, mirrors each sample (reverses its orientation).

        Returns:
            bool [B] on ``device``, for the chosen and unchosen samples alike; or one Python bool
            for every sample. This default: False (photometric and mix transforms, dense warps).
            :class:`~augmentlab.augment.geometric.warp.PixelMap` reads its matrices' determinants.
        """
        return False

    def mirrored_samples(self, params: dict[str, Any], height: int, width: int) -> torch.Tensor | None:
        """bool [B]: the samples this draw mirrors (chosen and reflected); None when it mirrors none for sure."""
        chosen = params["chosen"]
        reflects = self.reflects(params, chosen.shape[0], height, width, chosen.device)
        if isinstance(reflects, bool):
            return chosen if reflects else None
        return chosen & reflects

    def sample_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        """Draw this transform's random parameters, one set per sample, as tensors on ``device``.

        :meth:`draw_params` adds ``params["chosen"]``, bool [B]: the samples drawn with probability ``p``.
        """
        return {}

    def apply_transform(
        self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transform every sample with its parameters; returns (images, masks) of the input shapes."""
        raise NotImplementedError

    def draw_params(self, batch_size: int, height: int, width: int, device: torch.device) -> dict[str, Any]:
        """The samples to change (``params["chosen"]``, bool [B], each with probability ``p``) and
        :meth:`sample_params`, drawn in that order: ``forward`` and the fused warp path both draw here,
        so they consume the random streams alike."""
        chosen = chosen_samples(self.p, batch_size, device)
        return {**self.sample_params(batch_size, height, width, device), "chosen": chosen}

    def forward(self, images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment a batch.

        Args:
            images: float [B,3,H,W] in [0,1].
            masks: int64 [B,H,W], class indices or ``ignore_index``.

        Returns:
            (images, masks) with the same shapes, dtypes and device.
        """
        check_batch(images, masks)
        if self.p == 0.0:
            return images, masks
        batch_size, _, height, width = images.shape
        # Every sample is transformed and the chosen ones kept: a data-dependent subset would need
        # a host synchronisation. At p=1 the select is skipped, and so it is for transforms that
        # fold the choice into their own work (selects_samples).
        params = self.draw_params(batch_size, height, width, images.device)
        chosen = params["chosen"]
        if self.label_swap is not None:
            # Relabelling commutes with moving pixels, so the labels are swapped before the
            # transform: pixels it leaves without a source keep their fill label.
            mirrored = self.mirrored_samples(params, height, width)
            if mirrored is not None:
                masks = swap_labels(masks, self.label_swap, mirrored)
        new_images, new_masks = self.apply_transform(images, masks, params)
        if self.p == 1.0 or self.selects_samples:
            return new_images, new_masks
        images = select_per_sample(chosen, new_images, images)
        if new_masks is not masks:
            masks = select_per_sample(chosen, new_masks, masks)
        return images, masks

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


class MaskFillingAugmentation(BatchAugmentation):
    """Base for transforms that leave some pixels without a source (warps, holes).

    Mask pixels with no source get ``ignore_index`` (``fill_mask='ignore'``, the default) so that
    padding is never learned as background, or class 0 (``fill_mask='background'``); the label
    is ``self.mask_fill``. Image pixels with no source are black.

    Args:
        p: probability that a sample is transformed.
        fill_mask: ``ignore`` or ``background``.
        ignore_index: the ignore label; the host passes the dataset's value.
    """

    def __init__(self, p: float = 0.5, fill_mask: str = "ignore", ignore_index: int = 255) -> None:
        super().__init__(p)
        self.fill_mask = fill_mask
        self.mask_fill = mask_fill_value(fill_mask, ignore_index)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, fill_mask={self.fill_mask}"


class GeometricAugmentation(MaskFillingAugmentation):
    """Base for transforms that move pixels and may pull some from outside the image; the mask
    moves with the image exactly, and sourceless pixels get the fill label (see
    :class:`MaskFillingAugmentation`)."""

    kind = "geometric"


class PhotometricAugmentation(BatchAugmentation):
    """Base for transforms that change pixel values only: the mask is never touched, and
    images are clamped to [0, 1]. Subclasses implement :meth:`apply_to_images`."""

    kind = "photometric"

    def apply_to_images(self, images: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        """images: float [B,3,H,W] in [0,1] -> a new tensor (never ``images`` or a view of it), same shape and dtype."""
        raise NotImplementedError

    def apply_transform(self, images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.apply_to_images(images, params).clamp_(0.0, 1.0), masks


class MixAugmentation(MaskFillingAugmentation):
    """Base for transforms that combine samples of the batch or drop regions.

    Dropped regions get the fill label (``ignore_index`` by default, see
    :class:`MaskFillingAugmentation`), so the model is not taught that a hole is background;
    pasted regions carry their own labels.
    """

    kind = "mix"
