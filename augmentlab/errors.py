"""Errors that reach users. Each carries one line that says what is wrong and how to fix it.

Library errors name the parameters a caller passed (``batch_size``, ``masks=``), never a
command-line flag: a message is built from text and :class:`Param` parts, and whoever shows it
chooses how a parameter reads. ``str(error)`` uses the Python names; the command line renders the
same error with its flags (``--batch-size``, ``--masks``) through :meth:`AugmentlabError.render`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Param:
    """A parameter named in an error message.

    Attributes:
        name: the Python name (``batch_size``, ``masks``), the key every front end maps to its own spelling.
        keyword: the library text is ``name=`` (a keyword argument of a function) rather than ``name`` (a setting).
    """

    name: str
    keyword: bool = False

    def python_text(self) -> str:
        return f"{self.name}=" if self.keyword else self.name


Part = Union[str, Param]
Naming = Callable[[Param], str]


def python_naming(param: Param) -> str:
    """How a parameter reads in a library message: ``batch_size``, or ``masks=`` for a keyword argument."""
    return param.python_text()


def render_parts(parts: tuple[Part, ...], naming: Naming = python_naming) -> str:
    return "".join(part if isinstance(part, str) else naming(part) for part in parts)


class AugmentlabError(Exception):
    """Base class for errors caused by input; the CLI prints the message on one line and exits 2.

    Args:
        parts: the message, as text and :class:`Param` parts: ``AugmentlabError(Param("batch_size"), " must be ≥ 2, got 1")``.
    """

    def __init__(self, *parts: Part) -> None:
        self.parts: tuple[Part, ...] = parts
        super().__init__(render_parts(parts))

    def render(self, naming: Naming) -> str:
        """The message with every parameter named by ``naming`` (the CLI passes its flag names)."""
        return render_parts(self.parts, naming)


class FieldError(AugmentlabError, ValueError):
    """A setting with a bad value: ``batch_size must be ≥ 2 (…), got 1``.

    Attributes:
        field: the setting's Python name (an :class:`~augmentlab.AblationConfig` field, a keyword argument).
        problem: what is wrong and what to give instead, after the name.
        source: where the value was written (a config file), or None when a caller passed it.
        key: how ``source`` spells the setting (``[recipe] epochs``); the message names it so.
    """

    def __init__(self, field: str, problem: str, *, source: str | None = None, key: str | None = None, keyword: bool = False) -> None:
        self.field, self.problem, self.source, self.key, self.keyword = field, problem, source, key, keyword
        if source is None:
            super().__init__(Param(field, keyword=keyword), f" {problem}")
        else:
            super().__init__(f"{source}: {key or field} {problem}")

    def located(self, source: str, key: str) -> FieldError:
        """The same error for a value read from ``source``, where the setting is spelt ``key``."""
        return FieldError(self.field, self.problem, source=source, key=key)


class SpecError(AugmentlabError, ValueError):
    """A malformed or unresolvable augmentation or loss spec.

    Attributes:
        spec: the whole spec string as the user wrote it.
        position: 0-based offset of the offending part in ``spec``, or None when it concerns the whole.
        reason: the message without the spec prefix, as library text.
    """

    def __init__(self, reason: str | tuple[Part, ...], spec: str, position: int | None = None) -> None:
        reason_parts = (reason,) if isinstance(reason, str) else tuple(reason)
        self.reason = render_parts(reason_parts)
        self.spec = spec
        self.position = position
        where = "" if position is None else f" (at column {position + 1})"
        super().__init__(f"in spec '{spec}'{where}: ", *reason_parts)

    def for_setting(self, name: str, source: str | None = None) -> AugmentlabError:
        """The error as that of setting ``name`` (``aug in spec 'hflp' …``, ``--aug in spec …`` on the command line);
        with ``source``, as written in that file (``exp.toml: arms[1].aug in spec …``)."""
        if source is not None:
            return AugmentlabError(f"{source}: {name} ", *self.parts)
        return AugmentlabError(Param(name), " ", *self.parts)


class PluginError(AugmentlabError):
    """A plugin could not be loaded, breaks a registration rule, or two plugins claim the same name."""


class StoreError(AugmentlabError):
    """The result store of an output folder cannot be opened or written; the message says why and what to do."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def one_line(error: BaseException) -> str:
    """``TypeName: first line of the message``: how a foreign exception is reported in one line."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0].strip()}" if text else type(error).__name__
