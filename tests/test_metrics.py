"""ConfusionMatrix against tiny cases computed by hand: 2×2 images, 3 classes."""

from __future__ import annotations

import math

import pytest
import torch

from augmentlab.runner.metrics import ConfusionMatrix, SegmentationMetrics

# Two images whose confusion is easy to count, and one with no labelled pixel.
#   image 0: truth [[0,1],[2,2]], prediction [[0,2],[2,1]]
#            I = [1, 0, 1], U = [1, 2, 3]  -> IoU [1, 0, 1/3], image mIoU 4/9
#   image 1: truth [[1,1],[1,0]], prediction [[1,1],[0,0]]
#            I = [1, 2, 0], U = [2, 3, 0]  -> IoU [1/2, 2/3, absent], image mIoU 7/12
#   image 2: every pixel ignored            -> no scored class, skipped by the per-image mean
TRUTH = [[[0, 1], [2, 2]], [[1, 1], [1, 0]], [[255, 255], [255, 255]]]
PREDICTION = [[[0, 2], [2, 1]], [[1, 1], [0, 0]], [[2, 0], [1, 1]]]


def score(device: torch.device, truth, prediction, num_classes: int = 3, **kwargs) -> SegmentationMetrics:
    matrix = ConfusionMatrix(num_classes, **kwargs)
    matrix.update(torch.tensor(prediction, device=device), torch.tensor(truth, device=device))
    return matrix.compute()


@pytest.mark.parametrize(
    ("truth", "prediction", "per_class", "pixel_accuracy"),
    [
        # the hand-counted image 0 above
        ([[[0, 1], [2, 2]]], [[[0, 2], [2, 1]]], [1.0, 0.0, 1 / 3], 2 / 4),
        # perfect prediction of two classes: the third is absent from both, so None
        ([[[0, 0], [1, 1]]], [[[0, 0], [1, 1]]], [1.0, 1.0, None], 1.0),
        # class 2 absent from both: I = [1, 2], U = [2, 3]
        ([[[0, 0], [1, 1]]], [[[0, 1], [1, 1]]], [0.5, 2 / 3, None], 3 / 4),
        # everything wrong: every class that appears has IoU 0
        ([[[0, 0], [1, 1]]], [[[1, 1], [2, 2]]], [0.0, 0.0, 0.0], 0.0),
        # ignore_index pixels are not scored, whatever is predicted there; class 2 is predicted only there
        ([[[0, 255], [1, 255]]], [[[0, 0], [1, 2]]], [1.0, 1.0, None], 1.0),
        # so are labels ≥ C and negative labels
        ([[[0, 3], [1, 7]]], [[[0, 0], [1, 2]]], [1.0, 1.0, None], 1.0),
        ([[[0, -1], [1, 1]]], [[[0, 2], [1, 0]]], [0.5, 0.5, None], 2 / 3),
    ],
)
def test_per_class_iou_miou_and_pixel_accuracy_of_hand_counted_cases(device, truth, prediction, per_class, pixel_accuracy):
    metrics = score(device, truth, prediction)
    assert metrics.per_class_iou == pytest.approx(per_class)
    assert [value is None for value in metrics.per_class_iou] == [value is None for value in per_class]
    scored = [value for value in per_class if value is not None]
    assert metrics.miou == pytest.approx(sum(scored) / len(scored))
    assert metrics.pixel_accuracy == pytest.approx(pixel_accuracy)


def test_a_batch_of_three_images_gives_the_hand_counted_metrics(device):
    metrics = score(device, TRUTH, PREDICTION)
    # dataset level: I = [2, 2, 1], U = [3, 5, 3]
    assert metrics.per_class_iou == pytest.approx([2 / 3, 2 / 5, 1 / 3])
    assert metrics.miou == pytest.approx(7 / 15)
    assert metrics.pixel_accuracy == pytest.approx(5 / 8)
    # per image: (4/9 + 7/12) / 2; the all-ignored image is skipped, not counted as 0
    assert metrics.per_image_miou == pytest.approx(37 / 72)
    assert metrics.image_intersections == [[1, 0, 1], [1, 2, 0], [0, 0, 0]]
    assert metrics.image_unions == [[1, 2, 3], [2, 3, 0], [0, 0, 0]]
    assert all(type(count) is int for row in metrics.image_intersections + metrics.image_unions for count in row)


