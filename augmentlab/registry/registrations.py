"""What plugins register, and what the host knows about each registration.

A plugin returns :class:`Augmentation`, :class:`Loss` and :class:`ResultSink` registrations from
its hooks. The host adds the provider and turns them into :class:`AugmentationInfo` /
:class:`LossInfo` / :class:`SinkInfo`, which ``available_augmentations()``, ``available_losses()``
and ``available_sinks()`` expose. Documentation and parameter
defaults are read from the factory itself, so a plugin cannot show one default and use another.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

AugmentationKind = Literal["geometric", "photometric", "mix"]
AUGMENTATION_KINDS: tuple[str, ...] = ("geometric", "photometric", "mix")

# A loss name never ends in a digit, so that a trailing weight (`ce0.8`) parses without ambiguity.
AUGMENTATION_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
SINK_NAME = AUGMENTATION_NAME
LOSS_NAME = re.compile(r"[a-z](?:[a-z0-9_]*[a-z_])?\Z")

# Parameters a factory receives from the host rather than from the spec.
AUGMENTATION_HOST_ARGUMENTS = ("ignore_index",)
LOSS_HOST_ARGUMENTS = ("num_classes", "ignore_index", "class_frequencies")


@dataclass(frozen=True)
class Augmentation:
    """Registration of one batch augmentation.

    Attributes:
        name: spec name, lowercase snake_case (``hflip``, ``elastic``).
        factory: callable taking the spec parameters as keywords and returning a
            ``BatchAugmentation``; every parameter needs a default, and ``p`` is expected.
            A factory that takes ``ignore_index`` receives the dataset's ignore label from the host.
        kind: ``geometric`` (moves pixels; the mask moves with them), ``photometric``
            (changes values; the mask is untouched) or ``mix`` (combines samples or drops regions);
            defaults to the factory's ``kind`` attribute, which the family bases set.
        doc: one-line description; defaults to the first line of the factory's docstring.
    """

    name: str
    factory: Callable[..., Any]
    kind: AugmentationKind | None = None
    doc: str | None = None


@dataclass(frozen=True)
class Loss:
    """Registration of one segmentation loss.

    Attributes:
        name: spec name, lowercase snake_case not ending in a digit (``ce``, ``focal``).
        factory: callable ``factory(num_classes, ignore_index=255, **params)`` returning an
            ``nn.Module`` that maps (logits float [B,C,H,W], target int64 [B,H,W]) to a scalar.
            It may also accept ``class_frequencies``. Every spec parameter needs a default.
        doc: one-line description; defaults to the first line of the factory's docstring.
    """

    name: str
    factory: Callable[..., Any]
    doc: str | None = None


@dataclass(frozen=True)
class ResultSink:
    """Registration of one result sink: where an ablation's results go besides its own store (MLflow, TensorBoard, …).

    Attributes:
        name: what ``--track NAME`` selects, lowercase snake_case (``mlflow``).
        factory: callable taking the sink's options as keywords, each with a default
            (``--track-opt NAME.KEY=VALUE`` or a ``[track.NAME]`` table sets them), and returning
            an :class:`augmentlab.tracking.Sink`. It is called before anything trains, so that a
            bad option or a missing package stops the ablation at once: check there, connect later.
        doc: one-line description; defaults to the first line of the factory's docstring.
    """

    name: str
    factory: Callable[..., Any]
    doc: str | None = None


@dataclass(frozen=True)
class PluginInfo:
    """One plugin module found through the ``augmentlab`` entry-point group.

    Attributes:
        name: entry-point name, also the name used to disable it.
        distribution: the installed distribution that declares it.
        version: that distribution's version.
        module: the module the entry point points at.
        status: ``loaded``, ``failed`` or ``disabled``.
        error: for a failed plugin, the one-line reason.
    """

    name: str
    distribution: str
    version: str
    module: str
    status: Literal["loaded", "failed", "disabled"]
    error: str | None = None

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.version}"


@dataclass(frozen=True)
class AugmentationInfo:
    """A registered augmentation as the host sees it (see :class:`Augmentation`)."""

    name: str
    provider: str
    kind: str
    doc: str
    defaults: Mapping[str, Any]
    factory: Callable[..., Any] = field(repr=False, compare=False)
    accepts_ignore_index: bool = False


@dataclass(frozen=True)
class LossInfo:
    """A registered loss as the host sees it (see :class:`Loss`)."""

    name: str
    provider: str
    doc: str
    defaults: Mapping[str, Any]
    factory: Callable[..., Any] = field(repr=False, compare=False)
    accepts_class_frequencies: bool = False


@dataclass(frozen=True)
class SinkInfo:
    """A registered result sink as the host sees it (see :class:`ResultSink`)."""

    name: str
    provider: str
    doc: str
    defaults: Mapping[str, Any]
    factory: Callable[..., Any] = field(repr=False, compare=False)


def first_doc_line(obj: Any) -> str:
    """First non-empty line of an object's docstring, or an empty string."""
    doc = inspect.getdoc(obj) or ""
    return next((line.strip() for line in doc.splitlines() if line.strip()), "")


def spec_parameters(factory: Callable[..., Any], host_arguments: tuple[str, ...] = ()) -> dict[str, Any]:
    """Map each spec parameter of ``factory`` to its default.

    Raises:
        ValueError: a spec parameter has no default, or the factory takes ``*args``/``**kwargs``
            (the host could then not tell users which parameters exist).
    """
    defaults: dict[str, Any] = {}
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.name in host_arguments:
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            stars = "*" if parameter.kind == parameter.VAR_POSITIONAL else "**"
            raise ValueError(f"takes {stars}{parameter.name}; list each spec parameter explicitly with its default")
        if parameter.default is parameter.empty:
            raise ValueError(f"parameter '{parameter.name}' has no default; every spec parameter needs one")
        defaults[parameter.name] = parameter.default
    return defaults
