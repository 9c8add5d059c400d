"""Discovering, loading and indexing plugins.

Plugins are modules named by entry points in the ``augmentlab`` group. augmentlab's built-ins
are declared by the augmentlab distribution itself and loaded through the same path.

Users control what is loaded with environment variables (or the matching CLI options):

- ``AUGMENTLAB_DISABLE_PLUGIN_AUTOLOAD=1`` loads the built-ins only;
- ``AUGMENTLAB_DISABLE_PLUGINS=name1,name2`` skips plugins by entry-point name;
- ``AUGMENTLAB_STRICT_PLUGINS=1`` turns a plugin that fails to load into an error.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import pluggy

from augmentlab import hookspecs
from augmentlab.errors import PluginError, one_line
from augmentlab.registry.registrations import (
    AUGMENTATION_HOST_ARGUMENTS,
    AUGMENTATION_KINDS,
    AUGMENTATION_NAME,
    LOSS_HOST_ARGUMENTS,
    LOSS_NAME,
    SINK_NAME,
    Augmentation,
    AugmentationInfo,
    Loss,
    LossInfo,
    PluginInfo,
    ResultSink,
    SinkInfo,
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
    sinks: Mapping[str, SinkInfo] = field(default_factory=lambda: MappingProxyType({}))


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
        except pluggy.PluginValidationError as error:
            # pluggy's reason (an argument the hook does not pass) is on its later lines: keep them, in one.
            self.fail(info, f"failed to load: {'; '.join(line.strip() for line in str(error).splitlines() if line.strip())}")
            return
        except Exception as error:  # noqa: BLE001 - any import-time failure of third-party code is reported
            self.fail(info, f"failed to load: {one_line(error)}")
            return
        problem = _hook_problem(module, [caller.name for caller in self.manager.get_hookcallers(module) or []])
        if problem:
            self.manager.unregister(module)
            self.fail(info, problem)

    def collect(self, hook_name: str) -> list[tuple[str, Any]]:
        """Call one registration hook on every plugin, keeping who returned what."""
        results: list[tuple[str, Any]] = []
        hook = getattr(self.manager.hook, hook_name)
        for implementation in hook.get_hookimpls():  # in registration order: built-ins first
            provider = implementation.plugin_name
            try:
                returned = implementation.function()
            except Exception as error:  # noqa: BLE001
                self.fail(self.records[provider], f"raised in {hook_name}: {one_line(error)}")
                continue
            try:
                if isinstance(returned, (Augmentation, Loss, ResultSink)):
                    raise TypeError
                registrations = list(returned or [])
            except TypeError:
                self.fail(self.records[provider], f"returned one {type(returned).__name__} from {hook_name}, not a list of registrations; return a list, [...]")
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
                self.fail(self.records[provider], f"returned {type(registration).__name__} where an augmentlab.{expected.__name__} registration was expected ({RULES_HINT})")
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
                self.fail(self.records[provider], f"registers {what} '{registration.name}' whose factory {error} ({RULES_HINT})")
        return by_name


RULES_HINT = "see the rules in augmentlab/hookspecs.py"
HOOK_NAMES = tuple(name for name in vars(hookspecs) if name.startswith("augmentlab_"))


def _hook_problem(module: object, implemented: list[str]) -> str | None:
    """Why a plugin module that loaded would provide nothing, or None: a misspelt hook, or hooks
    without ``@augmentlab.hookimpl``, which pluggy passes over in silence."""
    unknown = [name for name in implemented if name not in HOOK_NAMES]
    if unknown:
        close = difflib.get_close_matches(unknown[0], HOOK_NAMES, n=1)
        hint = f" — did you mean {close[0]}?" if close else f"; the hooks are {', '.join(HOOK_NAMES)}"
        return f"implements {unknown[0]}, which is no augmentlab hook{hint}"
    if implemented:
        return None
    unmarked = [name for name in HOOK_NAMES if callable(getattr(module, name, None))]
    if unmarked:
        return f"defines {unmarked[0]} without @augmentlab.hookimpl, so it is never called; decorate it"
    return f"implements no augmentlab hook; a plugin module defines one of {', '.join(HOOK_NAMES)}, decorated with @augmentlab.hookimpl"


def describe_augmentation(provider: str, registration: Augmentation) -> AugmentationInfo:
    """The host's view of an augmentation registration, after checking the rules of ``augmentlab_register_augmentations``.

    Raises:
        ValueError: a rule is broken; the message completes "registers augmentation NAME whose factory …".
    """
    kind = registration.kind or getattr(registration.factory, "kind", None)
    if kind not in AUGMENTATION_KINDS:
        raise ValueError(f"has kind {kind!r}; use one of {', '.join(AUGMENTATION_KINDS)} (subclass a family base of augmentlab.augment, or pass kind=)")
    defaults = spec_parameters(registration.factory, AUGMENTATION_HOST_ARGUMENTS)
    if "p" not in defaults:
        raise ValueError("does not take p; every augmentation takes p, the probability of changing each sample, with a default")
    return AugmentationInfo(
        name=registration.name,
        provider=provider,
        kind=kind,
        doc=registration.doc or first_doc_line(registration.factory),
        defaults=MappingProxyType(defaults),
        factory=registration.factory,
        accepts_ignore_index="ignore_index" in inspect.signature(registration.factory).parameters,
    )


def describe_loss(provider: str, registration: Loss) -> LossInfo:
    """The host's view of a loss registration, after checking the rules of ``augmentlab_register_losses``.

    Raises:
        ValueError: a rule is broken; the message completes "registers loss NAME whose factory …".
    """
    accepted = inspect.signature(registration.factory).parameters
    missing = [name for name in ("num_classes", "ignore_index") if name not in accepted]
    if missing:
        raise ValueError(f"does not take {' or '.join(missing)}; every loss factory is called as factory(num_classes, ignore_index=..., **spec_parameters)")
    return LossInfo(
        name=registration.name,
        provider=provider,
        doc=registration.doc or first_doc_line(registration.factory),
        defaults=MappingProxyType(spec_parameters(registration.factory, LOSS_HOST_ARGUMENTS)),
        factory=registration.factory,
        accepts_class_frequencies="class_frequencies" in accepted,
    )


def describe_sink(provider: str, registration: ResultSink) -> SinkInfo:
    """The host's view of a result-sink registration, after checking the rules of ``augmentlab_result_sinks``.

    Raises:
        ValueError: a rule is broken; the message completes "registers sink NAME whose factory …".
    """
    return SinkInfo(
        name=registration.name,
        provider=provider,
        doc=registration.doc or first_doc_line(registration.factory),
        defaults=MappingProxyType(spec_parameters(registration.factory)),
        factory=registration.factory,
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
    _remember_options(strict, disable, autoload)
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

    # All hooks are called before anything is indexed, so that a plugin failing in either one
    # is skipped whole: a failed plugin provides nothing.
    augmentation_registrations = loader.collect("augmentlab_register_augmentations")
    loss_registrations = loader.collect("augmentlab_register_losses")
    sink_registrations = loader.collect("augmentlab_result_sinks")
    augmentations = loader.index("augmentation", augmentation_registrations, Augmentation, AUGMENTATION_NAME, describe_augmentation)
    losses = loader.index("loss", loss_registrations, Loss, LOSS_NAME, describe_loss)
    sinks = loader.index("sink", sink_registrations, ResultSink, SINK_NAME, describe_sink)
    failed = {name for name, record in loader.records.items() if record.status == "failed"}
    _current = PluginRegistry(
        plugins=tuple(loader.records.values()),
        augmentations=MappingProxyType({name: info for name, info in augmentations.items() if info.provider not in failed}),
        losses=MappingProxyType({name: info for name, info in losses.items() if info.provider not in failed}),
        sinks=MappingProxyType({name: info for name, info in sinks.items() if info.provider not in failed}),
    )
    return _current


_current: PluginRegistry | None = None
_configured: dict[str, Any] = {}


def configure_plugins(*, strict: bool | None = None, disable: Iterable[str] | None = None, autoload: bool | None = None) -> None:
    """Set the options the next load uses, without loading yet (the CLI's root options: ``--strict-plugins``, ``-D``, ``--builtins-only``).

    The plugins load on first use, so work that does not need them (starting worker processes)
    can begin first. Options left as None are read from the environment when they load.
    """
    global _current
    _remember_options(strict, disable, autoload)
    _current = None


def _remember_options(strict: bool | None, disable: Iterable[str] | None, autoload: bool | None) -> None:
    _configured.clear()
    given = {"strict": strict, "disable": None if disable is None else list(disable), "autoload": autoload}
    _configured.update({key: value for key, value in given.items() if value is not None})


def plugin_options() -> dict[str, Any]:
    """The :func:`load_plugins` keyword arguments of this process's registry, for another process to load the same plugins."""
    return dict(_configured)


def current_registry() -> PluginRegistry:
    """The registry of the last :func:`load_plugins`, loading with the configured options (or the environment's) on first use."""
    return _current if _current is not None else load_plugins(**_configured)


def reset_plugins() -> None:
    """Forget the loaded plugins and the configured options, so that the next use discovers them again from the environment."""
    global _current
    _current = None
    _configured.clear()
