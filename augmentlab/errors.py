"""Errors that reach users. Each carries one line that says what is wrong and how to fix it."""

from __future__ import annotations


class AugmentlabError(Exception):
    """Base class for errors caused by input; the CLI prints the message on one line and exits 2."""


class SpecError(AugmentlabError, ValueError):
    """A malformed or unresolvable augmentation or loss spec.

    Attributes:
        spec: the whole spec string as the user wrote it.
        position: 0-based offset of the offending part in ``spec``, or None when it concerns the whole.
        reason: the message without the spec prefix.
    """

    def __init__(self, reason: str, spec: str, position: int | None = None) -> None:
        self.reason = reason
        self.spec = spec
        self.position = position
        where = "" if position is None else f" (at column {position + 1})"
        super().__init__(f"in spec '{spec}'{where}: {reason}")


class PluginError(AugmentlabError):
    """A plugin could not be loaded, or two plugins claim the same name."""
