"""Small tensors made on the device without waiting for it."""

from __future__ import annotations

from typing import Sequence

import torch


def constant(values: float | Sequence, device: torch.device) -> torch.Tensor:
    """float32 tensor of Python numbers (nested lists for more dimensions), made on ``device``.

    On CUDA it is built from fills: ``torch.tensor(values, device="cuda")`` copies from pageable
    host memory, and that copy waits for the device, which would stall the step loop.
    """
    if device.type == "cpu":
        return torch.tensor(values, dtype=torch.float32)
    if isinstance(values, (int, float)):
        return torch.full((), float(values), device=device)
    return torch.stack([constant(value, device) for value in values])
