"""Photometric built-ins: mask guarantees, exact values on hand-written tensors, and parameter errors."""

from __future__ import annotations

import math

import pytest
import torch
from kornia.color import hls_to_rgb, hsv_to_rgb, rgb_to_hls, rgb_to_hsv
from kornia.enhance import equalize_clahe

import augmentlab
from augmentlab.augment.photometric import REGISTRATIONS
from augmentlab.augment.photometric.blur import motion_kernels
from augmentlab.augment.photometric.clahe import luma
from augmentlab.augment.photometric.hsv import shift_hsv
from augmentlab.augment.photometric.rain import (
    box_blur_of_counts,
    drop_offsets,
    rain_streaks,
)
from augmentlab.testing import check_augmentation

NAMES = "motion_blur gaussian_blur gauss_noise clahe rgb_shift hsv channel_shuffle brightness contrast gamma rain snow fog sun_flare".split()

# The check images are 64×96 with label colours of HLS lightness ≥ 0.5: snow's default threshold
# (0.38–0.48) leaves them alone, and CLAHE's 8×12-pixel default tiles are too small for the clip
# limit to make a difference. These settings make both effects visible there.
CHECK_PARAMS = {"snow": {"threshold": [0.5, 0.6]}, "clahe": {"grid_size": [2, 2]}}


def run(spec: str, images: torch.Tensor) -> torch.Tensor:
    masks = torch.zeros(images.shape[0], *images.shape[2:], dtype=torch.long, device=images.device)
    out_images, out_masks = augmentlab.build_augmentation(spec)(images, masks)
    assert torch.equal(out_masks, masks)
    return out_images


def pixels(*rgb: tuple[float, float, float], device: torch.device) -> torch.Tensor:
    """A batch of one image, 1 pixel high, one pixel per colour: float [1,3,1,N]."""
    return torch.tensor(rgb, device=device).T.reshape(1, 3, 1, len(rgb))


def test_the_family_is_registered_as_photometric_with_p_and_a_description():
    available = augmentlab.available_augmentations()
    assert [registration.name for registration in REGISTRATIONS] == NAMES
    for name in NAMES:
        info = available[name]
        assert (info.kind, info.provider) == ("photometric", "augmentlab.augment")
        assert info.defaults["p"] == 0.5
        assert info.doc.endswith("."), info.doc  # the first docstring line, a sentence


@pytest.mark.parametrize("name", NAMES)
def test_mask_guarantees(name, device):
    check_augmentation(name, device=device, params=CHECK_PARAMS.get(name))


def test_no_transform_waits_on_the_host(device):
    if device.type != "cuda":
        pytest.skip("host synchronisation is only observable on CUDA")
    images = torch.rand(4, 3, 64, 96, device=device)
    masks = torch.zeros(4, 64, 96, dtype=torch.long, device=device)
    waiting = []
    for name in NAMES:
        augmentation = augmentlab.build_augmentation(f"{name}(p=0.5)")
        augmentation(images, masks)  # the first call may initialise lazily
        torch.cuda.set_sync_debug_mode("error")
        try:
            augmentation(images, masks)
        except RuntimeError:
            waiting.append(name)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert not waiting, f"these wait on the host: {waiting}"


