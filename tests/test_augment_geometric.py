"""Geometric built-ins: hand-checked warps, the mask guarantees, parameters and their messages."""

from __future__ import annotations

import math

import pytest
import torch

import augmentlab
from augmentlab.augment.geometric.affine import ShiftScaleRotate
from augmentlab.augment.geometric.dihedral import RandomRotate90, Transpose
from augmentlab.augment.geometric.elastic import ElasticTransform, smoothing_matrix
from augmentlab.augment.geometric.grid_distortion import GridDistortion
from augmentlab.augment.geometric.optical_distortion import OpticalDistortion
from augmentlab.augment.geometric.perspective import RandomPerspective
from augmentlab.augment.geometric.resized_crop import RandomResizedCrop
from augmentlab.errors import SpecError
from augmentlab.testing import check_augmentation, label_coloured_batch

X = 255  # the ignore label in hand-written expected masks

GEOMETRIC = ("hflip", "vflip", "rot90", "transpose", "affine", "elastic", "grid", "optical", "perspective", "crop")
FILLING = ("rot90", "transpose", "affine", "elastic", "grid", "optical", "perspective")


def columns_mask(height: int, width: int, device: torch.device) -> torch.Tensor:
    """int64 [1,H,W] whose label is the column index, so a warped mask shows where each pixel came from."""
    return torch.arange(width, device=device).expand(1, height, width).contiguous()


def index_mask(height: int, width: int, device: torch.device) -> torch.Tensor:
    """int64 [1,H,W] whose label is the flat pixel index."""
    return torch.arange(height * width, device=device).view(1, height, width)


def as_images(masks: torch.Tensor) -> torch.Tensor:
    """float [B,3,H,W] carrying the mask values, to follow image and mask through the same warp."""
    return masks[:, None].float().expand(-1, 3, -1, -1).contiguous()


def warp_both(transform, masks: torch.Tensor, params: dict) -> tuple[torch.Tensor, torch.Tensor]:
    return transform.apply_transform(as_images(masks), masks, params)


# --- registrations ---------------------------------------------------------------------------------


def test_every_geometric_transform_is_registered_with_its_defaults():
    available = augmentlab.available_augmentations()
    assert {name: available[name].kind for name in GEOMETRIC} == dict.fromkeys(GEOMETRIC, "geometric")
    assert dict(available["elastic"].defaults) == {"alpha": 10.0, "sigma": 50.0, "fill_mask": "ignore", "p": 0.5}
    assert dict(available["affine"].defaults) == {"shift_limit": 0.0625, "scale_limit": 0.1, "rotate_limit": 45.0, "fill_mask": "ignore", "p": 0.5}
    assert dict(available["grid"].defaults) == {"num_steps": 5, "distort_limit": 0.3, "normalized": True, "fill_mask": "ignore", "p": 0.5}
    assert "fill_mask" not in available["crop"].defaults  # a crop never lacks a source
    assert all(available[name].accepts_ignore_index for name in FILLING)


def test_spec_strings_build_geometric_pipelines():
    pipeline = augmentlab.build_augmentation("elastic(alpha=2, sigma=40, p=0.5),grid(num_steps=3, normalized=false),crop(scale=[0.5, 1])")
    elastic, grid, crop = pipeline.transforms
    assert (elastic.alpha, elastic.sigma, elastic.p) == (2.0, 40.0, 0.5)
    assert (grid.num_steps, grid.normalized) == (3, False)
    assert crop.scale == (0.5, 1.0)


# --- the mask guarantees -------------------------------------------------------------------------

@pytest.mark.parametrize("name", GEOMETRIC)
def test_check_augmentation_passes(name, device):
    check_augmentation(name, device=device)


@pytest.mark.parametrize("name", FILLING)
def test_fill_mask_background_labels_exactly_the_sourceless_pixels_zero(name, device):
    images, masks = label_coloured_batch(8, seed=5, device=device)
    masks = torch.where(masks == X, 1, masks)  # no ignore in the input: every 255 out is sourceless
    outputs = {}
    for fill_mask in ("ignore", "background"):
        torch.manual_seed(7)
        transform = augmentlab.build_augmentation(f"{name}(p=1, fill_mask={fill_mask})")
        outputs[fill_mask] = transform(images, masks)
    ignored_images, ignored_masks = outputs["ignore"]
    background_images, background_masks = outputs["background"]
    assert torch.equal(background_images, ignored_images)
    assert torch.equal(background_masks, torch.where(ignored_masks == X, 0, ignored_masks))


