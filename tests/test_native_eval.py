"""Native-resolution scoring: each validation image scored at its own size, against its mask as read."""

from __future__ import annotations

import pytest
import torch

from augmentlab.data.images import resize_mask
from augmentlab.data.native import NativeMasks
from augmentlab.runner.metrics import ConfusionMatrix
from augmentlab.runner.train import score_natively

# 8×8: class 1 in columns 0-3, a one-pixel line of class 2 in column 6, background elsewhere.
NATIVE = torch.zeros(8, 8, dtype=torch.int64)
NATIVE[:, :4] = 1
NATIVE[:, 6] = 2


def one_hot_logits(mask: torch.Tensor, classes: int = 3) -> torch.Tensor:
    return torch.nn.functional.one_hot(mask, classes).permute(2, 0, 1)[None].float() * 10


def test_a_thin_object_vanishes_at_the_training_size_but_counts_natively() -> None:
    train_mask = resize_mask(NATIVE, (4, 4))  # nearest by pixel centres samples columns 1, 3, 5, 7: the line is gone
    assert 2 not in train_mask.unique().tolist()
    logits = one_hot_logits(train_mask)  # a model perfect at the training size

    at_train = ConfusionMatrix(3)
    at_train.update(logits.argmax(1), train_mask[None])
    assert at_train.compute().miou == 1.0  # class 2 is in neither prediction nor truth: left out of the mean

    native = NativeMasks(NATIVE.flatten().to(torch.uint8), (0,), ((8, 8),), ((4, 4),))
    natively = ConfusionMatrix(3)
    score_natively(natively, logits, [0], native)
    # Upsampled, columns 0-3 are class 1 and 4-7 background (the bilinear boundary falls between 3 and 4):
    # class 1: 32/32; background: truth columns 4, 5, 7 (24 px) against predicted 4-7 (32 px), 24/32;
    # class 2: 8 px of truth, none predicted, 0.
    metrics = natively.compute()
    assert metrics.per_class_iou == pytest.approx([0.75, 1.0, 0.0])
    assert metrics.miou == pytest.approx((0.75 + 1.0 + 0.0) / 3)


def test_a_non_square_image_is_scored_on_its_fitted_region_only() -> None:
    # A 4×8 image fitted into 8×8: it fills rows 0-3, rows 4-7 are padding whose logits must not count.
    native_mask = torch.zeros(4, 8, dtype=torch.int64)
    native_mask[:, 4:] = 1
    logits = torch.zeros(1, 2, 8, 8)
    logits[0, 1, :4, 4:] = 10  # class 1 where the image has it
    logits[0, 1, 4:, :] = 10  # nonsense in the padding
    native = NativeMasks(native_mask.flatten().to(torch.uint8), (0,), ((4, 8),), ((4, 8),))
    matrix = ConfusionMatrix(2)
    score_natively(matrix, logits, [0], native)
    assert matrix.compute().miou == 1.0


def test_native_masks_pack_mixed_sizes_as_views() -> None:
    from augmentlab.data.dataset import Sample, SegmentationDataset

    masks = {"a": torch.ones(3, 5, dtype=torch.int64), "b": torch.full((2, 2), 255, dtype=torch.int64)}
    samples = [Sample(name, None, name, 1) for name in masks]  # type: ignore[arg-type]  (masks only: no image is read)
    dataset = SegmentationDataset(samples, class_names=["bg", "x"], ignore_index=255, size=(4, 4), read_mask=masks.__getitem__, source_key="k")
    native = NativeMasks.build(dataset, "cpu")
    assert (native.flat.dtype, native.offsets, native.shapes, native.regions, native.nbytes) == (torch.uint8, (0, 15), ((3, 5), (2, 2)), ((4, 4), (4, 4)), 19)
    assert native.mask(0).tolist() == [[1] * 5] * 3 and native.mask(1).tolist() == [[255, 255], [255, 255]]
    assert native.mask(1).data_ptr() == native.flat.data_ptr() + 15  # a view, no copy
    fitted = NativeMasks.build(dataset.with_resize("fit"), "cpu")
    assert fitted.regions == ((2, 4), (4, 4))  # 3×5 fitted into 4×4: scale 0.8 → 2.4 ≈ 2 rows, 4 columns


@pytest.mark.parametrize(
    ("classes", "ignore_index", "labels", "dtype"),
    [(2, 255, [0, 1, 255], torch.uint8), (300, 255, [0, 299], torch.int16), (40000, 255, [39999], torch.int32), (2, 65535, [65535], torch.int32)],
)
def test_native_masks_take_the_narrowest_type_the_labels_allow(classes, ignore_index, labels, dtype) -> None:
    from augmentlab.data.dataset import Sample, SegmentationDataset

    masks = {"a": torch.tensor([labels], dtype=torch.int64)}
    dataset = SegmentationDataset([Sample("a", None, "a", 1)], class_names=[f"c{i}" for i in range(classes)], ignore_index=ignore_index,  # type: ignore[arg-type]
                                  size=(4, 4), read_mask=masks.__getitem__, source_key="k")
    native = NativeMasks.build(dataset, "cpu")
    assert native.flat.dtype == dtype and native.mask(0).tolist() == [labels]


def test_a_native_mask_with_a_label_that_is_no_class_is_refused_by_name() -> None:
    from augmentlab.data.dataset import Sample, SegmentationDataset

    masks = {"street.png": torch.tensor([[0, 1], [300, 1]], dtype=torch.int64)}
    dataset = SegmentationDataset([Sample("street.png", None, "street.png", 1)], class_names=["bg", "x"], ignore_index=255,  # type: ignore[arg-type]
                                  size=(4, 4), read_mask=masks.__getitem__, source_key="k")
    with pytest.raises(ValueError, match=r"^street.png: mask labels 0..300 are neither classes 0..1 nor the ignore index 255$"):
        NativeMasks.build(dataset, "cpu")
