"""What several commands share: the data options, the invocation, the plugin registry, flag names, output helpers.

Every command that reads data takes the same options, declared once here and turned into
:class:`~augmentlab.AblationConfig` settings by :func:`data_settings`, so the config checks them
the same way for every command.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from augmentlab.errors import AugmentlabError, FieldError, Param
from augmentlab.runner.config import AblationConfig


def flag(param: Param) -> str:
    """The command-line spelling of a setting: ``batch_size`` is ``--batch-size``."""
    return "--" + param.name.replace("_", "-")


def option_help(name: str, extra: str = "") -> str:
    """The help of the AblationConfig setting ``name``, shared by the option that sets it (escaped, so that rich shows ``augmentlab[ray]`` as written)."""
    return escape(AblationConfig().help(name) + extra)


@dataclass
class Invocation:
    """The running command line: its arguments (for command.txt and the resume hint) and when it started."""

    argv: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.perf_counter)


invocation = Invocation()


DataOption = Annotated[Optional[Path], typer.Option("--data", help=option_help("data"))]
ImagesOption = Annotated[Optional[Path], typer.Option("--images", metavar="DIR", help=option_help("images"))]
MasksOption = Annotated[Optional[Path], typer.Option("--masks", metavar="DIR", help=option_help("masks"))]
ValOption = Annotated[Optional[Path], typer.Option("--val", help=option_help("val"))]
ValImagesOption = Annotated[Optional[Path], typer.Option("--val-images", metavar="DIR", help=option_help("val_images"))]
ValMasksOption = Annotated[Optional[Path], typer.Option("--val-masks", metavar="DIR", help=option_help("val_masks"))]
ValSplitOption = Annotated[Optional[float], typer.Option("--val-split", help=option_help("val_split", " [default: 0.2]"))]
IgnoreIndexOption = Annotated[Optional[int], typer.Option("--ignore-index", help=option_help("ignore_index", " [default: 255]"))]
ClassesOption = Annotated[Optional[str], typer.Option("--classes", metavar="A,B,…", help=option_help("classes"))]
MaskColoursOption = Annotated[Optional[Path], typer.Option("--mask-colours", metavar="FILE.csv", help=option_help("mask_colours"))]
StrictOption = Annotated[Optional[bool], typer.Option("--strict", help=option_help("strict"))]


def data_settings(
    data: Path | None = None,
    *,
    val: Path | None = None,
    images: Path | None = None,
    masks: Path | None = None,
    val_images: Path | None = None,
    val_masks: Path | None = None,
    val_split: float | None = None,
    ignore_index: int | None = None,
    classes: str | None = None,
    strict: bool | None = None,
    mask_colours: Path | None = None,
) -> dict[str, Any]:
    """The data options given on the command line as AblationConfig settings (``None``: not given)."""
    return {
        "data": data, "val": val, "images": images, "masks": masks, "val_images": val_images, "val_masks": val_masks,
        "val_split": val_split, "ignore_index": ignore_index, "classes": class_names(classes), "strict": strict,
        "mask_colours": mask_colours,
    }


def data_config(data: Path | None = None, **options: Any) -> AblationConfig:
    """The data options of a command that reads data and trains nothing, as a checked config (see :func:`data_settings`)."""
    config = AblationConfig().with_overrides(**data_settings(data, **options))
    config.validate_data()
    return config


def class_names(classes: str | None) -> tuple[str, ...] | None:
    """``--classes a,b,c`` as names; an empty name is an error."""
    if classes is None:
        return None
    names = tuple(name.strip() for name in classes.split(","))
    if not all(names):
        raise FieldError("classes", f"{classes!r} has an empty name; write names separated by commas, background first")
    return names


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
