"""A loss spec built into one module: a weighted sum of losses that remembers each term's last value for logging."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from augmentlab.checks import check_integer
from augmentlab.registry.api import available_losses, rejected_value, resolve_loss_spec
from augmentlab.registry.spec import LossSpec


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


def build_loss(
    spec: str | LossSpec,
    num_classes: int,
    ignore_index: int = 255,
    class_frequencies: Sequence[float] | None = None,
) -> WeightedLossSum:
    """Build the loss of a spec such as ``ce0.8+focal(gamma=2)0.2``.

    The module maps (logits float [B,C,H,W], target int64 [B,H,W]) to a float32 scalar and keeps
    each term's last value in ``last_terms``.

    Args:
        spec: the loss spec.
        num_classes: C, including background.
        ignore_index: target value of unlabelled pixels.
        class_frequencies: pixel count (or share) of each class in the training set, passed to
            the losses that accept it (``ce(weight=auto)``, ``focal(alpha=auto)``). Move the
            returned module to the logits' device: class weights are buffers.

    Raises:
        SpecError: malformed spec, unknown name or parameter, or a parameter value the loss rejects.
        ValueError: ``num_classes`` is not an integer ≥ 2 (the call's mistake, not the spec's).
    """
    check_integer("num_classes", num_classes, low=2)
    parsed = resolve_loss_spec(spec)
    available = available_losses()
    terms: list[tuple[str, float, nn.Module]] = []
    for term in parsed:
        info = available[term.name]
        extra = {"class_frequencies": class_frequencies} if info.accepts_class_frequencies else {}
        try:
            module = info.factory(num_classes=num_classes, ignore_index=ignore_index, **extra, **term.kwargs)
        except (ValueError, TypeError) as error:
            raise rejected_value(error, parsed, term.label, term.position) from None
        terms.append((term.label, term.weight, module))
    return WeightedLossSum(terms, str(parsed))
