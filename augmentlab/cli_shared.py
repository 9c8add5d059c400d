"""What several command modules share: the plugin registry of this invocation and output-path checks."""

from __future__ import annotations

from pathlib import Path

import typer

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