@pytest.mark.parametrize(
    ("spec", "before", "after"),
    [
        ("brightness(shift=[0.1, 0.1], p=1)", [(0.2, 0.5, 0.95)], [(0.3, 0.6, 1.0)]),
        ("brightness(shift=[-0.3, -0.3], p=1)", [(0.2, 0.5, 0.95)], [(0.0, 0.2, 0.65)]),
        ("contrast(gain=[1.5, 1.5], p=1)", [(0.2, 0.5, 0.9)], [(0.3, 0.75, 1.0)]),
        ("gamma(gamma=[2, 2], p=1)", [(0.2, 0.5, 0.9)], [(0.04, 0.25, 0.81)]),
        ("rgb_shift(r_shift=[0.1, 0.1], g_shift=[-0.2, -0.2], b_shift=[0, 0], p=1)", [(0.5, 0.1, 0.7)], [(0.6, 0.0, 0.7)]),
        # A third of a turn takes red to green and green to blue.
        ("hsv(hue_shift=[0.3333333, 0.3333333], sat_shift=[0, 0], val_shift=[0, 0], p=1)", [(1, 0, 0), (0, 0.5, 0)], [(0, 1, 0), (0, 0, 0.5)]),
        ("hsv(hue_shift=[0, 0], sat_shift=[-1, -1], val_shift=[0, 0], p=1)", [(0.8, 0.2, 0.4)], [(0.8, 0.8, 0.8)]),
        ("hsv(hue_shift=[0, 0], sat_shift=[0, 0], val_shift=[0.2, 0.2], p=1)", [(0.5, 0.25, 0.0)], [(0.7, 0.35, 0.0)]),
        # Grey has no hue: a saturation shift leaves it grey, as in albumentations.
        ("hsv(hue_shift=[0.2, 0.2], sat_shift=[0.5, 0.5], val_shift=[0, 0], p=1)", [(0.4, 0.4, 0.4)], [(0.4, 0.4, 0.4)]),
        # HLS lightness 0.2 → 0.4 keeps hue and HLS saturation; lightness 0.6 is above the threshold.
        ("snow(threshold=[0.5, 0.5], brightness=2, p=1)", [(0.3, 0.1, 0.1), (0.2, 0.2, 0.2), (0.7, 0.5, 0.5)], [(0.6, 0.2, 0.2), (0.4, 0.4, 0.4), (0.7, 0.5, 0.5)]),
        ("fog(intensity=[1, 1], opacity=0.5, texture=0, color=[1, 1, 1], p=1)", [(0.2, 0.6, 1.0)], [(0.6, 0.8, 1.0)]),
        ("fog(intensity=[0.5, 0.5], opacity=1, texture=0, color=[0, 0, 0], p=1)", [(0.2, 0.6, 1.0)], [(0.1, 0.3, 0.5)]),
        ("rain(drops_per_row=[0, 0], brightness=0.5, p=1)", [(0.2, 0.6, 1.0)], [(0.1, 0.3, 0.5)]),
        ("gauss_noise(std=[0, 0], p=1)", [(0.2, 0.6, 1.0)], [(0.2, 0.6, 1.0)]),
        ("sun_flare(src_opacity=[0, 0], num_circles=[0, 0], p=1)", [(0.2, 0.6, 1.0)], [(0.2, 0.6, 1.0)]),
    ],
)
def test_exact_values(spec, before, after, device):
    out = run(spec, pixels(*before, device=device))
    assert torch.allclose(out, pixels(*after, device=device), atol=1e-6), out.flatten(2).T


def test_hsv_matches_a_round_trip_through_kornia_hsv(device):
    torch.manual_seed(0)
    images = torch.rand(4, 3, 16, 16, device=device)
    images[0, :, :4] = 0.5
    hue, saturation, value = (torch.empty(4, 1, 1, 1, device=device).uniform_(-limit, limit) for limit in (0.5, 0.3, 0.3))
    h, s, v = rgb_to_hsv(images).split(1, dim=1)
    shifted = torch.cat([(h + 2 * math.pi * hue) % (2 * math.pi), torch.where(s > 0, (s + saturation).clamp(0, 1), 0), (v + value).clamp(0, 1)], 1)
    assert torch.allclose(shift_hsv(images, hue, saturation, value), hsv_to_rgb(shifted), atol=1e-5)


