"""The stock transforms the benches compare against: which built-ins have one, and that each builds at p=1 and runs."""

import pytest
import torch

import augmentlab
from augmentlab.diagnostics.equivalents import (
    ALBUMENTATIONS_EQUIVALENTS,
    KORNIA_EQUIVALENTS,
)

KORNIA_NAMES = {
    "hflip", "vflip", "rot90", "affine", "elastic", "perspective", "crop",
    "motion_blur", "gaussian_blur", "gauss_noise", "clahe", "rgb_shift", "hsv", "channel_shuffle", "brightness", "contrast", "gamma", "rain", "snow",
    "cutout", "cutmix", "copy_paste",
}
WITHOUT_ALBUMENTATIONS = {"cutmix", "copy_paste"}  # albumentations mixes no samples of a batch


def builtin_kind(name: str) -> str:
    return augmentlab.available_augmentations()[name].kind


def test_the_tables_name_exactly_these_built_ins():
    builtins = {name for name, info in augmentlab.available_augmentations().items() if info.provider == "augmentlab.augment"}
    assert set(KORNIA_EQUIVALENTS) == KORNIA_NAMES
    assert set(ALBUMENTATIONS_EQUIVALENTS) == builtins - WITHOUT_ALBUMENTATIONS


@pytest.mark.parametrize("name", sorted(KORNIA_NAMES))
def test_each_kornia_equivalent_builds_at_p_1_and_runs(name, device):
    module = KORNIA_EQUIVALENTS[name]().to(device)
    assert module.p == 1.0 or module.p_batch == 1.0
    images = torch.rand(2, 3, 96, 96, device=device)
    masks = torch.randint(0, 4, (2, 96, 96), device=device)
    out = module(images, masks) if name == "copy_paste" else module(images)
    out_images = out[0] if isinstance(out, (list, tuple)) else out
    if builtin_kind(name) == "geometric":
        assert out_images.shape[:2] == (2, 3)  # crops resize to the reference 512×512
    else:
        assert out_images.shape == images.shape


@pytest.mark.parametrize("name", sorted(ALBUMENTATIONS_EQUIVALENTS))
def test_each_albumentations_equivalent_builds_at_p_1_and_runs_on_an_image_and_mask(name):
    albumentations = pytest.importorskip("albumentations")
    np = pytest.importorskip("numpy")
    image = np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    mask = np.ones((96, 96), dtype=np.uint8)
    transform = ALBUMENTATIONS_EQUIVALENTS[name]()
    assert isinstance(transform, albumentations.BasicTransform) and transform.p == 1.0
    out = transform(image=image, mask=mask)
    assert out["image"].ndim == 3 and out["mask"].ndim == 2
