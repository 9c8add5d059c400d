"""The plugin's own tests: the host's checks of its augmentation and its loss, plus the math of its loss."""

import pytest
import torch
import torch.nn.functional as F

import augmentlab
from augmentlab.testing import check_augmentation, check_loss


def test_registered_through_the_entry_point():
    assert augmentlab.available_augmentations()["solarize"].provider == "example"
    assert augmentlab.available_losses()["poly"].provider == "example"


def test_solarize_keeps_every_mask_guarantee():
    check_augmentation("solarize")


def test_solarize_inverts_above_threshold_and_keeps_the_mask():
    solarize = augmentlab.build_augmentation("solarize(threshold=[0.5, 0.5], p=1)")
    images = torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1)
    masks = torch.tensor([[[7]]])
    out_images, out_masks = solarize(images, masks)
    assert torch.allclose(out_images.flatten(), torch.tensor([0.2, 0.5, 0.1]))
    assert torch.equal(out_masks, masks)


@pytest.mark.parametrize("spec", ["poly", "poly(epsilon=2)", "poly(epsilon=-0.5)"])
def test_poly_follows_every_loss_rule(spec):
    check_loss(spec)


def test_poly_with_epsilon_zero_is_cross_entropy():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 4, 5, 5), torch.randint(0, 4, (2, 5, 5))
    loss = augmentlab.build_loss("poly(epsilon=0)", num_classes=4)
    assert torch.allclose(loss(logits, target), F.cross_entropy(logits, target))


def test_poly_adds_epsilon_times_one_minus_pt():
    logits = torch.zeros(1, 2, 1, 1)  # p_t = 0.5 for either class
    target = torch.zeros(1, 1, 1, dtype=torch.long)
    loss = augmentlab.build_loss("poly(epsilon=2)", num_classes=2)
    assert loss(logits, target).item() == pytest.approx(-torch.log(torch.tensor(0.5)).item() + 2 * 0.5)


def test_poly_rejects_epsilon_below_minus_one():
    with pytest.raises(augmentlab.SpecError, match=r"epsilon must be a number ≥ -1, got -2"):
        augmentlab.build_loss("poly(epsilon=-2)", num_classes=2)


def test_solarize_rejects_a_threshold_outside_zero_one():
    with pytest.raises(augmentlab.SpecError, match=r"threshold must satisfy 0 ≤ low ≤ high ≤ 1, got \(0.9, 0.1\)"):
        augmentlab.build_augmentation("solarize(threshold=[0.9, 0.1])")
