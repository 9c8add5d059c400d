"""The ``augmentlab`` command line.

Bad input prints one line on stderr and exits 2; nothing prints a traceback for it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

try:  # recent typer raises the exceptions of its own copy of click
    from typer._click import exceptions as click_errors
    from typer._click.core import ParameterSource
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors
    from click.core import ParameterSource

from augmentlab import __version__
from augmentlab.cli_bench import bench_app
from augmentlab.cli_data import (
    ClassesOption,
    DataOption,
    IgnoreIndexOption,
    ImagesOption,
    MasksOption,
    StrictOption,
    ValMasksOption,
    ValOption,
    ValSplitOption,
    data_app,
    dataset_options,
)
from augmentlab.cli_shared import check_output_file, output_console, registry_from_context
from augmentlab.errors import AugmentlabError, SpecError
from augmentlab.plugin_manager import PluginRegistry
from augmentlab.spec import format_value

EXIT_USAGE = 2

_argv: list[str] = []
"""The arguments of the running invocation, kept by AugmentlabGroup.main for command.txt and the resume hint."""
_invoked = [0.0]
"""When the running invocation started (``time.perf_counter``), for the time line an ablation prints."""


class AugmentlabGroup(TyperGroup):
    """Runs the command and turns every input error into one line and exit code 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        handler = _log_to_stderr()
        _invoked[0] = time.perf_counter()
        _argv[:] = list(args) if args is not None else sys.argv[1:]
        try:
            code = super().main(args=args, prog_name=prog_name or "augmentlab", complete_var=complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except click_errors.NoArgsIsHelpError as error:
            typer.echo(error.ctx.get_help() if error.ctx else "")
            code = 0
        except click_errors.UsageError as error:
            hint = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
            typer.echo(f"error: {error.format_message()}{hint}", err=True)
            code = EXIT_USAGE
        except click_errors.ClickException as error:
            typer.echo(f"error: {error.format_message()}", err=True)
            code = error.exit_code
        except AugmentlabError as error:
            typer.echo(f"error: {error}", err=True)
            code = EXIT_USAGE
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("interrupted", err=True)
            code = 130
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
        typer.echo(f"augmentlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_show_version, help="Show the version and exit.")] = False,
    strict_plugins: Annotated[Optional[bool], typer.Option("--strict-plugins", help="Fail when a plugin cannot be loaded instead of skipping it (env AUGMENTLAB_STRICT_PLUGINS=1).")] = None,
    disable_plugin: Annotated[Optional[list[str]], typer.Option("--disable-plugin", "-D", metavar="NAME", help="Do not load the plugin NAME; repeatable (env AUGMENTLAB_DISABLE_PLUGINS=a,b).")] = None,
    builtins_only: Annotated[Optional[bool], typer.Option("--builtins-only", help="Load augmentlab's built-ins only (env AUGMENTLAB_DISABLE_PLUGIN_AUTOLOAD=1).")] = None,
) -> None:
    """Plugin loading options apply to every command."""
    ctx.obj = {"strict": strict_plugins, "disable": disable_plugin or None, "autoload": None if builtins_only is None else not builtins_only}




@app.command()
def plugins(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")] = False,
) -> None:
    """List the loaded plugins, and every augmentation and loss with its provider and defaults."""
    registry = registry_from_context(ctx)
    if as_json:
        typer.echo(json.dumps(_registry_as_json(registry), indent=2))
        return
    console = Console()
    table = Table(title="Plugins", title_justify="left")
    for column in ("name", "version", "origin", "status"):
        table.add_column(column)
    for plugin in registry.plugins:
        status = plugin.status if plugin.error is None else f"{plugin.status}: {plugin.error}"
        style = {"loaded": "green", "failed": "red", "disabled": "yellow"}[plugin.status]
        table.add_row(plugin.name, plugin.version, plugin.distribution, f"[{style}]{status}[/]")
    console.print(table)

    table = Table(title="Augmentations", title_justify="left")
    for column in ("name", "kind", "provider", "defaults", "description"):
        table.add_column(column, overflow="fold")
    for info in sorted(registry.augmentations.values(), key=lambda info: (info.kind, info.name)):
        table.add_row(info.name, info.kind, info.provider, _format_defaults(info.defaults), info.doc)
    console.print(table)

    table = Table(title="Losses", title_justify="left")
    for column in ("name", "provider", "defaults", "description"):
        table.add_column(column, overflow="fold")
    for info in sorted(registry.losses.values(), key=lambda info: info.name):
        table.add_row(info.name, info.provider, _format_defaults(info.defaults), info.doc)
    console.print(table)


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
    }