@pytest.mark.parametrize("name", ("affine", "elastic", "perspective", "optical", "crop", "grid"))
def test_half_precision_images_warp_with_the_float32_grid(name, device):
    # The image is sampled in float32 and cast back, so it agrees with the float32 mask gather.
    images, masks = label_coloured_batch(4, seed=3, device=device)
    results = {}
    for dtype in (torch.float32, torch.bfloat16):
        torch.manual_seed(11)
        results[dtype] = augmentlab.build_augmentation(f"{name}(p=1)")(images.to(dtype), masks)
    assert results[torch.bfloat16][0].dtype == torch.bfloat16
    assert torch.equal(results[torch.bfloat16][1], results[torch.float32][1])
    assert torch.equal(results[torch.bfloat16][0], results[torch.float32][0].to(torch.bfloat16))


def test_warps_do_not_wait_on_the_host(device):
    if device.type != "cuda":
        pytest.skip("host synchronisation is only observable on CUDA")
    images, masks = label_coloured_batch(4, seed=3, device=device)
    pipeline = augmentlab.build_augmentation(",".join(f"{name}(p=0.5)" for name in GEOMETRIC))
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        pipeline(images, masks)
    finally:
        torch.cuda.set_sync_debug_mode("default")


# --- rot90 and transpose ------------------------------------------------------------------------

SQUARE = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


@pytest.mark.parametrize(
    "turns, expected",
    [
        (0, SQUARE),
        (1, [[2, 5, 8], [1, 4, 7], [0, 3, 6]]),
        (2, [[8, 7, 6], [5, 4, 3], [2, 1, 0]]),
        (3, [[6, 3, 0], [7, 4, 1], [8, 5, 2]]),
    ],
)
def test_rot90_turns_square_images_exactly(turns, expected, device):
    masks = index_mask(3, 3, device)
    images, out = warp_both(RandomRotate90(p=1), masks, {"quarter_turns": torch.tensor([turns], device=device)})
    assert out.tolist() == [expected]
    assert torch.equal(out, torch.rot90(masks, turns, (-2, -1)))
    torch.testing.assert_close(images, as_images(out), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "turns, expected",
    [
        # 2×4: the quarter turn keeps the centre 2×2 and uncovers a column on each side.
        (1, [[X, 2, 6, X], [X, 1, 5, X]]),
        (2, [[7, 6, 5, 4], [3, 2, 1, 0]]),
        (3, [[X, 5, 1, X], [X, 6, 2, X]]),
    ],
)
def test_rot90_turns_non_square_images_inside_the_same_canvas(turns, expected, device):
    out = warp_both(RandomRotate90(p=1), index_mask(2, 4, device), {"quarter_turns": torch.tensor([turns], device=device)})[1]
    assert out.tolist() == [expected]


def test_rot90_rounds_the_centre_down_when_height_plus_width_is_odd(device):
    out = warp_both(RandomRotate90(p=1), index_mask(2, 3, device), {"quarter_turns": torch.tensor([1], device=device)})[1]
    # Centre (1, 0.5): the turn's translation (1.5, -0.5) is rounded down to (1, -1).
    assert out.tolist() == [[[X, 1, 4], [X, 0, 3]]]


def test_rot90_draws_every_quarter_turn_including_none(device):
    turns = RandomRotate90().sample_params(256, 8, 8, device)["quarter_turns"]
    assert sorted(turns.unique().tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "height, width, expected",
    [
        (3, 3, [[0, 3, 6], [1, 4, 7], [2, 5, 8]]),
        (2, 4, [[X, 1, 5, X], [X, 2, 6, X]]),
        (4, 2, [[X, X], [2, 4], [3, 5], [X, X]]),
    ],
)
def test_transpose_swaps_rows_and_columns(height, width, expected, device):
    out = warp_both(Transpose(p=1), index_mask(height, width, device), {})[1]
    assert out.tolist() == [expected]


