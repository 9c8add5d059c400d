"""Colours the photometric transforms place on the batch's device.

Their parameter ranges are ``(low, high)`` pairs, checked once in ``__init__`` by
:func:`augmentlab.checks.check_range` and drawn per sample by :func:`augmentlab.augment.params.uniform`.
"""

from __future__ import annotations

import torch

from augmentlab.tensors import constant


def colour_tensor(colour: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    """float32 [1,3,1,1] on ``device``, ready to broadcast against images [B,3,H,W]."""
    return constant(list(colour), device).view(1, 3, 1, 1)
