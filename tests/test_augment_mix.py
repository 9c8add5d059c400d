"""Mix and dropout built-ins: grid_dropout, cutout, cutmix, copy_paste.

Exact cases apply a transform with hand-written parameters to tiny tensors; statistical cases
check the parameter draws; every transform also passes ``check_augmentation``.
"""

from __future__ import annotations

import pytest
import torch

import augmentlab
from augmentlab.augment.mix.copy_paste import CopyPaste
from augmentlab.augment.mix.cutmix import CutMix
from augmentlab.augment.mix.cutout import Cutout
from augmentlab.augment.mix.grid_dropout import GridDropout
from augmentlab.augment.params import random_partners, uniform_integers
from augmentlab.testing import check_augmentation, label_coloured_batch

MIX_NAMES = ("grid_dropout", "cutout", "cutmix", "copy_paste")
I = 255  # ignore label, for readable hand-written masks


def _batch(masks: list, device: torch.device, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose three channels all hold ``(label + 1) / 256`` (exact in bf16), and the masks."""
    masks = torch.tensor(masks, device=device)
    images = ((masks + 1).float() / 256).to(dtype)[:, None].expand(-1, 3, -1, -1).contiguous()
    return images, masks


def _params(device: torch.device, **values: list) -> dict[str, torch.Tensor]:
    return {name: torch.tensor(value, device=device) for name, value in values.items()}


# --- registration -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "defaults"),
    [
        ("grid_dropout", {"ratio": 0.5, "unit_size_range": None, "random_offset": True, "fill_mask": "ignore", "p": 0.5}),
        ("cutout", {"num_holes_range": (1, 2), "hole_height_range": (0.1, 0.2), "hole_width_range": (0.1, 0.2), "fill_mask": "ignore", "p": 0.5}),
        ("cutmix", {"alpha": 1.0, "p": 0.5}),
        ("copy_paste", {"max_label": 255, "p": 0.5}),
    ],
)
def test_registered_as_mix_with_documented_defaults(name, defaults):
    info = augmentlab.available_augmentations()[name]
    assert (info.kind, info.provider, dict(info.defaults), info.accepts_ignore_index) == ("mix", "augmentlab.augment", defaults, True)
    assert info.doc


# --- mask guarantees ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", MIX_NAMES)
def test_passes_check_augmentation(name, device):
    check_augmentation(name, device=device)


@pytest.mark.parametrize(("name", "spec"), [("grid_dropout", "grid_dropout(p=1)"), ("cutout", "cutout(p=1)")])
def test_dropouts_draw_their_holes_per_sample(name, spec, device):
    images, masks = label_coloured_batch(1, device=device)
    torch.manual_seed(0)
    _, out_masks = augmentlab.build_augmentation(spec)(images.expand(16, -1, -1, -1), masks.expand(16, -1, -1))
    holes = out_masks == I
    assert len({tuple(sample.flatten().tolist()) for sample in holes}) > 8


@pytest.mark.parametrize("name", MIX_NAMES)
def test_runs_without_waiting_on_the_host(name, device):
    if device.type != "cuda":
        pytest.skip("host syncs are detected on CUDA only")
    images, masks = label_coloured_batch(8, device=device)
    augmentation = augmentlab.build_augmentation(f"{name}(p=0.5)")
    augmentation(images, masks)  # first call: lazy CUDA initialisation may sync
    torch.cuda.set_sync_debug_mode("error")
    try:
        augmentation(images, masks)
    finally:
        torch.cuda.set_sync_debug_mode("default")


# --- grid_dropout -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("unit", "hole", "offset", "expected"),
    [
        # unit 4×4, hole 2×2 at the unit's start
        ([[4, 4]], [[2, 2]], [[0, 0]], [[I, I, 1, 1, I, I, 1, 1], [I, I, 1, 1, I, I, 1, 1], [1] * 8, [1] * 8, [I, I, 1, 1, I, I, 1, 1], [I, I, 1, 1, I, I, 1, 1]]),
        # offset 1 row, 2 columns: the grid repeats from there, the last unit is cut by the border
        ([[4, 4]], [[2, 2]], [[1, 2]], [[1] * 8, [1, 1, I, I, 1, 1, I, I], [1, 1, I, I, 1, 1, I, I], [1] * 8, [1] * 8, [1, 1, I, I, 1, 1, I, I]]),
        # non-square unit 3×5 with a 1×3 hole
        ([[3, 5]], [[1, 3]], [[2, 1]], [[1] * 8, [1] * 8, [1, I, I, I, 1, 1, I, I], [1] * 8, [1] * 8, [1, I, I, I, 1, 1, I, I]]),
    ],
)
def test_grid_dropout_holes_with_known_params(unit, hole, offset, expected, device):
    images, masks = _batch([[[1] * 8] * 6], device)
    params = _params(device, unit=unit, hole=hole, offset=offset, chosen=[True])
    out_images, out_masks = GridDropout(p=1.0).apply_transform(images, masks, params)
    expected = torch.tensor([expected], device=device)
    assert torch.equal(out_masks, expected)
    assert torch.equal(out_images, torch.where((expected == I)[:, None], 0.0, images))


@pytest.mark.parametrize(
    ("kwargs", "size", "unit", "hole"),
    [
        ({}, (64, 96), [6, 9], [3, 4]),  # albumentations' default unit: side // 10 per axis
        ({}, (12, 15), [2, 2], [1, 1]),  # ... but at least 2
        ({"ratio": 1.0, "unit_size_range": (8, 8)}, (32, 32), [8, 8], [7, 7]),  # a hole never fills its unit
        ({"ratio": 0.01, "unit_size_range": (8, 8)}, (32, 32), [8, 8], [1, 1]),  # nor vanishes
        ({"ratio": 0.3, "unit_size_range": (10, 10)}, (32, 48), [10, 10], [3, 3]),
    ],
)
def test_grid_dropout_unit_and_hole_sizes(kwargs, size, unit, hole, device):
    params = GridDropout(**kwargs).sample_params(5, *size, device)
    assert params["unit"].tolist() == [unit] * 5
    assert params["hole"].tolist() == [hole] * 5


def test_grid_dropout_draws_unit_and_offset_per_sample_within_range(device):
    torch.manual_seed(0)
    params = GridDropout(ratio=0.5, unit_size_range=(4, 7)).sample_params(2000, 64, 64, device)
    unit, hole, offset = params["unit"], params["hole"], params["offset"]
    assert torch.equal(unit[:, 0], unit[:, 1])
    assert set(unit[:, 0].tolist()) == {4, 5, 6, 7}
    assert bool((offset >= 0).all()) and bool((offset <= unit - hole).all())
    assert bool(((offset == 0) & (unit - hole > 0)).any()) and bool((offset == unit - hole).any())
    assert not GridDropout(random_offset=False).sample_params(4, 64, 64, device)["offset"].any()


def test_grid_dropout_is_deterministic_without_random_offset_and_keeps_dtype(device):
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    images, masks = _batch([[[3] * 4] * 4], device, dtype)
    out_images, out_masks = augmentlab.build_augmentation("grid_dropout(unit_size_range=[2, 2], random_offset=false, fill_mask=background, p=1)")(images, masks)
    expected = torch.tensor([[[0, 3, 0, 3], [3, 3, 3, 3]] * 2], device=device)
    assert torch.equal(out_masks, expected)
    assert out_images.dtype == dtype and torch.equal(out_images == 0, (expected == 0)[:, None].expand(-1, 3, -1, -1))


def test_grid_dropout_rejects_a_unit_larger_than_the_image(device):
    images, masks = _batch([[[1] * 8] * 6], device)
    with pytest.raises(ValueError, match=r"unit_size_range \[4, 7\] must not exceed the image's shorter side 6"):
        GridDropout(unit_size_range=(4, 7))(images, masks)


# --- cutout -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("holes", "expected"),
    [
        # one 2×3 hole at row 1, column 2; the second hole is inactive (length 0)
        ({"top": [[1, 0]], "height": [[2, 0]], "left": [[2, 0]], "width": [[3, 0]]}, [[1] * 6, [1, 1, I, I, I, 1], [1, 1, I, I, I, 1], [1] * 6]),
        # two overlapping holes: their union is dropped
        ({"top": [[0, 1]], "height": [[2, 3]], "left": [[0, 1]], "width": [[2, 1]]}, [[I, I, 1, 1, 1, 1], [I, I, 1, 1, 1, 1], [1, I, 1, 1, 1, 1], [1, I, 1, 1, 1, 1]]),
        # a hole as large as the image
        ({"top": [[0]], "height": [[4]], "left": [[0]], "width": [[6]]}, [[I] * 6] * 4),
    ],
)
def test_cutout_holes_with_known_params(holes, expected, device):
    images, masks = _batch([[[1] * 6] * 4], device)
    out_images, out_masks = Cutout(p=1.0).apply_transform(images, masks, _params(device, **holes, chosen=[True]))
    expected = torch.tensor([expected], device=device)
    assert torch.equal(out_masks, expected)
    assert torch.equal(out_images, torch.where((expected == I)[:, None], 0.0, images))


@pytest.mark.parametrize("transform", [GridDropout(), Cutout()])
def test_dropouts_leave_unchosen_samples_untouched_by_themselves(transform, device):
    images, masks = _batch([[[1] * 16] * 12] * 2, device)
    torch.manual_seed(0)
    params = {**transform.sample_params(2, 12, 16, device), "chosen": torch.tensor([True, False], device=device)}
    out_images, out_masks = transform.apply_transform(images, masks, params)
    assert transform.selects_samples
    assert (out_masks[0] == I).any()
    assert torch.equal(out_masks[1], masks[1]) and torch.equal(out_images[1], images[1])


def test_cutout_draws_hole_count_and_sizes_within_range(device):
    torch.manual_seed(0)
    params = Cutout(num_holes_range=(2, 4), hole_height_range=(0.25, 0.5), hole_width_range=(0.1, 0.2)).sample_params(3000, 40, 100, device)
    count = (params["height"] > 0).sum(1)
    assert set(count.tolist()) == {2, 3, 4}
    assert torch.equal(params["height"] > 0, params["width"] > 0)
    active = params["height"] > 0
    # floor(fraction · side), as albumentations: the upper fraction is approached, not reached
    assert set(params["height"][active].tolist()) == set(range(10, 20))
    assert set(params["width"][active].tolist()) == set(range(10, 20))
    assert bool((params["top"] + params["height"] <= 40).all()) and bool((params["left"] + params["width"] <= 100).all())
    assert bool((params["top"] == 0).any()) and bool((params["top"] + params["height"] == 40).any())


def test_cutout_holes_are_at_least_one_pixel(device):
    params = Cutout(hole_height_range=(0.01, 0.01), hole_width_range=(0.01, 0.01)).sample_params(8, 10, 10, device)
    assert bool((params["height"][:, 0] == 1).all()) and bool((params["width"][:, 0] == 1).all())


# --- cutmix -------------------------------------------------------------------------------------

def test_cutmix_pastes_the_partners_box_with_known_params(device):
    images, masks = _batch([[[1] * 4] * 3, [[2] * 4] * 3, [[3, I, 3, 3]] * 3], device)
    params = _params(device, partner=[2, 0, 1], start=[[1, 1], [0, 0], [0, 0]], length=[[2, 2], [3, 4], [0, 4]])
    out_images, out_masks = CutMix(p=1.0).apply_transform(images, masks, params)
    expected = torch.tensor(
        [
            [[1, 1, 1, 1], [1, I, 3, 1], [1, I, 3, 1]],  # a 2×2 box from sample 2, its ignore label included
            [[1, 1, 1, 1]] * 3,  # the whole image from sample 0
            [[3, I, 3, 3]] * 3,  # an empty box leaves the sample as it was
        ],
        device=device,
    )
    assert torch.equal(out_masks, expected)
    assert torch.equal(out_images, _batch(expected.tolist(), device)[0])


def test_cutmix_box_follows_the_beta_draw(device):
    # A huge alpha pins λ near 1/2: box sides are sqrt(1/2) of the image's, ±22 pixels around the centre at 64×96.
    torch.manual_seed(0)
    params = CutMix(alpha=1e6).sample_params(500, 64, 96, device)
    start, end = params["start"], params["start"] + params["length"]
    size = torch.tensor([64, 96], device=device)
    assert bool((start >= 0).all()) and bool((end <= size).all())
    full = torch.tensor([22 * 2, 33 * 2], device=device)
    clipped = (start == 0) | (end == size)
    assert bool(((params["length"] == full) | clipped).all())
    assert bool((params["length"] == full).all(1).any())


def test_cutmix_pasted_share_averages_half_before_clipping_with_alpha_one(device):
    # λ ~ U(0, 1) gives unclipped boxes of mean area 1/2; clipping and flooring only shrink them.
    torch.manual_seed(0)
    params = CutMix(alpha=1.0).sample_params(4000, 100, 100, device)
    share = (params["length"].prod(1) / 10000).mean().item()
    assert 0.2 < share < 0.5


@pytest.mark.parametrize("transform", [CutMix(p=1.0), CopyPaste(p=1.0)], ids=["cutmix", "copy_paste"])
def test_a_batch_of_one_is_left_unchanged(transform, device):
    images, masks = _batch([[[1, 2, 3], [4, 5, I]]], device)
    torch.manual_seed(0)
    out_images, out_masks = transform(images, masks)
    assert torch.equal(out_images, images) and torch.equal(out_masks, masks)


def test_partners_are_uniform_over_the_other_samples(device):
    torch.manual_seed(0)
    partners = torch.stack([random_partners(4, device) for _ in range(3000)])
    assert not bool((partners == torch.arange(4, device=device)).any())
    share = torch.stack([(partners == k).float().mean(0) for k in range(4)])  # share[k, i]: how often i picks k
    expected = torch.full((4, 4), 1 / 3, device=device).fill_diagonal_(0.0)
    assert torch.allclose(share, expected, atol=0.04)
    assert random_partners(1, device).tolist() == [0]


def test_uniform_integers_reach_both_ends_and_nothing_else(device):
    torch.manual_seed(0)
    drawn = uniform_integers(torch.full((5000,), -2, device=device), torch.full((5000,), 3, device=device))
    assert set(drawn.tolist()) == set(range(-2, 4))


# --- copy_paste ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("masks", "race", "expected"),
    [
        # sample 0 gets class 2 from sample 1 (its only candidate); sample 1's partner has none: unchanged
        ([[[0, 0, 0], [0, 0, 0]], [[2, 0, I], [2, 2, 0]]], None, [[[2, 0, 0], [2, 2, 0]], [[2, 0, I], [2, 2, 0]]]),
        # both candidates 1 and 3 present: the race picks the larger weight/Exp ratio; class 3 wins here
        ([[[0, 0, 0], [0, 0, 0]], [[1, 1, 3], [1, 0, 3]]], [3.0, 0.5], [[[0, 0, 3], [0, 0, 3]], [[1, 1, 3], [1, 0, 3]]]),
        # the same masks with a race that favours class 1
        ([[[0, 0, 0], [0, 0, 0]], [[1, 1, 3], [1, 0, 3]]], [0.01, 5.0], [[[1, 1, 0], [1, 0, 0]], [[1, 1, 3], [1, 0, 3]]]),
        # a label above max_label=4 is never a candidate; pasting covers the receiver's labels, ignore included
        ([[[0, I, 0], [0, 0, 0]], [[7, 4, 7], [0, 0, 0]]], None, [[[0, 4, 0], [0, 0, 0]], [[7, 4, 7], [0, 0, 0]]]),
        # sample 0's partner offers only a label above max_label and ignore: unchanged; sample 1 receives class 1 everywhere
        ([[[1, 1, 1], [1, 1, 1]], [[7, I, 7], [0, 0, 0]]], None, [[[1, 1, 1], [1, 1, 1]], [[1, 1, 1], [1, 1, 1]]]),
    ],
)
def test_copy_paste_with_known_params(masks, race, expected, device):
    images, masks = _batch(masks, device)
    bins = torch.ones(2, 5, device=device)
    if race is not None:
        bins[0, 1], bins[0, 3] = race
    params = {"partner": torch.tensor([1, 0], device=device), "race": bins}
    out_images, out_masks = CopyPaste(max_label=4, p=1.0).apply_transform(images, masks, params)
    assert torch.equal(out_masks, torch.tensor(expected, device=device))
    assert torch.equal(out_images, _batch(expected, device)[0])


def test_copy_paste_counts_only_pastable_labels(device):
    masks = torch.tensor([[[0, 1, 1, I], [3, 9, 1, 0]]], device=device)
    assert CopyPaste(max_label=4).class_counts(masks).tolist() == [[0, 3, 0, 1, 0]]
    assert CopyPaste(max_label=4, ignore_index=3).class_counts(masks).tolist() == [[0, 3, 0, 0, 0]]
    negative_ignore = masks.masked_fill(masks == I, -1)  # below 1: cleared with background
    assert CopyPaste(max_label=9, ignore_index=-1).class_counts(negative_ignore).tolist() == [[0, 3, 0, 1, 0, 0, 0, 0, 0, 1]]


def test_copy_paste_prefers_rare_classes(device):
    # Batch counts: class 1 has 3 pixels, class 2 has 1, so sample 0 should receive class 2 with
    # probability (1/1) / (1/3 + 1/1) = 3/4.
    images, masks = _batch([[[0, 0, 0, 0]], [[1, 1, 1, 2]]], device)
    transform = CopyPaste(p=1.0)
    torch.manual_seed(0)
    received = torch.stack([transform(images, masks)[1][0, 0, 3] for _ in range(2000)])
    assert abs((received == 2).float().mean().item() - 0.75) < 0.04
    assert set(received.tolist()) == {0, 2}  # class 1 was pasted the other times, not at this pixel


# --- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("grid_dropout(ratio=0)", r"ratio must be a number in \(0, 1\], got 0"),
        ("grid_dropout(ratio=1.5)", r"ratio must be a number in \(0, 1\], got 1.5"),
        ("grid_dropout(unit_size_range=[1, 4])", r"unit_size_range must satisfy 2 ≤ low ≤ high, got \(1, 4\)"),
        ("grid_dropout(unit_size_range=[8, 4])", r"unit_size_range must satisfy 2 ≤ low ≤ high, got \(8, 4\)"),
        ("grid_dropout(unit_size_range=[2.5, 4])", r"unit_size_range must be a pair \[low, high\] of integers, got \(2.5, 4\)"),
        ("grid_dropout(random_offset=1)", r"random_offset must be true or false, got 1"),
        ("grid_dropout(fill_mask=zero)", r"fill_mask must be 'ignore' or 'background', got 'zero'"),
        ("grid_dropout(p=2)", r"p must be a number in \[0, 1\], got 2"),
        ("cutout(num_holes_range=[0, 2])", r"num_holes_range must satisfy 1 ≤ low ≤ high, got \(0, 2\)"),
        ("cutout(num_holes_range=3)", r"num_holes_range must be a pair \[low, high\] of integers, got 3; write \[v, v\] for a fixed value"),
        ("cutout(hole_height_range=[0, 0.2])", r"hole_height_range must satisfy 0 < low ≤ high ≤ 1, got \(0, 0.2\)"),
        ("cutout(hole_width_range=[0.2, 1.5])", r"hole_width_range must satisfy 0 < low ≤ high ≤ 1, got \(0.2, 1.5\)"),
        ("cutmix(alpha=0)", r"alpha must be a number > 0, got 0"),
        ("cutmix(alpha=-1)", r"alpha must be a number > 0, got -1"),
        ("copy_paste(max_label=0)", r"max_label must be an integer ≥ 1, got 0"),
        ("copy_paste(max_label=2.5)", r"max_label must be an integer ≥ 1, got 2.5"),
    ],
)
def test_bad_parameters_are_rejected_with_an_actionable_message(spec, message):
    with pytest.raises(augmentlab.SpecError, match=message):
        augmentlab.build_augmentation(spec)


def test_unknown_fill_mask_parameter_is_not_offered_where_nothing_is_dropped():
    with pytest.raises(augmentlab.SpecError, match="fill_mask"):
        augmentlab.build_augmentation("cutmix(fill_mask=background)")