# --- affine ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "angle, scale, shift, expected_row",
    [
        (0.0, 1.0, (0.0, 0.0), [0, 1, 2, 3]),
        (0.0, 1.0, (1.0, 0.0), [X, 0, 1, 2]),  # one pixel right: the first column has no source
        (0.0, 2.0, (0.0, 0.0), [1, 1, 2, 2]),  # zoom ×2 about x = 1.5: sources 0.75, 1.25, 1.75, 2.25
        (0.0, 0.4, (0.0, 0.0), [X, 0, 3, X]),  # zoom ×0.4: sources -2.25, 0.25, 2.75, 5.25
    ],
)
def test_affine_maps_known_parameters_exactly(angle, scale, shift, expected_row, device):
    params = {"angle": torch.tensor([angle], device=device), "scale": torch.tensor([scale], device=device), "shift": torch.tensor([shift], device=device)}
    out = warp_both(ShiftScaleRotate(p=1), columns_mask(4, 4, device), params)[1]
    assert out[0, 1].tolist() == expected_row


@pytest.mark.parametrize(
    "shift, expected_row, expected_image_row",
    [
        (0.3, [0, 1, 2, 3], [1.0, 1.7, 2.7, 3.7]),  # column 0 samples x = -0.3: inside, full colour
        (0.7, [X, 0, 1, 2], [0.0, 1.3, 2.3, 3.3]),  # column 0 samples x = -0.7: no source, black
    ],
)
def test_warped_images_have_hard_edges_that_match_the_mask(shift, expected_row, expected_image_row, device):
    masks = columns_mask(4, 4, device)
    params = {"angle": torch.zeros(1, device=device), "scale": torch.ones(1, device=device), "shift": torch.tensor([[shift, 0.0]], device=device)}
    images, out = ShiftScaleRotate(p=1).apply_transform(as_images(masks) + 1, masks, params)
    assert out[0, 1].tolist() == expected_row
    torch.testing.assert_close(images[0, 0, 1], torch.tensor(expected_image_row, device=device), rtol=0, atol=1e-5)


def test_affine_quarter_turn_equals_rot90(device):
    masks = index_mask(5, 5, device)
    params = {"angle": torch.tensor([90.0], device=device), "scale": torch.ones(1, device=device), "shift": torch.zeros(1, 2, device=device)}
    assert torch.equal(warp_both(ShiftScaleRotate(p=1), masks, params)[1], torch.rot90(masks, 1, (-2, -1)))


def test_affine_draws_within_its_limits(device):
    params = ShiftScaleRotate(shift_limit=[0.1, 0.2], scale_limit=0.5, rotate_limit=[-10, 30]).sample_params(500, 40, 80, device)
    assert -10 <= params["angle"].min() and params["angle"].max() <= 30
    assert 0.5 <= params["scale"].min() and params["scale"].max() <= 1.5
    assert 8 <= params["shift"][:, 0].min() and params["shift"][:, 0].max() <= 16  # fractions of the width 80
    assert 4 <= params["shift"][:, 1].min() and params["shift"][:, 1].max() <= 8  # and of the height 40


# --- elastic --------------------------------------------------------------------------------------


def test_elastic_with_zero_alpha_is_the_identity(device):
    images, masks = label_coloured_batch(2, seed=0, device=device)
    transform = ElasticTransform(alpha=0, p=1)
    out_images, out_masks = transform.apply_transform(images, masks, transform.sample_params(2, 64, 96, device))
    assert torch.equal(out_masks, masks)
    torch.testing.assert_close(out_images, images, rtol=0, atol=1e-5)


def test_elastic_displacement_has_alpha_pixels_rms_and_sigma_smoothness(device):
    transform = ElasticTransform(alpha=3.0, sigma=8.0, p=1)
    height = width = 128
    grid = transform.sampling_grid(transform.sample_params(32, height, width, device), 32, height, width, device)
    identity = transform.sampling_grid({"displacement": torch.zeros(1, 2, 2, 2, device=device)}, 1, height, width, device)
    displacement = (grid - identity)[..., 0] * (width / 2)  # x component, in pixels
    variance = displacement.pow(2).mean()
    assert math.isclose(variance.sqrt().item(), 3.0, rel_tol=0.1)
    # Gaussian-smoothed white noise correlates as exp(-d² / 4σ²) at lag d: 0.78 at d = σ.
    correlation = (displacement[..., :-8] * displacement[..., 8:]).mean() / variance
    assert math.isclose(correlation.item(), math.exp(-0.25), abs_tol=0.05)