@app.command()
def ablate(
    ctx: typer.Context,
    aug: Annotated[Optional[list[str]], typer.Option("--aug", metavar="SET", help="An augmentation set such as 'elastic,grid' or 'elastic(alpha=2),hflip'; repeatable. `none` is always an arm.")] = None,
    loss: Annotated[Optional[list[str]], typer.Option("--loss", metavar="SPEC", help="A loss spec such as 'ce0.8+focal0.2'; repeatable. `ce` is always an arm.")] = None,
    each: Annotated[Optional[bool], typer.Option("--each", help="Also try each member of a comma set alone.")] = None,
    seeds: Annotated[Optional[int], typer.Option("--seeds", metavar="N", help="Repeat every arm with seeds 0..N-1 (default: 1).")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Training epochs per run (default: from the preset).")] = None,
    image_size: Annotated[Optional[int], typer.Option("--image-size", help="Training size in pixels, a multiple of 16 (default: from the preset).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Images per step (default: from the preset).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Adam learning rate (default: from the preset).")] = None,
    encoder: Annotated[Optional[str], typer.Option("--encoder", help="segmentation_models_pytorch encoder (default: from the preset).")] = None,
    encoder_weights: Annotated[Optional[str], typer.Option("--encoder-weights", metavar="imagenet|none|PATH", help="Encoder initialisation (default: from the preset).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", metavar="auto|cpu|cuda", help="Training device (default: auto).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", metavar="demo|standard", help="Recipe defaults (default: demo on CPU, standard on CUDA).")] = None,
    data: DataOption = None,
    val: ValOption = None,
    val_split: ValSplitOption = 0.2,
    images: ImagesOption = None,
    masks: MasksOption = None,
    val_masks: ValMasksOption = None,
    ignore_index: IgnoreIndexOption = 255,
    classes: ClassesOption = None,
    strict: StrictOption = False,
    out: Annotated[Path, typer.Option("--out", help="Folder that holds one sub-folder per ablation.")] = Path("runs"),
    name: Annotated[Optional[str], typer.Option("--name", help="Sub-folder name (default: derived from the plan, so the same command resumes).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", metavar="FILE.toml", help="Arms and recipe from a file; command-line options override it.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Plain log lines instead of tables and live progress, for CI logs.")] = False,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the model (slower start, faster steps on a GPU).")] = False,
    cudnn_benchmark: Annotated[Optional[bool], typer.Option("--cudnn-benchmark/--no-cudnn-benchmark", help="On CUDA, have cuDNN time its algorithms for each convolution once per process and keep the fastest (default: on for the standard preset, off for demo, whose runs train for less time than the timing takes).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything and print the plan, then stop: nothing is trained or written.")] = False,
    parallel: Annotated[int, typer.Option("--parallel", metavar="K", min=1, help="Train K runs at once in separate processes on each device (small models leave a large GPU idle).")] = 1,
    devices: Annotated[Optional[str], typer.Option("--devices", metavar="0,1,...", help="CUDA devices to spread runs over, one run per device at a time (times --parallel).")] = None,
    executor: Annotated[str, typer.Option("--executor", metavar="local|ray", help="local: this machine (sequential, or --parallel/--devices); ray: a Ray cluster (pip install 'augmentlab[ray]').")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", metavar="auto|ray://HOST:PORT", help="Ray cluster to join with --executor ray (default: auto, or a local Ray if none runs).")] = None,
    gpus_per_run: Annotated[Optional[float], typer.Option("--gpus-per-run", min=0, help="GPUs each run asks Ray for (default: 1 with --device cuda, else 0).")] = None,
    cpus_per_run: Annotated[Optional[float], typer.Option("--cpus-per-run", min=0, help="CPUs each run asks Ray for (default: 1).")] = None,
    cache_memory: Annotated[Optional[float], typer.Option("--cache-memory", metavar="GiB", min=0, help="Most device memory the decoded dataset may take; over it, batches come from pinned host memory (default on CUDA: half the free memory).")] = None,
) -> None:
    """Train the fixed DeepLabV3+ baseline with each plugin set over several seeds and compare them.

    Arms are a full factorial: {none} ∪ each --aug set, times {ce} ∪ each --loss spec.
    """
    from augmentlab.plan import AUTOTUNED_PRESETS, AblationPlan, build_recipe, check_batch_fits, check_run_name, explicit_arms, factorial_arms, read_config, resolve_device

    settings = read_config(config) if config else {}
    source = str(config) if config else ""
    requested_device = device or settings.get("device", "auto")
    if executor == "ray" and (requested_device == "cuda" or (gpus_per_run or 0) > 0):
        device_name, default_preset = "cuda", "standard"  # the GPUs are on the Ray cluster, not necessarily here
    else:
        device_name, default_preset = resolve_device(requested_device)
    slots = _worker_slots(device_name, parallel, devices)
    ray_options = _ray_options(executor, address, gpus_per_run, cpus_per_run, device_name, slots)
    from augmentlab.executors import ProcessExecutor

    # Local worker processes start first, so that their imports, plugins and device set-up
    # overlap everything the driver does until the first run.
    workers = ProcessExecutor(slots, ctx.find_root().obj) if ray_options is None and len(slots) > 1 and not dry_run else None
    if workers is not None:
        workers.start()
    try:
        registry_from_context(ctx)
        chosen_preset = preset or settings.get("preset") or default_preset
        overrides = {**settings.get("recipe", {})}
        cli_recipe = {"epochs": epochs, "image_size": image_size, "batch_size": batch_size, "lr": lr, "encoder": encoder, "encoder_weights": encoder_weights}
        overrides.update({key: value for key, value in cli_recipe.items() if value is not None})
        recipe = build_recipe(chosen_preset, overrides, source)
        autotune = cudnn_benchmark if cudnn_benchmark is not None else chosen_preset in AUTOTUNED_PRESETS

        seed_count = seeds if seeds is not None else settings.get("seeds", 1)
        if isinstance(seed_count, bool) or not isinstance(seed_count, int) or seed_count < 1:
            raise AugmentlabError(f"--seeds must be a whole number ≥ 1, got {seed_count!r}")
        data_path = data or (Path(settings["data"]) if "data" in settings else None)
        val, images, masks, val_masks = (
            given or (Path(settings[key]) if key in settings else None)
            for given, key in ((val, "val"), (images, "images"), (masks, "masks"), (val_masks, "val_masks"))
        )

        val_split, ignore_index, classes, strict = _data_settings(ctx, settings, source, val_split, ignore_index, classes, strict)
        aug_sets = aug if aug is not None else settings.get("aug", [])
        loss_specs = loss if loss is not None else settings.get("loss", [])
        try:
            if "arms" in settings and aug is None and loss is None:
                if "aug" in settings or "loss" in settings:
                    raise AugmentlabError(f"{source}: give either [[arms]] or aug/loss lists, not both")
                arms = explicit_arms(settings["arms"], source)
            else:
                arms = factorial_arms(aug_sets, loss_specs, each=each if each is not None else bool(settings.get("each", False)))
        except SpecError as error:
            option = "--aug" if _is_augmentation_error(error, aug_sets) else "--loss"
            raise AugmentlabError(f"{option} {error}") from None

        from augmentlab.data import load_splits
        from augmentlab.executors import DataRequest, absolute

        size = (recipe.image_size, recipe.image_size)
        options = dataset_options(images, masks, ignore_index, classes, strict)
        budget = None if cache_memory is None else int(cache_memory * 2**30)
        request = DataRequest(
            data=absolute(data_path), val=absolute(val), val_masks=absolute(val_masks), val_split=val_split,
            options={**options, "images": absolute(images), "masks": absolute(masks)}, size=size,
            plugin_options=ctx.find_root().obj or {}, memory_budget_bytes=budget,
        )
        # Loading checks the data (and rasterizes and caches COCO masks once) before anything trains.
        train, validation = load_splits(data_path, val=val, val_masks=val_masks, val_split=val_split, **options, size=size)
        if workers is not None:
            workers.data_ready(request, recipe, autotune)
        plan = AblationPlan(tuple(arms), tuple(range(seed_count)), recipe, chosen_preset, device_name)
        data_key = train.cache_key + validation.cache_key
        run_name = check_run_name(name or settings.get("name") or _default_name(plan, data_key))
        folder = out / run_name
        # --quiet: plain lines without colour or tables, for CI logs.
        console = output_console(quiet)
        how = "--preset" if preset else ("the config file" if "preset" in settings else f"the default for {device_name}")
        tuning = f", cuDNN benchmark {'on' if autotune else 'off'}" if device_name.startswith("cuda") else ""
        console.print(f"preset: {chosen_preset} ({how}); device: {device_name}{tuning}")
        source = data_path or "built-in demo data (synthetic)"
        console.print(f"data: {source}: {len(train)} train / {len(validation)} val images, {train.num_classes} classes")
        _print_plan(console, plan, folder, quiet)
        check_batch_fits(recipe.batch_size, len(train))
        if dry_run:
            console.print("dry run: nothing was trained or written", markup=False)
            return
        if recipe.encoder_weights != "none":
            from augmentlab.model import build_model

            build_model(recipe.encoder, recipe.encoder_weights, train.num_classes)  # fetch or read the weights once, before any run
        data_text = f"{request.data or source} ({hashlib.sha256(data_key.encode()).hexdigest()[:12]})"
        _run_ablation(ctx, plan, (train, validation), request, slots, ray_options, workers, folder, data_text, console, quiet, compile, autotune)
    finally:
        # Running closed them after the last run; if nothing ran (an error, a dry run, a finished
        # folder), stop them now rather than wait for their start-up.
        if workers is not None:
            workers.close(terminate=True)


# The data options whose defaults are not None: a config file sets them where the command line does not.
_CONFIG_DATA_OPTIONS: dict[str, tuple[tuple[type, ...], str]] = {
    "val_split": ((float, int), "a number between 0 and 1"),
    "ignore_index": ((int,), "a whole number"),
    "strict": ((bool,), "true or false"),
}


def _data_settings(
    ctx: typer.Context, settings: dict[str, Any], source: str, val_split: float, ignore_index: int, classes: str | None, strict: bool
) -> tuple[float, int, str | None, bool]:
    """``--val-split``, ``--ignore-index``, ``--classes`` and ``--strict`` as given on the command line,
    else as the config file sets them (``classes`` as a list of names), else their defaults."""
    given = {"val_split": val_split, "ignore_index": ignore_index, "strict": strict}
    for key, (types, expected) in _CONFIG_DATA_OPTIONS.items():
        if key not in settings or ctx.get_parameter_source(key) is not ParameterSource.DEFAULT:
            continue
        setting = settings[key]
        if not isinstance(setting, types) or (isinstance(setting, bool) and bool not in types):
            raise AugmentlabError(f"{source}: {key} must be {expected}, got {setting!r}")
        given[key] = setting
    if classes is None and "classes" in settings:
        names = settings["classes"]
        if not isinstance(names, list) or not names or not all(isinstance(name, str) and name.strip() and "," not in name for name in names):
            raise AugmentlabError(f"{source}: classes must be a list of names without commas, background first, got {names!r}")
        classes = ",".join(names)
    return given["val_split"], given["ignore_index"], classes, given["strict"]


def _ray_options(executor: str, address: str | None, gpus: float | None, cpus: float | None, device: str, slots: list[str]) -> dict[str, Any] | None:
    """The Ray executor's settings, or None for the local executor; Ray options without ``--executor ray`` are an error."""
    if executor not in ("local", "ray"):
        raise AugmentlabError(f"--executor {executor!r} is not one of local, ray")
    if executor == "local":
        given = [name for name, value in (("--address", address), ("--gpus-per-run", gpus), ("--cpus-per-run", cpus)) if value is not None]
        if given:
            raise AugmentlabError(f"{given[0]} goes with --executor ray")
        return None
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise AugmentlabError("--executor ray needs Ray, which is not installed; pip install 'augmentlab[ray]'")
    if len(slots) > 1:
        raise AugmentlabError("--parallel and --devices are for the local executor; with --executor ray, Ray places runs by --gpus-per-run and --cpus-per-run")
    return {"address": address, "gpus_per_run": (1.0 if device == "cuda" else 0.0) if gpus is None else gpus, "cpus_per_run": 1.0 if cpus is None else cpus}


def _worker_slots(device: str, parallel: int, devices: str | None) -> list[str]:
    """The device of each concurrent run: ``--parallel`` copies of each of ``--devices`` (or of ``device``)."""
    if devices is None:
        return [device] * parallel
    import torch

    if device != "cuda":
        raise AugmentlabError(f"--devices needs CUDA devices, but the training device is {device}; drop --devices or pass --device cuda")
    try:
        indices = [int(part) for part in devices.split(",")]
    except ValueError:
        raise AugmentlabError(f"--devices {devices!r} must list CUDA device numbers separated by commas, e.g. 0,1") from None
    count = torch.cuda.device_count()
    wrong = [index for index in indices if not 0 <= index < count]
    if wrong or len(set(indices)) != len(indices):
        raise AugmentlabError(f"--devices {devices!r}: this machine has CUDA devices 0..{count - 1}; list each once")
    return [f"cuda:{index}" for index in indices for _ in range(parallel)]


def _run_ablation(
    ctx: typer.Context, plan: Any, splits: tuple[Any, Any], request: Any, slots: list[str], ray_options: dict[str, Any] | None, workers: Any,
    folder: Path, data_text: str, console: Console, quiet: bool, compile: bool, cudnn_benchmark: bool,
) -> None:
    """Train what the folder lacks, then print and write the report; exit 1 when a run failed.

    ``workers``: the started :class:`ProcessExecutor` when runs go to local worker processes.
    """
    from augmentlab import ablate as runner
    from augmentlab.executors import SequentialExecutor
    from augmentlab.progress import AblationProgress
    from augmentlab.store import ResultStore

    train, validation = splits
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AugmentlabError(f"--out {folder.parent}: cannot create {folder}: {error.strerror or error}") from None
    with ResultStore(folder) as store:
        info = store.begin(runner.ablation_info(plan, folder.name, train.class_names, train.ignore_index, data_text))
        command = runner.write_command(folder, _invocation_argv())
        runner.write_resolved_config(folder, info, request)
        pending = runner.pending_runs(plan, store, compile, cudnn_benchmark)
        done = len(plan.runs) - len(pending)
        if done:
            console.print(f"resuming {folder}: {done} of {len(plan.runs)} runs already finished, {len(pending)} to run", markup=False)
        if pending:
            registry = registry_from_context(ctx)
            versions = runner.run_versions([(p.distribution, p.version) for p in registry.plugins if p.status == "loaded"])
            if ray_options is not None:
                from augmentlab.executors_ray import RayExecutor

                executor: Any = RayExecutor(request, versions, **ray_options)
                console.print(f"runs go to Ray ({executor.describe()})", markup=False)
            elif workers is not None:
                console.print(f"{len(slots)} runs at a time, in worker processes on {', '.join(sorted(set(slots)))}", markup=False)
                workers.versions = versions
                executor = workers
            else:
                executor = SequentialExecutor(runner.training_data(train, validation, slots[0], request.memory_budget_bytes), versions)
                from augmentlab.train import warm_up

                seconds = warm_up(plan.recipe, len(train.class_names), slots[0], cudnn_benchmark)  # the executor's own call then has nothing to do
                if seconds:
                    what = "cuDNN timing its algorithms, kernels loading" if cudnn_benchmark else "kernels loading; no cuDNN timing"
                    console.print(f"warmed up {slots[0]} for the recipe's shapes in {seconds:.1f} s ({what}), kept out of every run's time", markup=False)
            runs_started = time.perf_counter()
            with AblationProgress(console, len(pending), quiet) as progress:
                try:
                    runner.execute(pending, executor, store, progress)
                except KeyboardInterrupt:
                    finished = len(store.finished())
                    console.print(f"interrupted: {finished} finished runs are saved in {folder}; resume with: {command}", markup=False)
                    raise typer.Exit(130) from None
            ran = {(run.arm, run.seed) for run in pending}
            trained = [result.train_seconds or 0.0 for result in store.results() if (result.arm, result.seed) in ran]
            wall = time.perf_counter() - runs_started
            console.print(runner.time_line(runs_started - _invoked[0], trained, wall, len(slots) if workers is not None else 1), markup=False)
        failed = _report(store, folder, console, quiet)
    if failed:
        console.print(f"{failed} run(s) failed (see the notes in {folder / 'report.md'}); run the same command again to retry them", markup=False)
        raise typer.Exit(1)


def _report(store: Any, folder: Path, console: Console, quiet: bool, fmt: str | None = None) -> int:
    """Print the report of ``store`` (as tables, or in ``fmt``), write its files into ``folder``, and
    return how many planned runs failed."""
    from augmentlab.report import build_report, print_report, render_report, write_report_files

    results = store.results()
    report = build_report(store.info(), results)
    if fmt is None:
        print_report(report, console, quiet=quiet)
    else:
        typer.echo(render_report(report, fmt), nl=False)
    paths = write_report_files(report, folder)
    if fmt is None:
        console.print("wrote " + ", ".join(str(path) for path in paths), markup=False)
    return sum(result.status == "failed" for result in results)


def _invocation_argv() -> list[str]:
    """The arguments of this invocation, for command.txt and the resume hint."""
    return list(_argv)


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="An ablation's output folder, e.g. runs/ablation-1a2b3c4d5e.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="Plain lines instead of tables.")] = False,
    fmt: Annotated[Optional[str], typer.Option("--format", metavar="md|csv|json", help="Print the report in this format instead of tables.")] = None,
) -> None:
    """Print an ablation's report from its result store alone, and write report.md/.csv/.json/.png beside it."""
    from augmentlab.report_formats import FORMATS
    from augmentlab.store import ResultStore

    if fmt is not None and fmt not in FORMATS:
        raise AugmentlabError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    with ResultStore.open_existing(folder) as store:
        _report(store, folder, output_console(quiet), quiet, fmt)


def _is_augmentation_error(error: SpecError, aug_sets: list[str]) -> bool:
    return error.spec in aug_sets or error.spec == "none"


def _default_name(plan: Any, data_key: str) -> str:
    """A folder name that depends only on the arms, the recipe and the data, so re-running a command resumes it.

    Seeds are left out on purpose: the same command with more ``--seeds`` extends the folder and
    trains only the new seeds.
    """
    key = json.dumps([[arm.name for arm in plan.arms], repr(plan.recipe), plan.device, data_key])
    return f"ablation-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _print_plan(console: Console, plan: Any, folder: Path, quiet: bool) -> None:
    title = f"{len(plan.arms)} arms × {len(plan.seeds)} seeds = {len(plan.runs)} runs → {folder}"
    if quiet:
        console.print(title, markup=False)
        for index, arm in enumerate(plan.arms):
            console.print(f"arm {index}: {arm.name}{' (baseline)' if arm.is_baseline else ''}", markup=False)
    else:
        table = Table(title=title, title_justify="left")
        for column in ("#", "augmentation", "loss", "role"):
            table.add_column(column)
        for index, arm in enumerate(plan.arms):
            table.add_row(str(index), str(arm.augmentation), str(arm.loss), "baseline" if arm.is_baseline else "")
        console.print(table)
    r = plan.recipe
    console.print(
        f"recipe: DeepLabV3+ {r.encoder} (weights {r.encoder_weights}), Adam lr {r.lr:g} wd {r.weight_decay:g}, "
        f"{r.epochs} epochs, {r.image_size}px, batch {r.batch_size}, autocast {r.autocast}"
    )


@app.command()
def preview(
    ctx: typer.Context,
    aug: Annotated[str, typer.Option("--aug", metavar="SET", help="The augmentation set to show, such as 'elastic,grid' or 'elastic(alpha=2),hflip'.")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE.png", help="Where to write the PNG.")],
    data: DataOption = None,
    images: ImagesOption = None,
    masks: MasksOption = None,
    ignore_index: IgnoreIndexOption = 255,
    classes: ClassesOption = None,
    strict: StrictOption = False,
    n: Annotated[int, typer.Option("--n", min=1, max=64, help="Samples, one row each.")] = 8,
    draws: Annotated[int, typer.Option("--draws", min=1, max=8, help="Augmented draws of each sample, one column each.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the augmentation draws; the same seed gives the same picture.")] = 0,
    size: Annotated[int, typer.Option("--size", min=32, max=1024, help="Side of each square tile in pixels.")] = 256,
) -> None:
    """Write a PNG grid of samples before and after an augmentation set, with mask overlays and a legend."""
    from augmentlab.preview import write_preview

    registry_from_context(ctx)
    check_output_file(out, "--out")
    try:
        width, height = write_preview(aug, out, data=data, **dataset_options(images, masks, ignore_index, classes, strict), n=n, seed=seed, size=size, draws=draws)
    except SpecError as error:
        raise AugmentlabError(f"--aug {error}") from None
    typer.echo(f"wrote {out}: each sample as original and {draws} draws ({width}×{height} px)")


app.add_typer(data_app, name="data")

app.add_typer(bench_app, name="bench")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        # Exiting runs full collections over every object the command left, which takes 1.3 s
        # once torch and segmentation_models_pytorch are imported. Nothing is left to collect
        # that matters at exit (stores, files and workers are closed by then): freeze them all.
        gc.freeze()
