"""What every augmentlab loss shares: argument checks, input checks and float32 math."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from augmentlab.checks import check_flag, check_integer, check_number, free_ignore_index  # noqa: F401 - check_flag and check_number stay importable from here


def check_num_classes(num_classes: int) -> int:
    """Return ``num_classes``, or raise ValueError unless it is an integer ≥ 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer ≥ 2 (background counts as a class), got {num_classes!r}")
    return num_classes


class SegmentationLoss(nn.Module):
    """Base for losses over (logits float [B,C,H,W], target int64 [B,H,W]) -> scalar.

    ``forward`` validates the inputs and computes in float32 outside autocast, so bf16/fp16
    logits lose no precision in the loss; subclasses implement :meth:`compute`.

    Args:
        num_classes: C, the number of classes including background.
        ignore_index: target value of pixels that carry no label.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        super().__init__()
        self.num_classes = check_num_classes(num_classes)
        check_integer("ignore_index", ignore_index)
        if 0 <= ignore_index < num_classes:
            raise ValueError(f"ignore_index {ignore_index} is a class index (classes are 0..{num_classes - 1}); use a value outside that range, such as {free_ignore_index(num_classes)}")
        self.ignore_index = ignore_index

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """logits: float32 [B,C,H,W]; target: int64 [B,H,W]. Returns a scalar."""
        raise NotImplementedError

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.ndim != 4 or logits.shape[1] != self.num_classes:
            raise ValueError(f"logits must be [B,{self.num_classes},H,W], got {tuple(logits.shape)}")
        if target.dtype != torch.int64 or target.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"target must be int64 [B,H,W] = {tuple(logits.shape[:1] + logits.shape[2:])}, got {tuple(target.shape)} {target.dtype}")
        # Outside autocast where the device has it (``meta``, which traces shapes without data, has none).
        device_type = logits.device.type
        outside = torch.autocast(device_type=device_type, enabled=False) if torch.amp.is_autocast_available(device_type) else contextlib.nullcontext()
        with outside:
            return self.compute(logits.float(), target)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, ignore_index={self.ignore_index}"
