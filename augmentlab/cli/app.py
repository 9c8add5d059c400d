"""The ``augmentlab`` command line: the root command, its plugin options, and how errors reach the user.

Bad input prints one line on stderr and exits 2; nothing prints a traceback for it. A library
error names parameters (``batch_size``); here they read as the flags that set them (``--batch-size``).
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from importlib import metadata
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

try:  # recent typer raises the exceptions of its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors

from augmentlab.cli import ablate, bench, data, export, plugins, preview, report
from augmentlab.cli.options import flag, invocation
from augmentlab.errors import AugmentlabError
from augmentlab.registry.loading import configure_plugins

EXIT_USAGE = 2


class AugmentlabGroup(TyperGroup):
    """Runs the command and turns every input error into one line and exit code 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        handler = _log_to_stderr()
        invocation.started_at = time.perf_counter()
        invocation.argv = list(args) if args is not None else sys.argv[1:]
        try:
            code = super().main(args=args, prog_name=prog_name or "augmentlab", complete_var=complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except click_errors.NoArgsIsHelpError as error:
            # The error is built from ctx.get_help(), which rich-formatted help has already printed (returning "").
            if error.format_message():
                typer.echo(error.format_message())
            code = 0
        except click_errors.UsageError as error:
            hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
            typer.echo(f"error: {error.format_message()}{hint}", err=True)
            code = EXIT_USAGE
        except click_errors.ClickException as error:
            typer.echo(f"error: {error.format_message()}", err=True)
            code = error.exit_code
        except AugmentlabError as error:
            typer.echo(f"error: {error.render(flag)}", err=True)
            code = EXIT_USAGE
        except (typer.Abort, KeyboardInterrupt) as stop:
            number = getattr(stop, "signal", signal.SIGINT)  # SIGTERM arrives as runner.ablation.Terminated
            typer.echo("interrupted" if number == signal.SIGINT else f"stopped by {signal.Signals(number).name}", err=True)
            code = 128 + number
        finally:
            logging.getLogger("augmentlab").removeHandler(handler)
        if standalone_mode:
            sys.exit(code)
        return code


def _log_to_stderr() -> logging.Handler:
    """Show augmentlab's warnings (such as a plugin that failed to load) as one line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.addLevelName(logging.WARNING, "warning")
    logger = logging.getLogger("augmentlab")
    logger.addHandler(handler)
    return handler


app = typer.Typer(
    cls=AugmentlabGroup,
    name="augmentlab",
    help="Find out, fast and honestly, which augmentations and losses help your segmentation model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"augmentlab {metadata.version('augmentlab')}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_show_version, help="Show the version and exit.")] = False,
    strict_plugins: Annotated[Optional[bool], typer.Option("--strict-plugins", help="Fail when a plugin cannot be loaded instead of skipping it (env AUGMENTLAB_STRICT_PLUGINS=1).")] = None,
    disable_plugin: Annotated[Optional[list[str]], typer.Option("--disable-plugin", "-D", metavar="NAME", help="Do not load the plugin NAME; repeatable (env AUGMENTLAB_DISABLE_PLUGINS=a,b).")] = None,
    builtins_only: Annotated[Optional[bool], typer.Option("--builtins-only", help="Load augmentlab's built-ins only (env AUGMENTLAB_DISABLE_PLUGIN_AUTOLOAD=1).")] = None,
) -> None:
    """Plugin loading options apply to every command; plugins load when a command first needs them."""
    configure_plugins(strict=strict_plugins, disable=disable_plugin or None, autoload=None if builtins_only is None else not builtins_only)


app.command("plugins")(plugins.plugins)
app.command("ablate")(ablate.ablate)
app.command("report")(report.report)
app.command("export")(export.export)
app.command("preview")(preview.preview)
app.add_typer(data.data_app, name="data")
app.add_typer(bench.bench_app, name="bench")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        # Exiting runs full collections over every object the command left, which takes 1.3 s
        # once torch and segmentation_models_pytorch are imported. Nothing is left to collect
        # that matters at exit (stores, files and workers are closed by then): freeze them all.
        gc.freeze()
