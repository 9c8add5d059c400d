"""What every augmentlab loss shares: argument checks, input checks and float32 math."""

from __future__ import annotations

import math

import torch
from torch import nn


def check_num_classes(num_classes: int) -> int:
    """Return ``num_classes``, or raise ValueError unless it is an integer ≥ 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer ≥ 2 (background counts as a class), got {num_classes!r}")
    return num_classes


def check_number(name: str, value: float, *, low: float, high: float | None = None, low_open: bool = False) -> float:
    """Return ``value`` as a float, or raise ValueError naming the parameter and its valid range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high):
        if high is None:
            bound = f"> {low:g}" if low_open else f"≥ {low:g}"
        else:
            bound = f"in {'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return float(value)


def check_integer(name: str, value: int, *, low: int) -> int:
    """Return ``value``, or raise ValueError unless it is an integer ≥ ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return value


def check_flag(name: str, value: bool) -> bool:
    """Return ``value``, or raise ValueError unless it is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


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
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise ValueError(f"ignore_index must be an integer, got {ignore_index!r}")
        if 0 <= ignore_index < num_classes:
            raise ValueError(f"ignore_index {ignore_index} is a class index (classes are 0..{num_classes - 1}); use a value outside that range, such as 255")
        self.ignore_index = ignore_index

    def compute(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """logits: float32 [B,C,H,W]; target: int64 [B,H,W]. Returns a scalar."""
        raise NotImplementedError

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.ndim != 4 or logits.shape[1] != self.num_classes:
            raise ValueError(f"logits must be [B,{self.num_classes},H,W], got {tuple(logits.shape)}")
        if target.dtype != torch.int64 or target.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(f"target must be int64 [B,H,W] = {tuple(logits.shape[:1] + logits.shape[2:])}, got {tuple(target.shape)} {target.dtype}")
        with torch.autocast(device_type=logits.device.type, enabled=False):
            return self.compute(logits.float(), target)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, ignore_index={self.ignore_index}"
