"""``augmentlab plugins``: what is installed and loaded, as tables or JSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from augmentlab.cli.options import output_console
from augmentlab.registry.loading import PluginRegistry, current_registry
from augmentlab.registry.spec import format_value


def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")] = False,
) -> None:
    """List the loaded plugins, and every augmentation, loss and result sink with its provider and defaults."""
    registry = current_registry()
    if as_json:
        typer.echo(json.dumps(_registry_as_json(registry), indent=2))
        return
    console = output_console()
    table = Table(title="Plugins", title_justify="left")
    for column in ("name", "version", "origin", "status"):
        table.add_column(column)
    for plugin in registry.plugins:
        status = plugin.status if plugin.error is None else f"{plugin.status}: {plugin.error}"
        style = {"loaded": "green", "failed": "red", "disabled": "yellow"}[plugin.status]
        table.add_row(plugin.name, plugin.version, plugin.distribution, f"[{style}]{status}[/]")
    console.print(table)

    augmentations = sorted(registry.augmentations.values(), key=lambda info: (info.kind, info.name))
    console.print(_named_table("Augmentations", ("name", "kind", "provider", "defaults", "description"),
                               [(i.name, i.kind, i.provider, _format_defaults(i.defaults), i.doc) for i in augmentations]))
    losses = sorted(registry.losses.values(), key=lambda info: info.name)
    console.print(_named_table("Losses", ("name", "provider", "defaults", "description"),
                               [(i.name, i.provider, _format_defaults(i.defaults), i.doc) for i in losses]))
    sinks = sorted(registry.sinks.values(), key=lambda info: info.name)
    console.print(_named_table("Result sinks (--track SINK, --track-opt SINK.KEY=VALUE)", ("name", "provider", "options", "description"),
                               [(i.name, i.provider, _format_defaults(i.defaults), i.doc) for i in sinks]))


def _named_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _format_defaults(defaults: dict[str, Any]) -> str:
    return ", ".join(f"{key}={format_value(tuple(value) if isinstance(value, list) else value)}" for key, value in defaults.items())


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _registry_as_json(registry: PluginRegistry) -> dict[str, Any]:
    return {
        "plugins": [
            {"name": p.name, "distribution": p.distribution, "version": p.version, "module": p.module, "status": p.status, "error": p.error}
            for p in registry.plugins
        ],
        "augmentations": [
            {"name": i.name, "provider": i.provider, "kind": i.kind, "doc": i.doc, "defaults": {k: _jsonable(v) for k, v in i.defaults.items()}}
            for i in registry.augmentations.values()
        ],
        "losses": [
            {"name": i.name, "provider": i.provider, "doc": i.doc, "defaults": {k: _jsonable(v) for k, v in i.defaults.items()}}
            for i in registry.losses.values()
        ],
        "sinks": [
            {"name": i.name, "provider": i.provider, "doc": i.doc, "options": {k: _jsonable(v) for k, v in i.defaults.items()}}
            for i in registry.sinks.values()
        ],
    }
