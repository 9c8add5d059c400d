"""The public API: building from specs, with errors that name the valid choices."""

import pytest
import torch
import torch.nn.functional as F

import augmentlab
from augmentlab.errors import SpecError
from augmentlab.testing import check_augmentation


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hflp", "in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip' or 'vflip'? `augmentlab plugins` lists all"),
        ("hflip,zzz", "in spec 'hflip,zzz' (at column 7): unknown augmentation 'zzz'; `augmentlab plugins` lists all"),
        ("ce", "in spec 'ce' (at column 1): 'ce' is a loss, not an augmentation; pass it with loss="),
        ("hflip(q=1)", "in spec 'hflip(q=1)' (at column 1): augmentation 'hflip' has no parameter 'q'; valid parameters: p"),
        ("solarize(treshold=[0.1, 0.2])", "in spec 'solarize(treshold=[0.1, 0.2])' (at column 1): augmentation 'solarize' has no parameter 'treshold' — did you mean 'threshold'? valid parameters: threshold, p"),
        ("hflip(p=1.5)", "in spec 'hflip(p=1.5)' (at column 1): hflip(p=1.5): p must be a number in [0, 1], got 1.5"),
        ("vflip(p=yes)", "in spec 'vflip(p=yes)' (at column 1): vflip(p=yes): p must be a number in [0, 1], got 'yes'"),
        ("hflip,solarize(threshold=[0.9, 0.1])", "in spec 'hflip,solarize(threshold=[0.9, 0.1])' (at column 7): solarize(threshold=[0.9, 0.1]): threshold must satisfy 0 ≤ low ≤ high ≤ 1, got (0.9, 0.1)"),
    ],
)
def test_build_augmentation_rejects_bad_specs_with_a_precise_message(spec, message):
    with pytest.raises(SpecError) as error:
        augmentlab.build_augmentation(spec)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cee", "in spec 'cee' (at column 1): unknown loss 'cee' — did you mean 'ce'? `augmentlab plugins` lists all"),
        ("ce0.8+focla0.2", "in spec 'ce0.8+focla0.2' (at column 7): unknown loss 'focla' — did you mean 'focal'? `augmentlab plugins` lists all"),
        ("hflip", "in spec 'hflip' (at column 1): 'hflip' is an augmentation, not a loss; pass it with aug="),
        ("poly(epsilo=2)", "in spec 'poly(epsilo=2)' (at column 1): loss 'poly' has no parameter 'epsilo' — did you mean 'epsilon'? valid parameters: epsilon"),
        ("ce+focal(gamma=-1)", "in spec 'ce+focal(gamma=-1)' (at column 4): focal(gamma=-1): gamma must be a number ≥ 0, got -1"),
    ],
)
def test_build_loss_rejects_bad_specs_with_a_precise_message(spec, message):
    with pytest.raises(SpecError) as error:
        augmentlab.build_loss(spec, num_classes=11)
    assert str(error.value) == message


def test_build_loss_rejects_an_ignore_index_that_is_a_class():
    with pytest.raises(SpecError, match=r"ignore_index 3 is a class index \(classes are 0..10\)"):
        augmentlab.build_loss("ce", num_classes=11, ignore_index=3)


def test_a_weighted_sum_reports_each_term_and_adds_them_with_their_weights(device):
    torch.manual_seed(0)
    logits = torch.randn(2, 11, 8, 8, device=device, requires_grad=True)
    target = torch.randint(0, 11, (2, 8, 8), device=device)
    target[0, :2] = 255
    loss = augmentlab.build_loss("ce0.8+focal(gamma=2)0.2", num_classes=11)
    total = loss(logits, target)
    assert list(loss.last_terms) == ["ce", "focal(gamma=2)"]
    ce, focal = loss.last_terms.values()
    assert torch.allclose(ce, F.cross_entropy(logits, target, ignore_index=255))
    assert torch.allclose(total, 0.8 * ce + 0.2 * focal)
    total.backward()
    assert torch.isfinite(logits.grad).all()


def test_spec_parameters_reach_the_loss():
    loss = augmentlab.build_loss("focal(gamma=3)+ce(label_smoothing=0.1)", num_classes=4)
    assert (loss.losses[0].gamma, loss.losses[1].label_smoothing) == (3.0, 0.1)
    assert loss.weights == [1.0, 1.0]


def test_focal_with_gamma_zero_is_cross_entropy(device):
    torch.manual_seed(1)
    logits, target = torch.randn(3, 5, 6, 7, device=device), torch.randint(0, 5, (3, 6, 7), device=device)
    focal = augmentlab.build_loss("focal(gamma=0)", num_classes=5)
    assert torch.allclose(focal(logits, target), F.cross_entropy(logits, target), atol=1e-6)


def test_an_all_ignore_batch_gives_a_finite_zero_with_a_gradient(device):
    logits = torch.randn(2, 3, 4, 4, device=device, requires_grad=True)
    target = torch.full((2, 4, 4), 255, device=device)
    value = augmentlab.build_loss("ce+focal", num_classes=3)(logits, target)
    value.backward()
    assert value.item() == 0.0 and torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize(
    ("spec", "flipped"),
    [
        ("hflip(p=1)", lambda t: t.flip(-1)),
        ("vflip(p=1)", lambda t: t.flip(-2)),
        ("hflip(p=1),vflip(p=1)", lambda t: t.flip(-1).flip(-2)),
        ("none", lambda t: t),
        ("hflip(p=0)", lambda t: t),
    ],
)
def test_flips_move_image_and_mask_together(device, spec, flipped):
    images = torch.arange(2 * 3 * 2 * 3, dtype=torch.float32, device=device).view(2, 3, 2, 3) / 36
    masks = torch.tensor([[[0, 1, 2], [3, 4, 255]]], device=device).repeat(2, 1, 1)
    out_images, out_masks = augmentlab.build_augmentation(spec)(images, masks)
    assert torch.equal(out_images, flipped(images)) and torch.equal(out_masks, flipped(masks))


@pytest.mark.parametrize("name", ["hflip", "vflip", "solarize"])
def test_flips_and_the_example_plugin_keep_every_mask_guarantee(device, name):
    check_augmentation(name, device=device)


@pytest.mark.parametrize(
    ("images", "masks", "message"),
    [
        (torch.rand(2, 3, 4, 4).to(torch.uint8), torch.zeros(2, 4, 4, dtype=torch.long), r"images must be a float tensor \[B,3,H,W\] with values in \[0,1\], got \(2, 3, 4, 4\) torch.uint8"),
        (torch.rand(3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), r"images must be a float tensor \[B,3,H,W\]"),
        (torch.rand(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.int32), r"masks must be an int64 tensor \[B,H,W\] of class indices, got \(2, 4, 4\) torch.int32"),
        (torch.rand(2, 3, 4, 4), torch.zeros(2, 4, 5, dtype=torch.long), r"masks \(2, 4, 5\) do not match images \(2, 3, 4, 4\); expected \[B,H,W\] = \(2, 4, 4\)"),
    ],
)
def test_pipelines_reject_badly_shaped_batches(images, masks, message):
    with pytest.raises(ValueError, match=message):
        augmentlab.build_augmentation("hflip")(images, masks)
