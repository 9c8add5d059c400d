"""The shared warp primitives and the per-sample choice of the augmentation bases."""

import pytest
import torch
import torch.nn.functional as F

from augmentlab.augment.base import remap_images, remap_masks
from augmentlab.tensors import built_once, constant


def gather_reference(masks: torch.Tensor, grid: torch.Tensor, fill: int) -> torch.Tensor:
    """Nearest neighbour written as an index gather: pixel centres at (2i + 1) / size - 1, half to even."""
    batch, height, width = masks.shape
    column = torch.round(((grid[..., 0] + 1) * width - 1) / 2).long()
    row = torch.round(((grid[..., 1] + 1) * height - 1) / 2).long()
    inside = (column >= 0) & (column < width) & (row >= 0) & (row < height)
    index = row.clamp(0, height - 1) * width + column.clamp(0, width - 1)
    gathered = masks.reshape(batch, -1).gather(1, index.reshape(batch, -1)).view_as(index)
    return torch.where(inside, gathered, torch.full_like(gathered, fill))


@pytest.mark.parametrize("half_pixels", [False, True])
def test_remap_masks_equals_a_nearest_gather_and_fills_outside(device, half_pixels):
    generator = torch.Generator().manual_seed(0)
    masks = torch.randint(0, 12, (3, 17, 23), generator=generator)
    if half_pixels:  # positions exactly between two pixel centres, where rounding decides
        columns = torch.randint(-2, 2 * 23 + 2, (3, 19, 21), generator=generator).float() / 23 - 1
        rows = torch.randint(-2, 2 * 17 + 2, (3, 19, 21), generator=generator).float() / 17 - 1
        grid = torch.stack([columns, rows], -1)
    else:
        grid = torch.rand(3, 19, 21, 2, generator=generator) * 2.6 - 1.3
    expected = gather_reference(masks, grid, 255)
    assert (expected == 255).any() and (expected != 255).any()
    assert torch.equal(remap_masks(masks.to(device), grid.to(device), 255).cpu(), expected)


@pytest.mark.parametrize(("column", "expected"), [(-1.0, [255, 5]), (0.0, [5, 6]), (0.999, [6, 255])])
def test_remap_masks_by_hand(device, column, expected):
    masks = torch.tensor([[[5, 6]]], device=device)
    # Two samples at x = column and column + 1 pixel-widths (width 2 -> one pixel is 1.0 in grid units).
    grid = torch.tensor([[[[column - 0.5, 0.0], [column + 0.5, 0.0]]]], device=device)
    assert remap_masks(masks, grid, 255).tolist() == [[expected]]


def test_remap_images_is_grid_sample_bilinear_with_black_outside(device):
    images = torch.rand(2, 3, 8, 8, device=device)
    theta = torch.tensor([[0.8, 0.1, 0.2], [-0.1, 1.2, 0.0]], device=device).expand(2, 2, 3)
    grid = F.affine_grid(theta, (2, 3, 8, 8), align_corners=False)
    expected = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    assert torch.equal(remap_images(images, grid), expected)


def test_remap_masks_keeps_negative_and_large_labels(device):
    generator = torch.Generator().manual_seed(1)
    masks = torch.randint(-100, 70000, (2, 9, 11), generator=generator)
    grid = torch.rand(2, 9, 11, 2, generator=generator) * 2.4 - 1.2
    assert torch.equal(remap_masks(masks.to(device), grid.to(device), -7).cpu(), gather_reference(masks, grid, -7))


BUILT_IN = (
    "hflip vflip rot90 transpose affine elastic grid optical perspective crop motion_blur gaussian_blur gauss_noise clahe "
    "rgb_shift hsv channel_shuffle brightness contrast gamma rain snow fog sun_flare grid_dropout cutout cutmix copy_paste"
).split()


def test_the_list_covers_every_registered_augmentation():
    import augmentlab

    built_in = {name for name, info in augmentlab.available_augmentations().items() if info.provider == "augmentlab.augment"}
    assert built_in == set(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_samples_not_chosen_come_out_bit_identical(name, device):
    # Whether a transform selects after the fact or folds the choice into its parameters, the
    # samples that p did not pick leave exactly as they came, image and mask.
    import augmentlab
    from augmentlab.testing import label_coloured_batch

    augmentation = augmentlab.build_augmentation(f"{name}(p=0.5)").transforms[0]
    images, masks = label_coloured_batch(16, seed=1, device=device)
    torch.manual_seed(7)
    out_images, out_masks = augmentation(images, masks)
    torch.manual_seed(7)
    chosen = augmentation.draw_params(16, *images.shape[-2:], device)["chosen"]
    assert 0 < int(chosen.sum()) < 16
    assert torch.equal(out_images[~chosen], images[~chosen])
    assert torch.equal(out_masks[~chosen], masks[~chosen])


@pytest.mark.parametrize("values", [2.5, [1, 2.5], [[1.0, 0.0, 511.0], [0.0, -1.0, 3.0], [0.0, 0.0, 1.0]]])
def test_constants_are_made_on_the_device_with_their_values(values, device):
    made = constant(values, device)
    assert made.dtype == torch.float32 and made.device.type == device.type
    assert torch.equal(made.cpu(), torch.tensor(values, dtype=torch.float32))
    # The fill-and-stack path that CUDA takes, shape-checked where no GPU is at hand.
    assert constant(values, torch.device("meta")).shape == torch.tensor(values).shape


def test_each_caller_gets_its_own_constant(device):
    first = constant([1.0, 2.0], device)
    first.zero_()
    assert torch.equal(constant([1.0, 2.0], device).cpu(), torch.tensor([1.0, 2.0]))


def test_built_once_builds_each_tensor_once_and_its_tensors_serve_training_too(device):
    calls = []

    @built_once
    def ramp(size: int, on: torch.device) -> torch.Tensor:
        calls.append(size)
        return torch.arange(float(size), device=on)

    with torch.inference_mode():  # e.g. first built by validation
        first = ramp(3, device)
    assert ramp(3, device) is first and ramp(4, device) is not first
    assert calls == [3, 4]
    assert not first.is_inference()
    weight = torch.ones(3, device=device, requires_grad=True)
    (weight * first).sum().backward()  # an inference tensor cannot be saved for backward
    assert torch.equal(weight.grad.cpu(), torch.tensor([0.0, 1.0, 2.0]))