def test_snow_matches_an_hls_round_trip(device):
    torch.manual_seed(1)
    images = torch.rand(2, 3, 16, 16, device=device)
    out = run("snow(threshold=[0.45, 0.45], brightness=2.5, p=1)", images)
    h, l, s = rgb_to_hls(images).split(1, dim=1)
    expected = hls_to_rgb(torch.cat([h, torch.where(l < 0.45, (l * 2.5).clamp(max=1), l), s], 1))
    assert torch.allclose(out, expected, atol=1e-5)


def test_clahe_equalises_the_luma_and_keeps_the_chroma(device):
    torch.manual_seed(2)
    images = torch.rand(2, 3, 32, 48, device=device) * 0.5 + 0.25
    out = run("clahe(clip_limit=[2, 2], grid_size=[4, 4], p=1)", images)
    brightness = luma(images)
    expected = (images + equalize_clahe(brightness, 2.0, (4, 4)) - brightness).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-5)
    inside = ((expected > 0) & (expected < 1)).all(1)
    assert torch.allclose((out - luma(out))[:, :, inside[0]], (images - brightness)[:, :, inside[0]], atol=1e-5)


@pytest.mark.parametrize(
    ("size", "angle", "direction", "row", "expected"),
    [
        (3, 0.0, 0.0, 3, [0, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0]),  # both ways along the row through the centre
        (5, 180.0, 0.0, 3, [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0]),
        (3, 0.0, 1.0, 3, [0, 0, 0, 0.5, 0.5, 0, 0]),  # forward only: three taps over half the length
        (3, 0.0, -1.0, 3, [0, 0, 0.5, 0.5, 0, 0, 0]),
        (7, 0.0, 0.0, 3, [1 / 7] * 7),
    ],
)
def test_motion_kernels(size, angle, direction, row, expected, device):
    kernel = motion_kernels(torch.tensor([size], device=device), torch.tensor([angle], device=device), torch.tensor([direction], device=device), 7)[0]
    assert torch.allclose(kernel[row], torch.tensor(expected, device=device), atol=1e-6)
    assert kernel.sum().item() == pytest.approx(1.0)
    assert torch.allclose(kernel.sum(), kernel[row].sum())


def test_motion_kernel_at_90_degrees_is_the_column():
    horizontal = motion_kernels(torch.tensor([5]), torch.tensor([0.0]), torch.tensor([0.3]), 7)
    vertical = motion_kernels(torch.tensor([5]), torch.tensor([90.0]), torch.tensor([0.3]), 7)
    # Counter-clockwise as displayed: "forward" at 90° points up, to lower row indices.
    assert torch.allclose(vertical[0], horizontal[0].T.flip(0), atol=1e-6)


def test_motion_blur_spreads_an_impulse_along_its_kernel(device):
    images = torch.zeros(1, 3, 9, 9, device=device)
    images[:, :, 4, 4] = 1.0
    out = run("motion_blur(kernel_size=[3, 3], angle=[0, 0], direction=[1, 1], p=1)", images)
    # Correlation with kernel [0, ½, ½] (centre and right) moves the impulse to its left neighbour too.
    expected = torch.zeros_like(images)
    expected[:, :, 4, 3:5] = 0.5
    assert torch.allclose(out, expected, atol=1e-6)


def test_gaussian_blur_impulse_response_is_the_sampled_gaussian(device):
    images = torch.zeros(1, 3, 15, 15, device=device)
    images[:, :, 7, 7] = 1.0
    out = run("gaussian_blur(sigma=[1, 1], p=1)", images)
    offsets = torch.arange(-3, 4, dtype=torch.float32, device=device)
    gaussian = torch.exp(-(offsets**2) / 2)
    gaussian = gaussian / gaussian.sum()
    assert torch.allclose(out[0, :, 4:11, 4:11], (gaussian[:, None] * gaussian[None]).expand(3, -1, -1), atol=1e-6)
    assert out[0, :, :4].abs().max() == 0


