"""``augmentlab bench``: how fast augmentlab's building blocks run, next to the classic alternatives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from augmentlab.cli_shared import check_output_file, registry_from_context
from augmentlab.errors import AugmentlabError, SpecError

bench_app = typer.Typer(name="bench", help="Measure how fast augmentlab's building blocks run.", no_args_is_help=True)
@bench_app.command("augment")
def bench_augment(
    ctx: typer.Context,
    aug: Annotated[Optional[str], typer.Option("--aug", metavar="SET", help="Augmentations to time, e.g. 'elastic,grid'; several also time the whole set. Default: every built-in, each at p=1.")] = None,
    device: Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda", help="Where ours and kornia's run; albumentations always runs on the CPU.")] = "auto",
    size: Annotated[int, typer.Option("--size", min=8, help="Image side in pixels.")] = 512,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Images per batch.")] = 32,
    repeats: Annotated[int, typer.Option("--repeats", metavar="N", min=1, help="Timed runs of each transform after 2 warm-up runs; the median is shown.")] = 5,
    json_path: Annotated[Optional[Path], typer.Option("--json", metavar="PATH", help="Also write the rows as JSON (images per second).")] = None,
) -> None:
    """Print images per second of each augmentation, next to stock kornia's and albumentations' equivalents."""
    from augmentlab import bench

    registry_from_context(ctx)
    torch_device = bench.resolve_bench_device(device)
    try:
        cases = bench.bench_cases(aug)
    except SpecError as error:
        raise AugmentlabError(f"--aug {error}") from None
    if json_path is not None:
        check_output_file(json_path, "--json")
    inputs = bench.make_bench_inputs(batch, size, torch_device)
    status = Console(stderr=True).status("measuring")
    with status:
        rows = bench.run_bench(cases, inputs, repeats, progress=lambda step: status.update(f"measuring {step}"))
    environment = bench.bench_environment(torch_device)
    Console().print(bench.bench_table(rows, environment, size, batch, repeats))
    if json_path is not None:
        settings = {"aug": aug, "size": size, "batch": batch, "repeats": repeats}
        try:
            json_path.write_text(json.dumps(bench.bench_json(rows, environment, settings), indent=2) + "\n")
        except OSError as error:
            raise AugmentlabError(f"--json {json_path}: cannot write it: {error.strerror or error}") from None
