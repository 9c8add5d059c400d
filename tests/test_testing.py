"""check_augmentation and check_loss catch each way an augmentation or a loss can break the rules."""

import re

import pytest
import torch
import torch.nn.functional as F

from augmentlab.augment import (
    GeometricAugmentation,
    PhotometricAugmentation,
    WarpAugmentation,
    remap_images,
    remap_masks,
    warp,
)
from augmentlab.augment.geometric.warp import projective_grid
from augmentlab.testing import (
    AugmentationCheckError,
    LossCheckError,
    check_augmentation,
    check_loss,
)

BROKEN_PLUGIN = """
import random

import torch
import torch.nn.functional as F

import augmentlab
from augmentlab.augment import BatchAugmentation, GeometricAugmentation, PhotometricAugmentation


class Desync(BatchAugmentation):
    kind = "geometric"

    def apply_transform(self, images, masks, params):
        return images.flip(-1), masks


class BlurMask(BatchAugmentation):
    kind = "geometric"

    def apply_transform(self, images, masks, params):
        smooth = F.avg_pool2d(masks[:, None].float(), 3, stride=1, padding=1)[:, 0]
        return images, smooth.round().long()


class PadBackground(GeometricAugmentation):
    def apply_transform(self, images, masks, params):
        images = F.pad(images[..., :-16], (16, 0))
        masks = F.pad(masks[..., :-16], (16, 0), value=0)
        return images, masks


class TouchMask(BatchAugmentation):
    kind = "photometric"

    def apply_transform(self, images, masks, params):
        return images, torch.zeros_like(masks)


class WholeBatch(PhotometricAugmentation):
    def forward(self, images, masks):
        if torch.rand(()) < self.p:
            return 1.0 - images, masks
        return images, masks


class SharedFactor(PhotometricAugmentation):
    def sample_params(self, batch_size, height, width, device):
        factor = torch.empty((), device=device).uniform_(0.5, 0.9)
        return {"factor": factor.expand(batch_size)}

    def apply_to_images(self, images, params):
        return images * params["factor"].view(-1, 1, 1, 1)


class Unseeded(PhotometricAugmentation):
    def sample_params(self, batch_size, height, width, device):
        return {"factor": torch.tensor([random.uniform(0.5, 0.9) for _ in range(batch_size)], device=device)}

    def apply_to_images(self, images, params):
        return images * params["factor"].view(-1, 1, 1, 1)


class HostRead(PhotometricAugmentation):
    def sample_params(self, batch_size, height, width, device):
        return {"factor": torch.rand(batch_size, device=device)}

    def apply_to_images(self, images, params):
        strongest = params["factor"].max().item()  # every batch would wait for the GPU here
        return images * (params["factor"] / strongest).view(-1, 1, 1, 1)


class InPlace(PhotometricAugmentation):
    def apply_to_images(self, images, params):
        return images.mul_(0.5)


class FloatMask(BatchAugmentation):
    kind = "photometric"

    def apply_transform(self, images, masks, params):
        return images, masks.float()


class HalfMask(BatchAugmentation):
    kind = "geometric"

    def apply_transform(self, images, masks, params):
        return images, masks[:, ::2]


class OnlyImages(torch.nn.Module):
    kind = "photometric"

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, images, masks):
        return images


@augmentlab.hookimpl
def augmentlab_register_augmentations():
    return [
        augmentlab.Augmentation("desync", Desync, "geometric"),
        augmentlab.Augmentation("blur_mask", BlurMask, "geometric"),
        augmentlab.Augmentation("pad_background", PadBackground, "geometric"),
        augmentlab.Augmentation("touch_mask", TouchMask, "photometric"),
        augmentlab.Augmentation("whole_batch", WholeBatch, "photometric"),
        augmentlab.Augmentation("shared_factor", SharedFactor, "photometric"),
        augmentlab.Augmentation("unseeded", Unseeded, "photometric"),
        augmentlab.Augmentation("float_mask", FloatMask, "photometric"),
        augmentlab.Augmentation("half_mask", HalfMask, "geometric"),
        augmentlab.Augmentation("only_images", OnlyImages, "photometric"),
        augmentlab.Augmentation("host_read", HostRead, "photometric"),
        augmentlab.Augmentation("in_place", InPlace, "photometric"),
    ]
"""