@pytest.mark.parametrize(
    ("top", "slope", "expected"),
    [
        (2, 0.0, [(2, 5), (3, 5), (4, 5), (5, 5)]),  # straight down from (row 2, column 5), 4 rows
        (2, 1.0, [(2, 5), (3, 6), (4, 7), (5, 8)]),  # 45°: one column per row
        (0, -0.5, [(0, 5), (1, 5), (2, 4), (3, 3)]),  # half a column per row to the left, rounded half to even
    ],
)
def test_rain_streaks_are_straight_drops(top, slope, expected, device):
    slope = torch.tensor([slope, 0.0], device=device)
    drops = rain_streaks(
        top=torch.tensor([[top, 8], [0, 0]], device=device),
        left=torch.tensor([[5, 1], [0, 0]], device=device),
        used=torch.tensor([[True, False], [False, False]], device=device),
        offsets=drop_offsets(slope, 4),
        height=12,
        width=12,
    )
    assert sorted(map(tuple, drops[0, 0].nonzero().tolist())) == expected
    assert not drops[1].any()


@pytest.mark.parametrize("slant", [[40, 40], [-40, -40], [60, 60]])
def test_rain_drops_stay_inside_the_image(slant, device):
    torch.manual_seed(0)
    rain = augmentlab.build_augmentation(f"rain(drops_per_row=[2, 2], drop_length=0.5, slant={slant}, p=1)").transforms[0]
    params = rain.sample_params(8, 20, 12, device)
    offsets = drop_offsets(params["slope"], 10)
    columns = params["left"][..., None] + offsets[:, None]
    assert int(columns.min()) >= 0 and int(columns.max()) <= 11
    assert int((params["top"] + 10).max()) <= 20


def test_box_blur_of_counts_is_the_zero_padded_window_mean(device):
    layer = (torch.rand(2, 1, 20, 30, device=device) > 0.8).float()
    expected = torch.nn.functional.avg_pool2d(layer, 7, stride=1, padding=3, count_include_pad=True)
    assert torch.allclose(box_blur_of_counts(layer, 7), expected, atol=1e-6)


def test_rain_draws_the_drawn_number_of_drops(device):
    images = torch.zeros(1, 3, 64, 64, device=device)
    out = run("rain(drops_per_row=[0.05, 0.05], drop_length=0.25, slant=[0, 0], blur=1, drop_color=[1, 1, 1], brightness=1, p=1)", images)
    wet = out[0, 0] > 0
    assert torch.equal(out[0, 0], out[0, 1]) and torch.equal(out[0, 0], out[0, 2])
    # floor(0.05 · 64) = 3 vertical drops of 16 rows; two may share a column and overlap.
    assert 1 <= int(wet.any(0).sum()) <= 3 and int(wet.sum()) <= 48
    assert int(wet.sum(0)[wet.any(0)].min()) >= 16


def test_channel_shuffle_permutes_channels_per_sample(device):
    torch.manual_seed(0)
    images = torch.tensor([0.1, 0.5, 0.9], device=device).view(1, 3, 1, 1).expand(64, 3, 2, 2).contiguous()
    out = run("channel_shuffle(p=1)", images)
    orders = {tuple(sample[:, 0, 0].tolist()) for sample in out.cpu()}
    assert all(sorted(order) == pytest.approx([0.1, 0.5, 0.9]) for order in orders)
    assert len(orders) == 6


@pytest.mark.parametrize("per_channel", [True, False])
def test_gauss_noise_has_the_drawn_spread(per_channel, device):
    torch.manual_seed(0)
    images = torch.full((4, 3, 64, 64), 0.5, device=device)
    out = run(f"gauss_noise(std=[0.05, 0.05], per_channel={str(per_channel).lower()}, p=1)", images)
    assert (out - images).std().item() == pytest.approx(0.05, rel=0.05)
    assert torch.equal(out[:, 0], out[:, 1]) is not per_channel


