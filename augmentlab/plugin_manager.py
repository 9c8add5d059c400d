"""Discovering, loading and indexing plugins.

Plugins are modules named by entry points in the ``augmentlab`` group. augmentlab's built-ins
are declared by the augmentlab distribution itself and loaded through the same path.

Users control what is loaded with environment variables (or the matching CLI options):

- ``AUGMENTLAB_DISABLE_PLUGIN_AUTOLOAD=1`` loads the built-ins only;
- ``AUGMENTLAB_DISABLE_PLUGINS=name1,name2`` skips plugins by entry-point name;
- ``AUGMENTLAB_STRICT_PLUGINS=1`` turns a plugin that fails to load into an error.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from dataclasses import dataclass
from importlib import metadata
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import pluggy

from augmentlab import hookspecs
from augmentlab.errors import PluginError
from augmentlab.registry import (
    AUGMENTATION_HOST_ARGUMENTS,
    AUGMENTATION_KINDS,
    AUGMENTATION_NAME,
    LOSS_HOST_ARGUMENTS,
    LOSS_NAME,
    Augmentation,
    AugmentationInfo,
    Loss,
    LossInfo,
    PluginInfo,
    first_doc_line,
    spec_parameters,
)

ENTRY_POINT_GROUP = "augmentlab"
BUILTIN_DISTRIBUTION = "augmentlab"
ENV_DISABLE_AUTOLOAD = "AUGMENTLAB_DISABLE_PLUGIN_AUTOLOAD"
ENV_DISABLE = "AUGMENTLAB_DISABLE_PLUGINS"
ENV_STRICT = "AUGMENTLAB_STRICT_PLUGINS"

logger = logging.getLogger("augmentlab.plugins")


@dataclass(frozen=True)
class PluginRegistry:
    """Everything the loaded plugins provide, keyed by spec name."""

    plugins: tuple[PluginInfo, ...]
    augmentations: Mapping[str, AugmentationInfo]
    losses: Mapping[str, LossInfo]


def get_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows augmentlab's hookspecs and has no plugin registered yet."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _normalized(distribution_name: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution_name).lower()


def _entry_points() -> list[metadata.EntryPoint]:
    """Entry points of the group, built-ins first, each (distribution, name) once."""
    seen: set[tuple[str, str]] = set()
    found: list[metadata.EntryPoint] = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = _normalized(entry_point.dist.name) if entry_point.dist else "?"
        if (distribution, entry_point.name) not in seen:
            seen.add((distribution, entry_point.name))
            found.append(entry_point)
    return sorted(found, key=lambda ep: (not _is_builtin(ep), ep.name, ep.dist.name if ep.dist else ""))


def _is_builtin(entry_point: metadata.EntryPoint) -> bool:
    return entry_point.dist is not None and _normalized(entry_point.dist.name) == BUILTIN_DISTRIBUTION


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _Loader:
    """Loads plugins once and records what happened to each; see :func:`load_plugins`."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.manager = get_plugin_manager()
        self.records: dict[str, PluginInfo] = {}

    def fail(self, info: PluginInfo, reason: str) -> None:
        message = f"plugin '{info.name}' ({info.origin}) {reason}"
        if self.strict:
            raise PluginError(f"{message} (strict mode; fix it, uninstall it or disable it with {ENV_DISABLE}={info.name})")
        logger.warning("%s and was skipped", message)
        if info.status != "failed":  # the first reason is the one the plugin table shows
            self.records[info.name] = PluginInfo(**{**info.__dict__, "status": "failed", "error": reason})

    def load(self, entry_point: metadata.EntryPoint, *, skip_reason: str | None) -> None:
        distribution = entry_point.dist.name if entry_point.dist else "unknown distribution"
        version = entry_point.dist.version if entry_point.dist else "?"
        info = PluginInfo(entry_point.name, distribution, version, entry_point.value, "loaded")
        other = self.records.get(entry_point.name)
        if other is not None:
            raise PluginError(
                f"two plugins are named '{entry_point.name}': one from {other.origin} and one from {info.origin}; "
                "uninstall one of the distributions"
            )
        if skip_reason is not None:
            self.records[info.name] = PluginInfo(**{**info.__dict__, "status": "disabled", "error": skip_reason})
            return
        self.records[info.name] = info
        try:
            module = entry_point.load()
            self.manager.register(module, name=entry_point.name)
        except Exception as error:  # noqa: BLE001 - any import-time failure of third-party code is reported
            self.fail(info, f"failed to load: {_one_line(error)}")

    def collect(self, hook_name: str) -> list[tuple[str, Any]]:
        """Call one registration hook on every plugin, keeping who returned what."""
        results: list[tuple[str, Any]] = []
        hook = getattr(self.manager.hook, hook_name)
        for implementation in hook.get_hookimpls():  # in registration order: built-ins first
            provider = implementation.plugin_name
            try:
                registrations = list(implementation.function() or [])
            except Exception as error:  # noqa: BLE001
                self.fail(self.records[provider], f"raised in {hook_name}: {_one_line(error)}")
                continue
            results.extend((provider, registration) for registration in registrations)
        return results

    def index(
        self,
        what: str,
        registrations: Iterable[tuple[str, Any]],
        expected: type,
        name_pattern: re.Pattern[str],
        describe: Callable[[str, Any], Any],
    ) -> dict[str, Any]:
        by_name: dict[str, Any] = {}
        for provider, registration in registrations:
            if not isinstance(registration, expected):
                self.fail(self.records[provider], f"returned {type(registration).__name__} where a {expected.__name__} registration was expected")
                continue
            if not name_pattern.match(registration.name):
                self.fail(self.records[provider], f"registers the invalid {what} name {registration.name!r} (use lowercase snake_case{', not ending in a digit' if what == 'loss' else ''})")
                continue
            if registration.name in by_name:
                first = self.records[by_name[registration.name].provider]
                second = self.records[provider]
                raise PluginError(
                    f"{what} '{registration.name}' is provided by two plugins: '{first.name}' ({first.origin}) and "
                    f"'{second.name}' ({second.origin}); disable one with {ENV_DISABLE}=NAME"
                )
            try:
                by_name[registration.name] = describe(provider, registration)
            except ValueError as error:
                self.fail(self.records[provider], f"registers {what} '{registration.name}' whose factory {error}")
        return by_name


