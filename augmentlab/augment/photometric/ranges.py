"""What the photometric transforms draw and place on the batch's device: parameter ranges and colours.

A range is a ``(low, high)`` pair, checked once in ``__init__`` by :func:`augmentlab.checks.check_range`
and drawn here per sample; a fixed value is ``[v, v]``.
"""

from __future__ import annotations

import torch

from augmentlab.tensors import constant


def sample_uniform(value_range: tuple[float, float], *shape: int, device: torch.device) -> torch.Tensor:
    """float32 tensor of ``shape`` on ``device``, drawn uniformly from ``[low, high]``."""
    low, high = value_range
    return torch.empty(shape, device=device).uniform_(low, high)


def colour_tensor(colour: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    """float32 [1,3,1,1] on ``device``, ready to broadcast against images [B,3,H,W]."""
    return constant(list(colour), device).view(1, 3, 1, 1)
