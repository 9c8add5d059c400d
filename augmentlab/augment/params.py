"""Every per-sample random draw of the augmentations, in one place.

Parameters are drawn per sample as tensors on the batch's device, from the global torch
generator (so ``torch.manual_seed`` reproduces a batch), and never read back to the host.
A plugin draws through the same helpers, so its parameters follow the same rules.
"""

from __future__ import annotations

import torch

from augmentlab.tensors import constant


def chosen_samples(p: float, batch_size: int, device: torch.device) -> torch.Tensor:
    """bool [B]: each sample chosen independently with probability ``p``."""
    return torch.rand(batch_size, device=device) < p


def uniform(value_range: tuple[float, float], *shape: int, device: torch.device) -> torch.Tensor:
    """float32 tensor of ``shape`` on ``device``, drawn uniformly from ``[low, high)``."""
    low, high = value_range
    return torch.empty(shape, device=device).uniform_(low, high)


def uniform_rows(limits: list[tuple[float, float]], batch_size: int, device: torch.device) -> torch.Tensor:
    """float32 [len(limits), B], row i drawn uniformly from ``limits[i]`` = [low, high), on ``device``.

    One draw for all rows, stretched to their ranges at once: a few kernels where a draw per row
    takes three each. On the CPU the numbers are those of ``torch.rand(B) * (high - low) + low``
    once per row, in order.
    """
    low = constant([[low] for low, _ in limits], device)
    span = constant([[high - low] for low, high in limits], device)
    return torch.rand(len(limits), batch_size, device=device) * span + low


def uniform_integers(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """An integer drawn uniformly from ``[low, high]`` (both inclusive) for each element.

    Args:
        low, high: integer tensors of one shape (or broadcastable), ``low <= high``, on one device;
            float tensors holding whole numbers work too.

    Returns:
        int64 tensor of the broadcast shape, on that device.
    """
    low, high = torch.broadcast_tensors(low.long(), high.long())
    span = (high - low + 1).float()
    # rand < 1, but rand * span can round up to span in float32; the clamp keeps the draw in range.
    drawn = low + torch.floor(torch.rand(low.shape, device=low.device) * span).long()
    return torch.minimum(drawn, high)


def random_partners(batch_size: int, device: torch.device) -> torch.Tensor:
    """For each sample, the index of another sample of the batch, chosen uniformly and independently.

    Sample ``i`` gets ``(i + k) mod B`` with ``k`` uniform in ``1..B-1``, so no sample is its own
    partner when ``B > 1``. With ``B = 1`` the only sample is its own partner, which makes a
    paste from the partner an identity.

    Returns:
        int64 [B] on ``device``.
    """
    index = torch.arange(batch_size, device=device)
    shift = uniform_integers(torch.ones_like(index), torch.full_like(index, max(batch_size - 1, 1)))
    return (index + shift) % batch_size