@pytest.mark.parametrize("size, sigma, nodes", [(512, 50.0, 22), (64, 50.0, 4), (8, 1.0, 8), (1, 50.0, 2)])
def test_elastic_smoothing_matrix_has_unit_rows_on_the_coarse_grid(size, sigma, nodes, device):
    matrix = smoothing_matrix(size, sigma, device)
    assert matrix.shape[0] == nodes
    torch.testing.assert_close(matrix.norm(dim=1), torch.ones(nodes, device=device))


# --- grid distortion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stretch, normalized, expected_row",
    [
        ([1.0, 1.0], True, [0, 1, 2, 3, 4]),
        # Two cells of 2 px with source lengths 3.2 and 0.8: sources 0, 1.6, 3.2, 3.6, 4.
        ([1.6, 0.4], True, [0, 2, 3, 4, 4]),
        # Not normalised, lengths 2.8 and 2.8: sources 0, 1.4, 2.8, 4.2, 5.6; past 4.5 there is no source.
        ([1.4, 1.4], False, [0, 1, 3, 4, X]),
    ],
)
def test_grid_distortion_maps_known_cells_exactly(stretch, normalized, expected_row, device):
    transform = GridDistortion(num_steps=2, normalized=normalized, p=1)
    params = {"stretch": torch.tensor([[stretch, [1.0, 1.0]]], device=device)}
    out = warp_both(transform, columns_mask(5, 5, device), params)[1]
    assert out[0, 2].tolist() == expected_row


def test_normalized_grid_distortion_keeps_the_border_pixels_in_place(device):
    # The fill label lies outside the mask's labels (0..383), so seeing it means a pixel lost its source.
    fill = 16 * 24
    transform = GridDistortion(p=1, ignore_index=fill)
    masks = index_mask(16, 24, device)
    out = warp_both(transform, masks, transform.sample_params(1, 16, 24, device))[1]
    assert out[0, 0, 0] == 0 and out[0, -1, -1] == 16 * 24 - 1
    assert not (out == fill).any()


# --- optical distortion ---------------------------------------------------------------------------


def test_optical_distortion_without_k_or_shift_is_the_identity(device):
    params = {"k": torch.zeros(1, device=device), "centre_shift": torch.zeros(1, 2, device=device)}
    masks = index_mask(4, 6, device)
    assert torch.equal(warp_both(OpticalDistortion(p=1), masks, params)[1], masks)


def test_optical_distortion_with_positive_k_empties_the_corners(device):
    # 4×4, k = 1: the corner offsets (±0.375, ±0.375) grow by 1 + r² + r⁴ = 1.36 to ±0.51 px
    # beyond the outer pixel centres, i.e. past the image edge; the others stay inside.
    params = {"k": torch.ones(1, device=device), "centre_shift": torch.zeros(1, 2, device=device)}
    out = warp_both(OpticalDistortion(p=1), index_mask(4, 4, device), params)[1]
    assert out.tolist() == [[[X, 1, 2, X], [4, 5, 6, 7], [8, 9, 10, 11], [X, 13, 14, X]]]


# --- perspective ----------------------------------------------------------------------------------


def test_perspective_with_equal_corner_moves_shrinks_about_the_centre(device):
    # 8×8, every corner moves a quarter of the size inwards, to (2, 2) ... (5, 5): output
    # pixels 2..5 sample sources (p - 2) * 7 / 3 = 0, 2.33, 4.67, 7; the rest lack a source.
    params = {"corner_moves": torch.full((1, 4, 2), 0.5, device=device)}
    out = warp_both(RandomPerspective(p=1), columns_mask(8, 8, device), params)[1]
    assert out[0, 3].tolist() == [X, X, 0, 2, 5, 7, X, X]
    assert out[0, 0].tolist() == [X] * 8


def test_perspective_without_corner_moves_is_the_identity(device):
    masks = index_mask(6, 9, device)
    assert torch.equal(warp_both(RandomPerspective(p=1), masks, {"corner_moves": torch.zeros(1, 4, 2, device=device)})[1], masks)


# --- crop -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "box, expected_row, expected_image_row",
    [
        ((0.0, 0.0, 4.0, 4.0), [0, 1, 2, 3], [0.0, 1.0, 2.0, 3.0]),  # the whole image
        # The top-left quarter: sources -0.25, 0.25, 0.75, 1.25; the image clamps -0.25 onto pixel 0.
        ((0.0, 0.0, 2.0, 2.0), [0, 0, 1, 1], [0.0, 0.25, 0.75, 1.25]),
        ((2.0, 2.0, 2.0, 2.0), [2, 2, 3, 3], [1.75, 2.25, 2.75, 3.0]),
    ],
)
def test_crop_resizes_a_known_box_exactly(box, expected_row, expected_image_row, device):
    images, out = warp_both(RandomResizedCrop(p=1), columns_mask(4, 4, device), {"box": torch.tensor([box], device=device)})
    assert out[0, 0].tolist() == expected_row
    torch.testing.assert_close(images[0, 0, 0], torch.tensor(expected_image_row, device=device), rtol=0, atol=1e-5)


