"""Loss math as plain tensor functions; the modules around them validate and reshape.

Every function takes float32 logits [B,C,H,W] and int64 targets [B,H,W] and leaves out pixels
equal to ``ignore_index``. Means are taken over valid pixels with the count clamped to 1, so a
batch that is entirely ignore gives 0 (still attached to the graph) instead of 0/0 = NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def valid_pixels(target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """bool [B,H,W]: pixels that carry a label."""
    return target != ignore_index


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over ``valid`` (same shape); 0 when nothing is valid."""
    return (values * valid).sum() / valid.sum().clamp_min(1)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean cross-entropy over valid pixels; equals ``F.cross_entropy(..., ignore_index=...)`` when some pixel is valid."""
    per_pixel = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none", label_smoothing=label_smoothing)
    return masked_mean(per_pixel, valid_pixels(target, ignore_index))


def softmax_focal(logits: torch.Tensor, target: torch.Tensor, ignore_index: int, gamma: float) -> torch.Tensor:
    """Mean softmax focal loss ``-(1 - p_t)^gamma * log(p_t)`` over valid pixels (Lin et al., 2017).

    ``p_t`` is the softmax probability of the true class; gamma = 0 gives cross-entropy.
    """
    valid = valid_pixels(target, ignore_index)
    # Ignored pixels point at class 0 for the gather, then drop out through the mask.
    safe_target = torch.where(valid, target, torch.zeros_like(target)).unsqueeze(1)
    # log_softmax rather than softmax then log, for stability at confident logits; -expm1(log p)
    # gives 1 - p without cancellation when p is close to 1.
    log_pt = F.log_softmax(logits, dim=1).gather(1, safe_target).squeeze(1)
    modulation = (-torch.expm1(log_pt)).clamp_min(0.0).pow(gamma) if gamma else 1.0
    return masked_mean(-modulation * log_pt, valid)
