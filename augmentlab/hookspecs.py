"""The whole contract between augmentlab and its plugins.

A plugin is a module that implements some of the hooks below, marked with
``@augmentlab.hookimpl``, and that an installed distribution declares in its metadata::

    [project.entry-points.augmentlab]
    myplugin = "my_package.plugin"

augmentlab's own augmentations and losses are registered exactly this way. Every hook is
called once per plugin when the registry is built; all results are collected, so a name may be
registered by one plugin only (two providers of the same name is an error naming both).

The rules each hook states are checked when the plugins load, before anything is built. A
plugin that breaks one is reported in one line naming the plugin and the rule, and provides
nothing; in strict mode (``AUGMENTLAB_STRICT_PLUGINS=1``) it is an error, as a plugin that fails
to import is. A plugin that does not implement a hook is simply not asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from augmentlab.registry.registrations import Augmentation, Loss

PROJECT_NAME = "augmentlab"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def augmentlab_register_augmentations() -> list[Augmentation]:
    """Return the batch augmentations this plugin provides.

    Each :class:`~augmentlab.registry.Augmentation` names a factory whose keyword parameters,
    each with a default, are the parameters users may set in a spec such as
    ``elastic(alpha=2, p=0.5)``. The factory returns a module mapping
    ``(images float [B,3,H,W] in [0,1], masks int64 [B,H,W])`` to the same shapes and device,
    which never interpolates mask labels and gives pixels without a source ``ignore_index``.

    Rules, checked at load time:

    - the name is lowercase snake_case (``[a-z][a-z0-9_]*``);
    - the kind is ``geometric``, ``photometric`` or ``mix``: given as ``kind=``, or the
      factory's ``kind`` attribute, which the family bases of :mod:`augmentlab.augment` set;
    - the factory takes ``p``, the probability of changing each sample;
    - every factory parameter has a default, and there is no ``*args`` or ``**kwargs``
      (``ignore_index``, if taken, is passed by the host: the dataset's ignore label).

    :return: a list of registrations, possibly empty.

    Called once per plugin; all results are collected.
    """


@hookspec
def augmentlab_register_losses() -> list[Loss]:
    """Return the segmentation losses this plugin provides.

    Each :class:`~augmentlab.registry.Loss` names a factory called as
    ``factory(num_classes, ignore_index=..., **spec_params)`` (and ``class_frequencies=`` when
    it accepts that argument). It returns an ``nn.Module`` mapping
    ``(logits float [B,C,H,W], target int64 [B,H,W])`` to a scalar, which excludes pixels equal
    to ``ignore_index`` and stays finite when every pixel is ignored.

    Rules, checked at load time:

    - the name is lowercase snake_case and does not end in a digit (``ce0.8`` reads as ``ce``
      with weight 0.8);
    - the factory takes ``num_classes`` and ``ignore_index``;
    - every other factory parameter has a default, and there is no ``*args`` or ``**kwargs``.

    :return: a list of registrations, possibly empty.

    Called once per plugin; all results are collected.
    """
