"""Rules every built-in loss follows: ignored pixels change nothing, empty batches give a finite
0 with a gradient, gradients stay finite, and low-precision logits are computed in float32."""

from __future__ import annotations

import pytest
import torch

import augmentlab
from augmentlab.testing import check_loss

IGNORE = 255
NUM_CLASSES = 4

# Every built-in, with non-default parameters where they change the code path.
SPECS = [
    "ce",
    "ce(weight=[1, 2, 0.5, 3], label_smoothing=0.1)",
    "ce(weight=auto)",
    "focal",
    "focal(gamma=0.5, alpha=[0.25, 1, 1, 2])",
    "dice",
    "dice(smooth=1)",
    "jaccard",
    "tversky",
    "tversky(gamma=0.75, smooth=1)",
    "lovasz",
    "lovasz(per_image=true)",
    "ohem",
    "ohem(thresh=none, min_kept=5)",
    "ohem(thresh=0.5, min_kept=3)",
    "ce0.8+focal(gamma=2)0.2",
]


def build(spec: str, device: torch.device) -> torch.nn.Module:
    return augmentlab.build_loss(spec, num_classes=NUM_CLASSES, class_frequencies=[40, 30, 20, 10]).to(device)


def random_batch(seed: int, shape: tuple[int, int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded logits float32 [B,C,H,W] and fully labelled target int64 [B,H,W]."""
    generator = torch.Generator().manual_seed(seed)
    batch, height, width = shape
    logits = 3 * torch.randn(batch, NUM_CLASSES, height, width, generator=generator)
    target = torch.randint(0, NUM_CLASSES, shape, generator=generator)
    return logits.to(device), target.to(device)


def test_every_builtin_is_registered():
    assert {"ce", "focal", "dice", "jaccard", "lovasz", "tversky", "ohem"} <= set(augmentlab.available_losses())


@pytest.mark.parametrize("spec", SPECS)
def test_ignored_border_is_the_same_as_cropping_it(spec, device):
    logits, target = random_batch(0, (2, 5, 9), device)
    padded_logits = torch.cat([logits, 50 * torch.randn(2, NUM_CLASSES, 5, 3, device=device)], dim=3)
    padded_target = torch.cat([target, torch.full((2, 5, 3), IGNORE, device=device)], dim=2)
    loss = build(spec, device)
    assert loss(padded_logits, padded_target).item() == pytest.approx(loss(logits, target).item(), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("spec", SPECS)
def test_ignored_pixels_anywhere_are_the_same_as_cropping_them(spec, device):
    # Every loss is invariant to reordering the pixels of an image, so moving each image's
    # ignored pixels (the same count per image) to the end of a row and cropping that end
    # gives the batch without them.
    logits, target = random_batch(1, (3, 6, 6), device)
    generator = torch.Generator().manual_seed(2)
    ignored_per_image = 10
    kept_logits, kept_target = [], []
    for b in range(3):
        order = torch.randperm(36, generator=generator).to(device)
        target.view(3, -1)[b, order[:ignored_per_image]] = IGNORE
        kept = order[ignored_per_image:]
        kept_logits.append(logits[b].flatten(1)[:, kept])
        kept_target.append(target[b].flatten()[kept])
    cropped_logits = torch.stack(kept_logits).unsqueeze(2)  # [B,C,1,26]
    cropped_target = torch.stack(kept_target).unsqueeze(1)  # [B,1,26]
    loss = build(spec, device)
    assert loss(logits, target).item() == pytest.approx(loss(cropped_logits, cropped_target).item(), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("spec", SPECS)
def test_a_fully_ignored_image_is_the_same_as_leaving_it_out(spec, device):
    logits, target = random_batch(3, (3, 5, 5), device)
    target[1] = IGNORE
    loss = build(spec, device)
    without = loss(logits[[0, 2]], target[[0, 2]])
    assert loss(logits, target).item() == pytest.approx(without.item(), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("spec", SPECS)
def test_an_all_ignore_batch_gives_zero_with_a_gradient(spec, device):
    logits = torch.randn(2, NUM_CLASSES, 4, 4, device=device, requires_grad=True)
    target = torch.full((2, 4, 4), IGNORE, device=device)
    value = build(spec, device)(logits, target)
    assert value.item() == 0.0
    assert value.requires_grad
    value.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("spec", SPECS)
def test_a_batch_missing_classes_is_finite(spec, device):
    logits, target = random_batch(4, (2, 5, 5), device)
    target = target % 2  # only classes 0 and 1
    logits.requires_grad_(True)
    value = build(spec, device)(logits, target)
    value.backward()
    assert torch.isfinite(value) and value.item() > 0
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("margin", [1e-3, 30.0, 1e4])
def test_gradients_are_finite_from_uncertain_to_saturated_logits(spec, margin, device):
    # Half the pixels predicted right and half wrong, at the given logit margin; with 1e4 the
    # softmax is exactly one-hot in float32.
    _, target = random_batch(5, (2, 4, 4), device)
    predicted = torch.where(torch.arange(16, device=device).view(1, 4, 4) % 2 == 0, target, (target + 1) % NUM_CLASSES)
    logits = margin * torch.nn.functional.one_hot(predicted, NUM_CLASSES).permute(0, 3, 1, 2).float()
    logits.requires_grad_(True)
    value = build(spec, device)(logits, target)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("spec", ["focal(gamma=0.5)", "tversky(gamma=0.5)", "dice", "lovasz"])
def test_perfect_saturated_predictions_have_zero_loss_and_finite_gradient(spec, device):
    _, target = random_batch(6, (2, 4, 4), device)
    logits = 1e4 * torch.nn.functional.one_hot(target, NUM_CLASSES).permute(0, 3, 1, 2).float()
    logits.requires_grad_(True)
    value = build(spec, device)(logits, target)
    value.backward()
    assert value.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isfinite(logits.grad).all()


LOW_PRECISION = [torch.bfloat16, torch.float16]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("dtype", LOW_PRECISION, ids=str)
def test_low_precision_logits_under_autocast_are_computed_in_float32(spec, dtype, device):
    features, target = random_batch(7, (2, 4, 4), device)
    projection = torch.eye(NUM_CLASSES, device=device, requires_grad=True)
    loss = build(spec, device)
    with torch.autocast(device_type=device.type, dtype=dtype):
        logits = torch.einsum("bchw,cd->bdhw", features, projection)  # autocast runs this in `dtype`
        value = loss(logits, target)
    assert logits.dtype == dtype
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(loss(logits.float(), target).item(), rel=1e-6, abs=1e-7)
    value.backward()
    assert torch.isfinite(projection.grad).all()


@pytest.mark.parametrize(
    ("logits_shape", "target_shape", "target_dtype", "message"),
    [
        ((2, 3, 4, 4), (2, 4, 4), torch.int64, r"logits must be \[B,4,H,W\], got \(2, 3, 4, 4\)"),
        ((2, 4, 16), (2, 16), torch.int64, r"logits must be \[B,4,H,W\], got \(2, 4, 16\)"),
        ((2, 4, 4, 4), (2, 4, 5), torch.int64, r"target must be int64 \[B,H,W\] = \(2, 4, 4\), got \(2, 4, 5\) torch.int64"),
        ((2, 4, 4, 4), (2, 4, 4), torch.uint8, r"target must be int64 \[B,H,W\] = \(2, 4, 4\), got \(2, 4, 4\) torch.uint8"),
    ],
)
@pytest.mark.parametrize("spec", ["dice", "lovasz", "ohem"])
def test_bad_input_shapes_are_one_line_errors(spec, logits_shape, target_shape, target_dtype, message, device):
    loss = build(spec, device)
    logits = torch.zeros(logits_shape, device=device)
    target = torch.zeros(target_shape, dtype=target_dtype, device=device)
    with pytest.raises(ValueError, match=f"^{message}$"):
        loss(logits, target)


@pytest.mark.parametrize("spec", SPECS)
def test_a_loss_reads_no_value_back_to_the_host(spec):
    # On the meta device tensors have shapes and no values, so .item(), an `if` on a tensor,
    # .tolist() and value-dependent shapes (x[mask]) raise: forward and backward run there only
    # if the loss never makes a GPU step wait on the host. Shown without a GPU.
    meta = torch.device("meta")
    logits = torch.zeros(2, NUM_CLASSES, 16, 16, device=meta, requires_grad=True)
    target = torch.zeros(2, 16, 16, dtype=torch.int64, device=meta)
    loss = build(spec, meta)(logits, target)
    loss.backward()
    assert loss.shape == () and logits.grad.shape == logits.shape


@pytest.mark.parametrize("spec", SPECS)
def test_every_builtin_passes_the_plugin_authors_loss_check(spec, device):
    check_loss(spec, device=device)  # the check plugin authors run is the rules above: no built-in may fail it