@pytest.fixture
def broken_plugin(install_distribution):
    install_distribution("augmentlab-broken-transforms", {"broken_transforms": BROKEN_PLUGIN}, {"broken": "broken_transforms"})


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("desync", "float32: image colour matches the mask label at only"),
        ("blur_mask", "masks hold labels"),
        ("pad_background", r"float32: \d+ pixels without a source are labelled \[0\], expected 255"),
        ("touch_mask", "float32: a photometric transform changed the mask"),
        ("whole_batch", r"p=0.5: (0|64) of 64 samples changed; p must be drawn per sample"),
        ("shared_factor", "per-sample parameters: 16 copies of one image all came out identical; draw parameters per sample"),
        ("unseeded", "seed: the same torch.manual_seed gave different outputs"),
        ("float_mask", r"^augmentation 'float_mask' breaks 1 guarantee\(s\):\n  float32: returned masks of torch.float32; masks stay int64 "
                       r"class indices \(never interpolate labels\)\n  \(the other checks need a float32 run that keeps the batch's shapes and dtypes, and were not run\)$"),
        ("half_mask", r"float32: returned images \(8, 3, 64, 96\) and masks \(8, 32, 96\) for a batch of \(8, 3, 64, 96\) and \(8, 64, 96\); keep the batch's shapes"),
        ("only_images", r"float32: returned Tensor, not a tuple of two tensors \(images, masks\)"),
        ("in_place", "float32: the input images or masks were changed in place; return new tensors, the caller still holds the originals"),
        ("host_read", r"host reads: on the meta device, which holds no values, it raised RuntimeError: Tensor\.item\(\) cannot be called on meta tensors"),
    ],
)
def test_each_broken_guarantee_is_reported(broken_plugin, device, name, expected):
    with pytest.raises(AugmentationCheckError) as error:
        check_augmentation(name, device=device)
    message = str(error.value)
    assert message.startswith(f"augmentation '{name}' breaks ")
    assert re.search(expected, message), message


def test_an_unknown_name_is_a_key_error_that_points_at_the_plugin_list():
    with pytest.raises(KeyError, match="augmentation 'nope' is not registered; `augmentlab plugins` lists what is"):
        check_augmentation("nope")


# --- classes checked before they are packaged, and the hard edge --------------------------------

SHIFT = 0.4  # pixels, to the right


def shift_grid(batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    """Each output pixel reads SHIFT pixels to its left: column 0 samples between the edge and the first pixel centre."""
    matrix = torch.tensor([[1.0, 0.0, -SHIFT], [0.0, 1.0, 0.0]], device=device).expand(batch_size, 2, 3)
    return projective_grid(matrix, height, width)


class ZeroPaddedShift(GeometricAugmentation):
    """What a plugin that samples with remap_images alone does."""

    def apply_transform(self, images, masks, params):
        grid = shift_grid(images.shape[0], images.shape[2], images.shape[3], images.device)
        return remap_images(images, grid), remap_masks(masks, grid, self.mask_fill)


class HardEdgeShift(WarpAugmentation):
    """The same shift through the public warp class: two methods, no sampling code."""

    def sample_params(self, batch_size, height, width, device):
        return {}

    def sampling_grid(self, params, batch_size, height, width, device):
        return shift_grid(batch_size, height, width, device)


class NoP(PhotometricAugmentation):
    def __init__(self, strength: float = 1.0) -> None:
        super().__init__(1.0)

    def apply_to_images(self, images, params):
        return images.clone()


def test_zero_padding_darkens_a_labelled_edge_pixel_and_the_hard_edge_does_not(device):
    white = torch.ones(1, 3, 4, 6, device=device)
    masks = torch.ones(1, 4, 6, dtype=torch.long, device=device)
    grid = shift_grid(1, 4, 6, device)
    assert remap_masks(masks, grid, 255)[0, :, 0].tolist() == [1, 1, 1, 1]  # the edge column keeps its label
    assert remap_images(white, grid)[0, :, :, 0].flatten().tolist() == pytest.approx([0.6] * 12)
    hard_images, hard_masks = warp(white, masks, grid, 255)
    assert hard_images[0, :, :, 0].flatten().tolist() == [1.0] * 12 and hard_masks[0, :, 0].tolist() == [1, 1, 1, 1]


def test_a_class_is_checked_before_it_is_registered(device):
    check_augmentation(factory=HardEdgeShift, device=device)


def test_padding_that_darkens_labelled_pixels_is_reported(device):
    with pytest.raises(AugmentationCheckError) as error:
        check_augmentation(factory=ZeroPaddedShift, device=device)
    assert re.search(
        r"padding: \d+ of \d+ pixels that keep a label changed colour on a uniform image \(zero padding blended into them\); "
        r"sample with augmentlab.augment.warp, or subclass WarpAugmentation or ProjectiveWarp, whose edge is hard",
        str(error.value),
    )
    assert str(error.value).startswith("augmentation 'zeropaddedshift' breaks 1 guarantee(s):")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"factory": NoP}, "factory nop breaks a registration rule: its factory does not take p; every augmentation takes p"),
        ({"factory": lambda p=0.5: None}, r"factory <lambda> breaks a registration rule: its factory has kind None"),
        ({}, "check_augmentation takes the name of a registered augmentation or factory=, one of them"),
        ({"name": "hflip", "factory": HardEdgeShift}, "check_augmentation takes the name of a registered augmentation or factory=, one of them"),
    ],
)
def test_bad_arguments_are_one_line(arguments, message):
    with pytest.raises(ValueError, match=message):
        check_augmentation(**arguments)