def test_crop_boxes_fit_the_image_and_the_scale_and_ratio_ranges(device):
    crop = RandomResizedCrop(scale=(0.2, 0.6), ratio=(0.5, 2.0))
    left, top, width, height = crop.sample_params(1000, 60, 80, device)["box"].unbind(-1)
    assert (left >= 0).all() and (top >= 0).all() and (left + width <= 80 + 1e-3).all() and (top + height <= 60 + 1e-3).all()
    area = width * height / (60 * 80)
    assert (area >= 0.2 - 1e-4).all() and (area <= 0.6 + 1e-4).all()
    assert ((width / height >= 0.5 - 1e-4) & (width / height <= 2.0 + 1e-4)).all()


def test_crop_falls_back_to_the_centred_box_of_the_nearest_ratio(device):
    # On a square image a 3:1 to 4:1 box of ≥ 90% of the area never fits.
    left, top, width, height = RandomResizedCrop(scale=(0.9, 1.0), ratio=(3.0, 4.0)).sample_params(4, 30, 30, device)["box"].unbind(-1)
    assert width.tolist() == [30.0] * 4 and height.tolist() == [10.0] * 4
    assert left.tolist() == [0.0] * 4 and top.tolist() == [10.0] * 4


# --- parameter errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, kwargs, message",
    [
        (ElasticTransform, {"sigma": -1}, "sigma must be a number > 0, got -1"),
        (ElasticTransform, {"alpha": -2}, "alpha must be a number ≥ 0, got -2"),
        (ElasticTransform, {"alpha": "big"}, "alpha must be a number ≥ 0, got 'big'"),
        (ShiftScaleRotate, {"scale_limit": 1}, "scale_limit must be a number in [0, 1), got 1"),
        (ShiftScaleRotate, {"rotate_limit": (50, 10)}, "rotate_limit must satisfy -360 ≤ low ≤ high ≤ 360, got (50, 10)"),
        (ShiftScaleRotate, {"shift_limit": "x"}, "shift_limit must be a number or a pair [low, high] of numbers, got 'x'"),
        (ShiftScaleRotate, {"shift_limit": (0.1,)}, "shift_limit must be a number or a pair [low, high] of numbers, got (0.1,)"),
        (GridDistortion, {"num_steps": 0}, "num_steps must be an integer ≥ 1, got 0"),
        (GridDistortion, {"distort_limit": (-1, 0.3)}, "distort_limit must satisfy -1 < low ≤ high ≤ 1, got (-1, 0.3)"),
        (GridDistortion, {"normalized": 1}, "normalized must be true or false, got 1"),
        (OpticalDistortion, {"distort_limit": 2}, "distort_limit must be a number in [0, 1], got 2"),
        (RandomPerspective, {"distortion_scale": 1}, "distortion_scale must be a number in [0, 1), got 1"),
        (RandomResizedCrop, {"scale": (0, 1)}, "scale must satisfy 0 < low ≤ high ≤ 1, got (0, 1)"),
        (RandomResizedCrop, {"scale": 0.5}, "scale must be a pair [low, high] of numbers, got 0.5; write [v, v] for a fixed value"),
        (RandomResizedCrop, {"ratio": (2, 1)}, "ratio must satisfy 0 < low ≤ high, got (2, 1)"),
        (RandomRotate90, {"fill_mask": "zero"}, "fill_mask must be 'ignore' or 'background', got 'zero'"),
        (Transpose, {"p": 2}, "p must be a number in [0, 1], got 2"),
    ],
)
def test_bad_parameters_are_rejected_with_an_actionable_message(factory, kwargs, message):
    with pytest.raises(ValueError) as error:
        factory(**kwargs)
    assert str(error.value) == message


def test_bad_parameter_in_a_spec_names_the_term():
    with pytest.raises(SpecError, match=r"elastic\(sigma=-1\): sigma must be a number > 0, got -1"):
        augmentlab.build_augmentation("hflip,elastic(sigma=-1)")








