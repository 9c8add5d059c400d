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
    from augmentlab.registry.registrations import Augmentation, Loss, ResultSink

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


@hookspec
def augmentlab_result_sinks() -> list[ResultSink]:
    """Return the result sinks this plugin provides: places an ablation's results go besides its store.

    Each :class:`~augmentlab.registry.ResultSink` names a factory whose keyword parameters, each
    with a default, are the sink's options (``--track-opt NAME.KEY=VALUE``, or a ``[track.NAME]``
    table of a config file). The factory returns an :class:`augmentlab.tracking.Sink`, which
    the driver process tells, in this order:

    - ``ablation_started(start)``: the plan is stored; ``start`` holds the ablation's info, its
      folder, a stable id and every run the store already holds (a resumed ablation, or one
      tracked for the first time: a sink adds what it lacks, and never twice);
    - ``run_ended(result)``: one run ended, finished or failed; the whole ``RunResult`` with its
      per-epoch history, already in the store;
    - ``report_built(report, files)``: the report and its files are written;
    - ``close()``: always last, also after an error or Ctrl-C.

    The store is written first and stays the source of truth. A sink that raises is reported in
    one line naming it (the traceback goes to the folder's ``sinks.log``), hears nothing more in
    that ablation, and the ablation goes on.

    Rules, checked at load time:

    - the name is lowercase snake_case;
    - every factory parameter has a default, and there is no ``*args`` or ``**kwargs``.

    :return: a list of registrations, possibly empty.

    Called once per plugin; all results are collected.
    """
