"""Validation metrics from a confusion matrix accumulated on the training device.

One ``bincount`` per batch builds each image's ``C × C`` confusion matrix; nothing waits on the
host until :meth:`ConfusionMatrix.compute`. From the per-image matrices come both the
dataset-level mIoU (sum over images, then IoU) and the mean per-image mIoU that competitions
score, plus each image's per-class intersection and union, which the paired bootstrap over
validation images resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SegmentationMetrics:
    """Metrics of one validation pass.

    A class absent from both prediction and truth (union 0) has IoU None and is left out of
    every mean: it says nothing about the model.
    """

    miou: float
    per_class_iou: list[float | None]
    pixel_accuracy: float
    per_image_miou: float
    image_intersections: list[list[int]]
    """``[N][C]`` pixels in both prediction and truth, per image and class."""
    image_unions: list[list[int]]
    """``[N][C]`` pixels in prediction or truth, per image and class."""


class ConfusionMatrix:
    """Accumulates per-image confusion matrices over validation batches, on their device.

    Args:
        num_classes: C, background included.
        ignore_index: target value of pixels that are not scored.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be ≥ 1, got {num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self._matrices: list[torch.Tensor] = []

    def update(self, predictions: torch.Tensor, targets: torch.Tensor) -> None:
        """Add a batch. predictions, targets: integer ``[B, H, W]`` on one device.

        Target pixels equal to ``ignore_index`` (or outside ``0..C-1``) are not scored.
        """
        if predictions.shape != targets.shape or predictions.dim() != 3:
            raise ValueError(f"predictions and targets must both be [B, H, W], got {list(predictions.shape)} and {list(targets.shape)}")
        count = self.num_classes
        batch = targets.shape[0]
        targets = targets.long()
        valid = (targets >= 0) & (targets < count) & (targets != self.ignore_index)
        image = torch.arange(batch, device=targets.device).view(batch, 1, 1).expand_as(targets)
        cells = (image * count + targets) * count + predictions.long()
        # Unscored pixels go to one extra bin that is dropped: indexing by ``valid`` would wait on the host.
        spare = batch * count * count
        matrices = torch.bincount(torch.where(valid, cells, spare).flatten(), minlength=spare + 1)[:spare]
        self._matrices.append(matrices.view(batch, count, count))

    def compute(self) -> SegmentationMetrics:
        """The metrics over every batch added so far (one host synchronisation)."""
        if not self._matrices:
            raise ValueError("no batches were added, so there is nothing to score")
        matrices = torch.cat(self._matrices).cpu().double()  # [N, truth, prediction]
        intersections = torch.diagonal(matrices, dim1=1, dim2=2)
        unions = matrices.sum(2) + matrices.sum(1) - intersections
        total_i, total_u = intersections.sum(0), unions.sum(0)
        per_class = [float(i / u) if u > 0 else None for i, u in zip(total_i.tolist(), total_u.tolist())]
        scored = [value for value in per_class if value is not None]
        labelled = float(matrices.sum())
        return SegmentationMetrics(
            miou=sum(scored) / len(scored) if scored else float("nan"),
            per_class_iou=per_class,
            pixel_accuracy=float(total_i.sum()) / labelled if labelled else float("nan"),
            per_image_miou=_mean_image_miou(intersections, unions),
            image_intersections=intersections.long().tolist(),
            image_unions=unions.long().tolist(),
        )


def _mean_image_miou(intersections: torch.Tensor, unions: torch.Tensor) -> float:
    """Mean over images of each image's mIoU over its classes with union > 0; images with no scored pixel are skipped."""
    present = unions > 0
    per_image = torch.where(present, intersections / unions.clamp(min=1), 0).sum(1) / present.sum(1).clamp(min=1)
    scored = present.any(1)
    return float(per_image[scored].mean()) if scored.any() else float("nan")
