"""What several command modules share: the plugin registry of this invocation and output-path checks."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from augmentlab.errors import AugmentlabError
from augmentlab.plugin_manager import PluginRegistry, load_plugins


def registry_from_context(ctx: typer.Context) -> PluginRegistry:
    """Load the plugins as the root command's options (--strict-plugins, -D, --builtins-only) ask."""
    return load_plugins(**(ctx.find_root().obj or {}))


def check_output_file(path: Path, option: str) -> None:
    """Fail before any work when ``path`` cannot be a new or replaced file."""
    if path.is_dir():
        raise AugmentlabError(f"{option} {path} is a folder; give a file path")
    if not path.parent.is_dir():
        raise AugmentlabError(f"{option} {path}: the folder {path.parent} does not exist")


def output_console(quiet: bool = False) -> Console:
    """Tables for a terminal; plain unwrapped lines with ``--quiet``. Output to a file or pipe gets
    160 columns rather than rich's 80, so that a log keeps the tables readable."""
    width = None if quiet or sys.stdout.isatty() else 160
    return Console(no_color=quiet, highlight=not quiet, soft_wrap=quiet, width=width)