def test_fog_haze_stays_within_its_opacity(device):
    torch.manual_seed(0)
    images = torch.zeros(4, 3, 64, 96, device=device)
    out = run("fog(intensity=[1, 1], opacity=0.8, texture=1, p=1)", images)
    assert out.max().item() <= 0.8 + 1e-6 and out.std().item() > 0.05


def test_sun_flare_is_brightest_at_the_sun(device):
    images = torch.zeros(2, 3, 64, 64, device=device)
    out = run("sun_flare(flare_roi=[0.5, 0.5, 0.5, 0.5], src_radius=[0.5, 0.5], src_opacity=[0.99, 0.99], num_circles=[0, 0], p=1)", images)
    assert torch.allclose(out[:, :, 30:34, 30:34], torch.ones_like(out[:, :, 30:34, 30:34]), atol=0.05)
    assert out[:, :, 0, 0].max().item() == 0 and out[:, :, 32, 50].max().item() < out[:, :, 32, 40].max().item()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gaussian_blur(sigma=[-1, 2])", "sigma must satisfy 0 < low ≤ high, got (-1, 2)"),
        ("gauss_noise(std=0.1)", "std must be a pair [low, high] of numbers, got 0.1; write [v, v] for a fixed value"),
        ("gauss_noise(per_channel=1)", "per_channel must be true or false, got 1"),
        ("motion_blur(kernel_size=[4, 7])", "kernel_size must be a pair [low, high] of odd integers, got (4, 7)"),
        ("motion_blur(kernel_size=[7, 3])", "kernel_size must satisfy 3 ≤ low ≤ high, got (7, 3)"),
        ("motion_blur(direction=[-2, 1])", "direction must satisfy -1 ≤ low ≤ high ≤ 1, got (-2, 1)"),
        ("brightness(shift=[0.3, -0.3])", "shift must satisfy -1 ≤ low ≤ high ≤ 1, got (0.3, -0.3)"),
        ("contrast(gain=[-1, 1])", "gain must satisfy 0 ≤ low ≤ high, got (-1, 1)"),
        ("gamma(gamma=[0, 1])", "gamma must satisfy 0 < low ≤ high, got (0, 1)"),
        ("hsv(hue_shift=[-2, 0])", "hue_shift must satisfy -1 ≤ low ≤ high ≤ 1, got (-2, 0)"),
        ("clahe(grid_size=[0, 8])", "grid_size must be a pair of integers ≥ 1, got (0, 8)"),
        ("clahe(clip_limit=[1])", "clip_limit must be a pair [low, high] of numbers, got (1,)"),
        ("rain(blur=4)", "blur must be an odd integer ≥ 1, got 4"),
        ("rain(slant=[-70, 10])", "slant must satisfy -60 ≤ low ≤ high ≤ 60, got (-70, 10)"),
        ("rain(drop_color=[200, 200, 200])", "drop_color must be an RGB colour [r, g, b] with values in [0, 1], got (200, 200, 200); divide 0–255 values by 255"),
        ("snow(brightness=0.5)", "brightness must be a number ≥ 1, got 0.5"),
        ("fog(color=[1, 1])", "color must be an RGB colour [r, g, b] with values in [0, 1], got (1, 1)"),
        ("fog(patch_size=0)", "patch_size must be a number > 0, got 0"),
        ("sun_flare(flare_roi=[0, 0, 1])", "flare_roi must be [x_min, y_min, x_max, y_max], got (0, 0, 1)"),
        ("sun_flare(num_circles=[2.5, 4])", "num_circles must be a pair [low, high] of integers, got (2.5, 4)"),
        ("sun_flare(src_opacity=[0.5, 1])", "src_opacity must satisfy 0 ≤ low ≤ high ≤ 0.99, got (0.5, 1)"),
        ("channel_shuffle(p=2)", "p must be a number in [0, 1], got 2"),
    ],
)
def test_bad_parameters_are_explained(spec, message):
    with pytest.raises(augmentlab.SpecError) as error:
        augmentlab.build_augmentation(spec)
    assert message in str(error.value)



