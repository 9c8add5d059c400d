"""Geometric augmentations: they move pixels, and the mask moves with them exactly.

Every warp goes through one path (``warp.py``): a sampling grid, then the hard-edge ``warp``, so
pixels without a source are black with the ignore label everywhere, and consecutive warps fuse
into one sampling (``fusion.py``).

The stock transforms closest to each, for the benches, are in :mod:`augmentlab.diagnostics.equivalents`.
"""

from __future__ import annotations

from augmentlab.augment.geometric.affine import ShiftScaleRotate
from augmentlab.augment.geometric.dihedral import RandomRotate90, Transpose
from augmentlab.augment.geometric.elastic import ElasticTransform
from augmentlab.augment.geometric.flips import HorizontalFlip, VerticalFlip
from augmentlab.augment.geometric.grid_distortion import GridDistortion
from augmentlab.augment.geometric.optical_distortion import OpticalDistortion
from augmentlab.augment.geometric.perspective import RandomPerspective
from augmentlab.augment.geometric.resized_crop import RandomResizedCrop
from augmentlab.registry.registrations import Augmentation

REGISTRATIONS: list[Augmentation] = [
    Augmentation("hflip", HorizontalFlip),
    Augmentation("vflip", VerticalFlip),
    Augmentation("rot90", RandomRotate90),
    Augmentation("transpose", Transpose),
    Augmentation("affine", ShiftScaleRotate),
    Augmentation("elastic", ElasticTransform),
    Augmentation("grid", GridDistortion),
    Augmentation("optical", OpticalDistortion),
    Augmentation("perspective", RandomPerspective),
    Augmentation("crop", RandomResizedCrop),
]
