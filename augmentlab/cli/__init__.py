"""The ``augmentlab`` command line: one module per command, the shared options in ``options``, the root in ``app``."""

from augmentlab.cli.app import app, main

__all__ = ["app", "main"]
