"""``augmentlab report DIR``: an ablation's report from its result store alone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from augmentlab.cli.options import output_console
from augmentlab.errors import AugmentlabError


def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="An ablation's output folder, e.g. runs/ablation-1a2b3c4d5e.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="Plain lines instead of tables.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", metavar="md|csv|json", help="Print the report in this format instead of tables.")] = None,
) -> None:
    """Print an ablation's report from its result store alone, and write report.md/.csv/.json/.png beside it."""
    from augmentlab.report import FORMATS, build_report, print_report, render_report, write_report_files
    from augmentlab.results.store import ResultStore

    if fmt is not None and fmt not in FORMATS:
        raise AugmentlabError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    with ResultStore.open_existing(folder) as store:
        built = build_report(store.info(), store.results())
    console = output_console(quiet)
    if fmt is None:
        print_report(built, console, quiet=quiet)
    else:
        typer.echo(render_report(built, fmt), nl=False)
    paths = write_report_files(built, folder)
    if fmt is None:
        console.print("wrote " + ", ".join(str(path) for path in paths), markup=False)
