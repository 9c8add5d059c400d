"""augmentlab's built-in augmentations, registered through the ``augmentlab`` entry-point group like any plugin."""

from __future__ import annotations

from augmentlab.augment import geometric, mix, photometric
from augmentlab.hookspecs import hookimpl
from augmentlab.registry.registrations import Augmentation


@hookimpl
def augmentlab_register_augmentations() -> list[Augmentation]:
    return [*geometric.REGISTRATIONS, *photometric.REGISTRATIONS, *mix.REGISTRATIONS]
