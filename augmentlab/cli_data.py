"""`augmentlab data …` and the dataset options that every command reading data shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from augmentlab.errors import AugmentlabError

DataOption = Annotated[Optional[Path], typer.Option("--data", help="A COCO json, or an image folder with --masks (default: the built-in demo data).")]
ImagesOption = Annotated[Optional[Path], typer.Option("--images", metavar="DIR", help="Folder of a COCO json's images (default: beside the json).")]
MasksOption = Annotated[Optional[Path], typer.Option("--masks", metavar="DIR", help="Folder of index-PNG masks matching --data's images by file stem.")]
ValOption = Annotated[Optional[Path], typer.Option("--val", help="Validation data: a COCO json, or an image folder with --val-masks.")]
ValMasksOption = Annotated[Optional[Path], typer.Option("--val-masks", metavar="DIR", help="Masks of the --val image folder.")]
ValSplitOption = Annotated[float, typer.Option("--val-split", help="Without --val: the seeded share of --data held out for validation.")]
IgnoreIndexOption = Annotated[int, typer.Option("--ignore-index", help="Mask value of pixels without a label (void).")]
ClassesOption = Annotated[Optional[str], typer.Option("--classes", metavar="A,B,…", help="Class names of a folder dataset, background first.")]
StrictOption = Annotated[bool, typer.Option("--strict", help="Treat skippable data problems (degenerate polygons, unmatched files) as errors.")]


def dataset_options(images: Path | None, masks: Path | None, ignore_index: int, classes: str | None, strict: bool) -> dict[str, Any]:
    """The keyword arguments of ``load_dataset`` / ``load_splits`` from the shared options."""
    names = None
    if classes is not None:
        names = [name.strip() for name in classes.split(",")]
        if not all(names):
            raise AugmentlabError(f"--classes {classes!r} has an empty name; write names separated by commas, background first")
    return {"images": images, "masks": masks, "ignore_index": ignore_index, "classes": names, "strict": strict}


data_app = typer.Typer(name="data", help="Datasets: the built-in demo data and per-class statistics.", no_args_is_help=True)


@data_app.command("demo")
def data_demo(
    out: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Write the demo data here (an empty or new folder) instead of the default location.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generator (with --out); the same seed gives the same bytes.")] = 0,
) -> None:
    """Write the built-in demo dataset: synthetic waste-sorting scenes as JPEGs plus COCO jsons."""
    from augmentlab.data.demo import demo_dataset, generate_demo_dataset

    if out is None:
        paths = demo_dataset()
    else:
        try:
            paths = generate_demo_dataset(out, seed=seed)
        except ValueError as error:
            raise AugmentlabError(f"--seed: {error}") from None
    typer.echo(f"demo data (synthetic): {paths.train_json}, {paths.val_json}, images in {paths.images}")


@data_app.command("stats")
def data_stats(
    data: DataOption = None,
    val: ValOption = None,
    val_split: ValSplitOption = 0.2,
    images: ImagesOption = None,
    masks: MasksOption = None,
    val_masks: ValMasksOption = None,
    ignore_index: IgnoreIndexOption = 255,
    classes: ClassesOption = None,
    strict: StrictOption = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --val-split split.")] = 0,
) -> None:
    """Print image counts and sizes, then per class the pixel share, instances and images, for train and val."""
    from augmentlab.data import load_splits, stats_table, stats_warnings
    from augmentlab.data.stats import describe_images

    options = dataset_options(images, masks, ignore_index, classes, strict)
    train, validation = load_splits(data, val=val, val_masks=val_masks, val_split=val_split, seed=seed, **options)
    train_stats, val_stats = train.class_stats(), validation.class_stats()
    console = Console()
    console.print(f"data: {data or 'built-in demo data (synthetic)'}")
    console.print(f"train: {describe_images(train_stats)}")
    console.print(f"val: {describe_images(val_stats)}")
    console.print(stats_table(train_stats, val_stats))
    for warning in stats_warnings(train_stats, val_stats):
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