def _describe_augmentation(provider: str, registration: Augmentation) -> AugmentationInfo:
    kind = registration.kind or getattr(registration.factory, "kind", None)
    if kind not in AUGMENTATION_KINDS:
        raise ValueError(f"has kind {kind!r}; use one of {', '.join(AUGMENTATION_KINDS)}")
    return AugmentationInfo(
        name=registration.name,
        provider=provider,
        kind=kind,
        doc=registration.doc or first_doc_line(registration.factory),
        defaults=MappingProxyType(spec_parameters(registration.factory, AUGMENTATION_HOST_ARGUMENTS)),
        factory=registration.factory,
        accepts_ignore_index="ignore_index" in inspect.signature(registration.factory).parameters,
    )


def _describe_loss(provider: str, registration: Loss) -> LossInfo:
    accepted = inspect.signature(registration.factory).parameters
    if "num_classes" not in accepted:
        raise ValueError("does not take num_classes")
    return LossInfo(
        name=registration.name,
        provider=provider,
        doc=registration.doc or first_doc_line(registration.factory),
        defaults=MappingProxyType(spec_parameters(registration.factory, LOSS_HOST_ARGUMENTS)),
        factory=registration.factory,
        accepts_class_frequencies="class_frequencies" in accepted,
    )


def load_plugins(
    *,
    strict: bool | None = None,
    disable: Iterable[str] | None = None,
    autoload: bool | None = None,
) -> PluginRegistry:
    """Discover the plugins of the ``augmentlab`` entry-point group and index what they provide.

    The result becomes the registry that ``available_augmentations()``, ``build_loss()`` and the
    CLI use. Arguments left as None are read from the environment variables described in the
    module docstring.

    Args:
        strict: raise on a plugin that fails to load instead of reporting it and skipping it.
        disable: entry-point names of plugins not to load.
        autoload: False loads only the built-ins of the augmentlab distribution.

    Raises:
        PluginError: two plugins share a name or provide the same augmentation or loss, or a
            plugin failed to load in strict mode.
    """
    global _current
    strict = env_flag(ENV_STRICT) if strict is None else strict
    disabled = set(env_list(ENV_DISABLE) if disable is None else disable)
    autoload = not env_flag(ENV_DISABLE_AUTOLOAD) if autoload is None else autoload

    loader = _Loader(strict)
    for entry_point in _entry_points():
        skip_reason = None
        if entry_point.name in disabled:
            skip_reason = "disabled by name"
        elif not autoload and not _is_builtin(entry_point):
            skip_reason = f"{ENV_DISABLE_AUTOLOAD} is set"
        loader.load(entry_point, skip_reason=skip_reason)
    for name in sorted(disabled - loader.records.keys()):
        logger.warning("no plugin named '%s' is installed, so there is nothing to disable", name)

    # Both hooks are called before anything is indexed, so that a plugin failing in either one
    # is skipped whole: a failed plugin provides nothing.
    augmentation_registrations = loader.collect("augmentlab_register_augmentations")
    loss_registrations = loader.collect("augmentlab_register_losses")
    augmentations = loader.index("augmentation", augmentation_registrations, Augmentation, AUGMENTATION_NAME, _describe_augmentation)
    losses = loader.index("loss", loss_registrations, Loss, LOSS_NAME, _describe_loss)
    failed = {name for name, record in loader.records.items() if record.status == "failed"}
    _current = PluginRegistry(
        plugins=tuple(loader.records.values()),
        augmentations=MappingProxyType({name: info for name, info in augmentations.items() if info.provider not in failed}),
        losses=MappingProxyType({name: info for name, info in losses.items() if info.provider not in failed}),
    )
    return _current


_current: PluginRegistry | None = None


def current_registry() -> PluginRegistry:
    """The registry of the last :func:`load_plugins`, loading with the environment's settings on first use."""
    return _current if _current is not None else load_plugins()


def reset_plugins() -> None:
    """Forget the loaded plugins, so that the next use discovers them again."""
    global _current
    _current = None