# --- fused warps ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "spec, stages",
    [
        ("hflip,rot90,affine,elastic,brightness,grid", [["HorizontalFlip", "RandomRotate90", "ShiftScaleRotate", "ElasticTransform"], ["Brightness"], ["GridDistortion"]]),
        # Flips alone flip by indexing; beside a warp they join it, whatever its fill.
        ("hflip,vflip,brightness", [["HorizontalFlip"], ["VerticalFlip"], ["Brightness"]]),
        ("affine,hflip,elastic(fill_mask=background)", [["ShiftScaleRotate", "HorizontalFlip"], ["ElasticTransform"]]),
        ("elastic(fill_mask=background),vflip,grid(fill_mask=background)", [["ElasticTransform", "VerticalFlip", "GridDistortion"]]),
        ("hflip(p=0),rot90", [["HorizontalFlip"], ["RandomRotate90"]]),
        ("affine,grid(p=0),elastic", [["ShiftScaleRotate"], ["GridDistortion"], ["ElasticTransform"]]),
        ("affine,elastic(fill_mask=background),grid(fill_mask=background)", [["ShiftScaleRotate"], ["ElasticTransform", "GridDistortion"]]),
        ("elastic", [["ElasticTransform"]]),
        # A crop leaves no pixel without a source, so it has no fill of its own and joins either.
        ("affine,crop,elastic(fill_mask=background)", [["ShiftScaleRotate", "RandomResizedCrop"], ["ElasticTransform"]]),
        ("elastic(fill_mask=background),crop,grid(fill_mask=background)", [["ElasticTransform", "RandomResizedCrop", "GridDistortion"]]),
        ("crop,hflip", [["RandomResizedCrop", "HorizontalFlip"]]),
    ],
)
def test_consecutive_warps_of_one_fill_run_as_one_stage(spec, stages):
    pipeline = augmentlab.build_augmentation(spec)
    assert [[type(transform).__name__ for transform in stage] for stage in pipeline.stages] == stages


@pytest.mark.parametrize("ignore_index", [255, 254, 0])
def test_a_crop_fuses_whatever_the_ignore_index(ignore_index):
    # The crop took the default fill 255 whatever the dataset's ignore index, which split the stage
    # and rounded the mask once more per split.
    pipeline = augmentlab.build_augmentation("affine(p=1),crop(p=1),elastic(p=1)", ignore_index)
    assert [len(stage) for stage in pipeline.stages] == [3]


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_fused_dihedral_warps_equal_the_warps_one_at_a_time(p, device):
    # Quarter turns and transposes are permutations, so composing them loses nothing: the fused
    # result equals the sequential one exactly, including which samples each transform chose.
    pipeline = augmentlab.build_augmentation(f"hflip(p={p}),rot90(p={p}),vflip(p={p}),transpose(p={p})")
    assert len(pipeline.stages) == 1
    masks = index_mask(12, 12, device).repeat(8, 1, 1)
    images = as_images(masks)
    torch.manual_seed(3)
    fused = pipeline(images, masks)
    torch.manual_seed(3)
    sequential = (images, masks)
    for transform in pipeline.transforms:
        sequential = transform(*sequential)
    assert torch.equal(fused[1], sequential[1])
    assert torch.allclose(fused[0], sequential[0])


