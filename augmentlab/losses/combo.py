"""A weighted sum of losses that remembers each term's last value for logging."""

from __future__ import annotations

import torch
from torch import nn


class WeightedLossSum(nn.Module):
    """Sum of ``weight * loss`` over the terms of a loss spec such as ``ce0.8+focal0.2``.

    After each forward, :attr:`last_terms` maps each term's label to its unweighted value as a
    detached 0-dim tensor on the logits' device (no host synchronisation in the training step).

    Args:
        terms: (label, weight, module) per term, in spec order.
        spec: the canonical spec string, kept for reports.
    """

    def __init__(self, terms: list[tuple[str, float, nn.Module]], spec: str) -> None:
        super().__init__()
        if not terms:
            raise ValueError("a loss needs at least one term")
        self.labels = [label for label, _, _ in terms]
        self.weights = [float(weight) for _, weight, _ in terms]
        self.losses = nn.ModuleList(module for _, _, module in terms)
        self.spec = spec
        self.last_terms: dict[str, torch.Tensor] = {}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """logits: [B,C,H,W] (any float dtype); target: int64 [B,H,W]. Returns a float32 scalar."""
        total = None
        values = {}
        for label, weight, loss in zip(self.labels, self.weights, self.losses):
            value = loss(logits, target)
            values[label] = value.detach()
            total = weight * value if total is None else total + weight * value
        self.last_terms = values
        return total

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({weight:g}) {loss!r}" for weight, loss in zip(self.weights, self.losses))
        return f"WeightedLossSum('{self.spec}'){inner}"