# --- check_loss ---------------------------------------------------------------------------------


class Hard255Loss(torch.nn.Module):
    """Cross-entropy that ignores 255 whatever ignore_index it is given."""

    def __init__(self, num_classes, ignore_index=255):
        super().__init__()

    def forward(self, logits, target):
        return F.cross_entropy(logits.float(), target, ignore_index=255)


class NanWhenEmptyLoss(torch.nn.Module):
    """Mean cross-entropy over the labelled pixels, 0/0 when there are none."""

    def __init__(self, num_classes, ignore_index=255):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        valid = target != self.ignore_index
        nll = -F.log_softmax(logits.float(), 1).gather(1, torch.where(valid, target, 0)[:, None])[:, 0]
        return (nll * valid).sum() / valid.sum()


class HostReadLoss(torch.nn.Module):
    """Cross-entropy that asks the host whether any pixel is labelled, at every step."""

    def __init__(self, num_classes, ignore_index=255):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        if (target != self.ignore_index).sum().item() == 0:
            return logits.sum() * 0
        return F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index)


class LowPrecisionDiceLoss(torch.nn.Module):
    """Soft Dice on the logits as they come: bf16 under autocast."""

    def __init__(self, num_classes, ignore_index=255):
        super().__init__()
        self.num_classes, self.ignore_index = num_classes, ignore_index

    def forward(self, logits, target):
        valid = (target != self.ignore_index)[:, None]
        probabilities = logits.softmax(1) * valid
        truth = F.one_hot(torch.where(valid[:, 0], target, 0), self.num_classes).permute(0, 3, 1, 2) * valid
        overlap, total = (probabilities * truth).sum((0, 2, 3)), probabilities.sum((0, 2, 3)) + truth.sum((0, 2, 3))
        return (1 - (2 * overlap + 1) / (total + 1)).mean()


class GoodLoss(torch.nn.Module):
    def __init__(self, num_classes, ignore_index=255):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        return F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index, reduction="sum") / (target != self.ignore_index).sum().clamp(min=1)


IGNORE_HINT = " (the target holds ignore_index 7 here: use the ignore_index the factory is given)"


@pytest.mark.parametrize(
    ("factory", "failures"),
    [
        (Hard255Loss, [f"ignored pixels: raised IndexError: Target 7 is out of bounds.{IGNORE_HINT}",
                       f"ignored image: raised IndexError: Target 7 is out of bounds.{IGNORE_HINT}",
                       f"all ignored: raised IndexError: Target 7 is out of bounds.{IGNORE_HINT}"]),
        (NanWhenEmptyLoss, ["all ignored: a batch whose pixels are all ignored must give 0 with a zero gradient, never NaN"]),
        (HostReadLoss, ["host reads: on the meta device, which holds no values, it raised RuntimeError: Tensor.item() cannot be called on "
                        "meta tensors; a value read back to the host (.item(), an if on a tensor, x[mask]) stalls a GPU at every step"]),
        (LowPrecisionDiceLoss, ["bfloat16: logits under autocast must be computed in float32 inside the loss (logits.float())"]),
    ],
)
def test_each_broken_loss_rule_is_reported(factory, failures):
    with pytest.raises(LossCheckError) as error:
        check_loss(factory=factory)
    name = factory.__name__.lower()
    assert str(error.value) == f"loss '{name}' breaks {len(failures)} rule(s):\n  " + "\n  ".join(failures)


def test_a_loss_that_follows_the_rules_passes_and_bad_calls_are_refused():
    check_loss(factory=GoodLoss)
    with pytest.raises(ValueError, match="^check_loss takes a loss spec or factory=, one of them$"):
        check_loss()
    with pytest.raises(ValueError, match="^factory nothreshold breaks a registration rule: its factory does not take ignore_index; "):
        check_loss(factory=type("NoThreshold", (torch.nn.Module,), {"__init__": lambda self, num_classes: None}))