@pytest.mark.parametrize("spec", ["affine(p=0.5),elastic(p=0.5),grid(p=0.5)", "hflip(p=0.5),vflip(p=0.5),rot90(p=0.5),affine(p=0.5),elastic(p=0.5),grid(p=0.5)", "elastic(p=1),rot90(p=1),optical(p=1)", "grid(p=1),affine(p=1),perspective(p=1)"])
def test_fused_warps_match_the_warps_one_at_a_time(spec, device):
    # Composed maps agree with the warps one at a time up to the sequential path's rounding: the
    # same samples are chosen, the same pixels lose their source (up to rounding at every step),
    # and kept pixels come from the same source pixel or a neighbour (each sequential step rounds
    # by up to half a pixel, and a later zoom can stretch that to two).
    fill = 24 * 32
    pipeline = augmentlab.build_augmentation(spec, ignore_index=fill)
    assert len(pipeline.stages) == 1
    masks = index_mask(24, 32, device).repeat(6, 1, 1)
    torch.manual_seed(5)
    fused = pipeline(as_images(masks), masks)
    torch.manual_seed(5)
    sequential = (as_images(masks), masks)
    for transform in pipeline.transforms:
        sequential = transform(*sequential)
    assert ((fused[1] == fill) != (sequential[1] == fill)).float().mean().item() < 0.02
    kept = (fused[1] != fill) & (sequential[1] != fill)
    rows, columns = (fused[1] // 32 - sequential[1] // 32)[kept], (fused[1] % 32 - sequential[1] % 32)[kept]
    near = (rows.abs() <= 1) & (columns.abs() <= 1)
    assert near.float().mean().item() > 0.99
    assert int(rows.abs().max()) <= 2 and int(columns.abs().max()) <= 2


def test_fused_maps_lose_what_left_an_intermediate_frame(device):
    # Shifting by a quarter (4 columns, 2 rows) and back composes to the identity matrix, but the
    # last 4 columns and 2 rows left the frame in between: they stay without a source, exactly
    # as when the warps run one at a time.
    from augmentlab.augment.geometric.fusion import fused_warp

    right = ShiftScaleRotate(shift_limit=(0.25, 0.25), scale_limit=0.0, rotate_limit=0.0, p=1.0, ignore_index=99)
    left = ShiftScaleRotate(shift_limit=(-0.25, -0.25), scale_limit=0.0, rotate_limit=0.0, p=1.0, ignore_index=99)
    masks = (torch.arange(16, device=device) % 10).expand(2, 8, 16).contiguous()
    images, warped = fused_warp([right, left], as_images(masks), masks)
    expected = masks.clone()
    expected[:, 6:] = 99
    expected[:, :, 12:] = 99
    assert torch.equal(warped, expected)
    assert torch.equal(warped, sequential_warps([right, left], masks)[1])
    assert torch.equal(images[:, 0], torch.where(expected == 99, 0, expected).float())


def sequential_warps(transforms, masks):
    result = (as_images(masks), masks)
    for transform in transforms:
        result = transform(*result)
    return result


def test_a_fused_stage_does_not_wait_on_the_host(device):
    if device.type != "cuda":
        pytest.skip("host synchronisation is only observable on CUDA")
    pipeline = augmentlab.build_augmentation("hflip,vflip,rot90,affine,elastic,grid,optical,perspective,crop,brightness,contrast")
    images = torch.rand(4, 3, 64, 96, device=device)
    masks = torch.zeros(4, 64, 96, dtype=torch.long, device=device)
    pipeline(images, masks)  # the first call may initialise lazily
    torch.cuda.set_sync_debug_mode("error")
    try:
        pipeline(images, masks)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_a_fused_stage_reads_no_value_back_to_the_host():
    # The same pipeline on the meta device, whose tensors hold no values: any read of one on the
    # host (.item(), an if on a tensor, x[mask]) raises there, so this shows it without a GPU.
    pipeline = augmentlab.build_augmentation("hflip,vflip,rot90,affine,elastic,grid,optical,perspective,crop,brightness,contrast")
    meta = torch.device("meta")
    images, masks = pipeline(torch.zeros(4, 3, 64, 96, device=meta), torch.zeros(4, 64, 96, dtype=torch.long, device=meta))
    assert images.shape == (4, 3, 64, 96) and masks.shape == (4, 64, 96) and masks.dtype == torch.long


def test_fused_warps_keep_the_mask_exact(device):
    fill = 24 * 32  # beyond every label of the index mask, so a fill is never mistaken for a pixel
    pipeline = augmentlab.build_augmentation("affine(p=1),elastic(p=1),grid(p=1),perspective(p=1)", ignore_index=fill)
    masks = index_mask(24, 32, device).repeat(4, 1, 1)
    torch.manual_seed(0)
    images, warped = pipeline(as_images(masks), masks)
    torch.manual_seed(0)
    sequential = (as_images(masks), masks)
    for transform in pipeline.transforms:
        sequential = transform(*sequential)
    assert bool(((warped >= 0) & (warped <= fill)).all())
    # A pixel without a source is black and ignored, and the same pixels lose their source as
    # one warp at a time (up to the rounding the sequential path does at every step).
    assert torch.equal(images[:, 0][warped == fill], torch.zeros_like(images[:, 0][warped == fill]))
    assert (warped == fill).float().mean().item() == pytest.approx((sequential[1] == fill).float().mean().item(), abs=0.01)