def test_accumulating_batches_equals_one_batch(device):
    together = score(device, TRUTH, PREDICTION)
    matrix = ConfusionMatrix(3)
    matrix.update(torch.tensor(PREDICTION[:1], device=device), torch.tensor(TRUTH[:1], device=device))
    matrix.update(torch.tensor(PREDICTION[1:], device=device), torch.tensor(TRUTH[1:], device=device))
    assert matrix.compute() == together


def test_compute_can_be_called_again_after_more_batches(device):
    matrix = ConfusionMatrix(3)
    matrix.update(torch.tensor(PREDICTION[:1], device=device), torch.tensor(TRUTH[:1], device=device))
    assert matrix.compute().image_unions == [[1, 2, 3]]
    matrix.update(torch.tensor(PREDICTION[1:], device=device), torch.tensor(TRUTH[1:], device=device))
    assert matrix.compute() == score(device, TRUTH, PREDICTION)


def test_predictions_and_targets_of_any_integer_dtype_are_scored_alike(device):
    expected = score(device, TRUTH, PREDICTION)
    matrix = ConfusionMatrix(3)
    matrix.update(torch.tensor(PREDICTION, device=device, dtype=torch.int32), torch.tensor(TRUTH, device=device, dtype=torch.uint8))
    assert matrix.compute() == expected


def test_a_custom_ignore_index_outside_the_classes_is_not_scored(device):
    metrics = score(device, [[[0, 100], [1, 1]]], [[[0, 0], [1, 1]]], ignore_index=100)
    assert metrics.per_class_iou == [1.0, 1.0, None]
    assert metrics.image_unions == [[1, 2, 0]]


def test_pixels_equal_to_ignore_index_are_not_scored_even_inside_the_class_range(device):
    metrics = score(device, [[[0, 2], [1, 2]]], [[[0, 1], [1, 0]]], ignore_index=2)
    assert metrics.image_unions == [[1, 1, 0]]
    assert metrics.per_class_iou == [1.0, 1.0, None]


def test_nothing_labelled_gives_nan_means_and_no_class(device):
    metrics = score(device, [[[255, 255], [255, 255]]], [[[0, 1], [2, 0]]])
    assert metrics.per_class_iou == [None, None, None]
    assert math.isnan(metrics.miou) and math.isnan(metrics.pixel_accuracy) and math.isnan(metrics.per_image_miou)
    assert (metrics.image_intersections, metrics.image_unions) == ([[0, 0, 0]], [[0, 0, 0]])


def test_one_class_scores_like_any_other(device):
    metrics = score(device, [[[0, 0], [0, 255]]], [[[0, 0], [0, 0]]], num_classes=1)
    assert (metrics.per_class_iou, metrics.miou, metrics.pixel_accuracy) == ([1.0], 1.0, 1.0)


@pytest.mark.parametrize(
    ("prediction_shape", "target_shape"),
    [((1, 2, 2), (1, 2, 3)), ((2, 2), (2, 2)), ((1, 1, 2, 2), (1, 1, 2, 2)), ((2, 2, 2), (1, 2, 2))],
)
def test_bad_shapes_raise_value_error_naming_both(device, prediction_shape, target_shape):
    matrix = ConfusionMatrix(3)
    with pytest.raises(ValueError) as error:
        matrix.update(torch.zeros(prediction_shape, dtype=torch.long, device=device), torch.zeros(target_shape, dtype=torch.long, device=device))
    assert str(error.value) == (
        f"predictions and targets must both be [B, H, W], got {list(prediction_shape)} and {list(target_shape)}"
    )


def test_compute_without_a_batch_raises():
    with pytest.raises(ValueError, match=r"^no batches were added, so there is nothing to score$"):
        ConfusionMatrix(3).compute()


@pytest.mark.parametrize("num_classes", [0, -1])
def test_num_classes_below_one_raises(num_classes):
    with pytest.raises(ValueError, match=rf"^num_classes must be ≥ 1, got {num_classes}$"):
        ConfusionMatrix(num_classes)
