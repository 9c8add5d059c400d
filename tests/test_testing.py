"""check_augmentation catches each way an augmentation can break the mask guarantees."""

import re

import pytest

from augmentlab.testing import AugmentationCheckError, check_augmentation

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


class FloatMask(BatchAugmentation):
    kind = "photometric"

    def apply_transform(self, images, masks, params):
        return images, masks.float()


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
        augmentlab.Augmentation("host_read", HostRead, "photometric"),
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
        ("float_mask", "float32: masks come out as torch.float32, expected torch.int64"),
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
