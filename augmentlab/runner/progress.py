"""What an ablation tells whoever runs it: :class:`AblationListener`, and the command line's :class:`ConsoleProgress`
(live rich bars for a terminal, or plain log lines for CI with ``--quiet``)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from augmentlab.data.wording import plural
from augmentlab.results.records import EpochRecord, RunResult, recipe_words

if TYPE_CHECKING:
    from augmentlab.runner.plan import AblationPlan
    from augmentlab.runner.train import RunProgress

LOSS_REFRESH_SECONDS = 0.5
"""How often the live loss is read; reading it waits for the device, so not every step."""


class AblationListener:
    """What an ablation tells whoever runs it, as it goes; :func:`augmentlab.run_ablation` calls these.

    This base hears everything and says nothing: a silent run, the default from Python.
    Subclass it to log elsewhere; :class:`ConsoleProgress` is what the command line shows.
    """

    def notice(self, line: str) -> None:
        """One line of information: the preset and device, the data, a resumed folder, a warm-up."""

    def warning(self, line: str) -> None:
        """One line about something that went wrong while the ablation goes on (a result sink that raised).

        This base issues it as a :class:`RuntimeWarning`, so that a silent run from Python still shows it.
        """
        warnings.warn(line, RuntimeWarning, stacklevel=2)

    def planned(self, plan: AblationPlan, folder: Path) -> None:
        """The plan is checked and the data loaded; nothing has trained yet."""

    def runs_started(self, total: int) -> None:
        """``total`` more runs are about to train (once per look with sequential seeds)."""

    def run_started(self, arm: str, seed: int) -> RunProgress | None:
        """A run was handed out; return a :class:`~augmentlab.runner.train.RunProgress` to hear its epochs (None: not interested)."""
        return None

    def run_done(self, result: RunResult) -> None:
        """A run ended, finished or failed; its result is stored."""

    def runs_ended(self, first_run_at: float, trained: Sequence[float], wall: float, workers: int) -> None:
        """Every run in hand ended (or the ablation was interrupted).

        Args:
            first_run_at: ``time.perf_counter()`` when the first run was handed out.
            trained: each run's own training seconds.
            wall: seconds from the first run's start to the last run's end.
            workers: runs at a time.
        """


class ConsoleProgress(AblationListener):
    """The command line's view: the plan as a table, overall runs with an ETA, then the current run's epoch and batch with the live loss.

    With ``quiet`` every event is a plain line instead, for CI logs.

    Args:
        console: where to print.
        quiet: plain lines, no live display.
        started_at: ``time.perf_counter()`` when the command began, for the time line (default: now).
    """

    def __init__(self, console: Console, quiet: bool = False, started_at: float | None = None) -> None:
        self.console = console
        self.quiet = quiet
        self.started_at = time.perf_counter() if started_at is None else started_at
        self.total_runs = 0
        self._started = 0
        self._done = 0
        self._progress: Progress | None = None
        self._runs: TaskID | None = None
        self._labels: dict[tuple[str, int], str] = {}
        self._bars: dict[tuple[str, int], _RunBars] = {}

    def _print(self, line: str, style: str | None = None) -> None:
        console = self._progress.console if self._progress is not None else self.console
        console.print(line, markup=False, highlight=False, style=style)

    def notice(self, line: str) -> None:
        self._print(line)

    def warning(self, line: str) -> None:
        self._print(line, style="yellow")

    def planned(self, plan: AblationPlan, folder: Path) -> None:
        title = f"{plan_line(plan)} → {folder}"
        if self.quiet:
            self._print(title)
            for index, arm in enumerate(plan.arms):
                self._print(f"arm {index}: {arm.name}{' (baseline)' if arm.is_baseline else ''}")
        else:
            self._print(title)  # its own line: a table title would wrap at the table's width
            table = Table()
            for column in ("#", "augmentation", "loss", "role"):
                table.add_column(column)
            for index, arm in enumerate(plan.arms):
                table.add_row(str(index), str(arm.augmentation), str(arm.loss), "baseline" if arm.is_baseline else "")
            self.console.print(table)
        if plan.analysis.design == "screen":
            from augmentlab.report.summary import screening_text

            self._print(screening_text(plan.analysis) + "; factors: " + ", ".join(plan.analysis.factors))
        spare = len(plan.analysis.levels) - 1 - len(plan.analysis.factors) if plan.analysis.design == "screen" else 0
        if plan.analysis.first_seeds == 1 and spare > 0:
            self._print(f"1 seed: training noise is estimated from the design's {spare} spare degree(s) of freedom (runs no factor explains)")
        elif plan.analysis.first_seeds == 1:
            self._print("1 seed: intervals will cover validation-image noise only, so no verdict can say better or worse; --seeds 2 measures training noise")
        if len(plan.arms) == 1:
            self._print("only the baseline: its seeds measure the training noise, and there is nothing to compare it with; add --aug SET or --loss SPEC")
        r = plan.recipe
        self._print(
            f"recipe: {recipe_words(asdict(r))}, Adam lr {r.lr:g} wd {r.weight_decay:g}, "
            f"{r.epochs} epoch{'' if r.epochs == 1 else 's'}, {r.size_text}, batch {r.batch_size}, autocast {r.autocast}"
        )

    def runs_started(self, total: int) -> None:
        self.total_runs += total
        if self._progress is not None and self._runs is not None:  # the next look of sequential seeds
            self._progress.update(self._runs, total=self.total_runs)
        elif not self.quiet:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
            self._runs = self._progress.add_task("runs", total=self.total_runs, status="")

    def runs_ended(self, first_run_at: float, trained: Sequence[float], wall: float, workers: int) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._print(time_line(first_run_at - self.started_at, trained, wall, workers))

    def run_started(self, arm: str, seed: int) -> _RunBars | _RunLines:
        """A run was handed out; a run handed out again (its worker died beside others) keeps its number."""
        key = (arm, seed)
        if key in self._labels:
            label, started = self._labels[key], "started again on a fresh worker"
            if key in self._bars:
                self._bars.pop(key).close()
        else:
            self._started += 1
            label, started = f"run {self._started}/{self.total_runs} [{arm}] seed {seed}", "started"
            self._labels[key] = label
        if self._progress is None:
            self._print(f"{label}: {started}")
            return _RunLines(self.console, label)
        bars = self._bars[key] = _RunBars(self._progress, label)
        return bars

    def run_done(self, result: RunResult) -> None:
        self._done += 1
        label = self._labels.pop(result.key)
        if result.status == "finished":
            line = f"{label}: finished, val mIoU {result.miou:.4f} (best epoch {result.best_epoch + 1}), {result.train_seconds:.1f} s"
        else:
            line = f"{label}: FAILED: {result.error}"
        if self._progress is None:
            self._print(line)
            return
        self._bars.pop(result.key).close()
        self._print(line, style=None if result.status == "finished" else "red")
        assert self._runs is not None
        self._progress.update(self._runs, completed=self._done)


def time_line(before: float, trained: Sequence[float], wall: float, workers: int = 1) -> str:
    """Where an ablation command's time went: start-up, and its runs' training time against the wall time they took.

    With several workers the ratio says how much the runs overlapped, so whether ``--parallel``
    paid: start-up and the report are not in it.

    Args:
        before: seconds from the command's start to the first run (imports, data, warm-up).
        trained: each run's own training seconds.
        wall: seconds from the first run's start to the last run's end.
        workers: runs at a time.
    """
    runs = f"{len(trained)} run{'s' if len(trained) != 1 else ''} trained for {sum(trained):.1f} s in {wall:.1f} s"
    if workers > 1:
        runs += f" on {workers} workers ({sum(trained) / wall:.1f}× overlap)" if wall > 0 else f" on {workers} workers"
    return f"time: {before:.1f} s before the first run; {runs}"


class _RunBars:
    """One run's epoch and batch bars, with the running mean loss read at most every :data:`LOSS_REFRESH_SECONDS`."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task: TaskID | None = None
        self._loss_read = 0.0

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        description = f"  epoch {epoch + 1}/{epochs}"
        if self._task is None:
            self._task = self._progress.add_task(description, total=steps, status="")
        else:
            self._progress.reset(self._task, total=steps, description=description, status="")

    def step_done(self, step: int, loss_sum: torch.Tensor) -> None:
        assert self._task is not None
        now = time.monotonic()
        if now - self._loss_read >= LOSS_REFRESH_SECONDS:
            self._loss_read = now
            self._progress.update(self._task, completed=step + 1, status=f"loss {float(loss_sum) / (step + 1):.4f}")
        else:
            self._progress.update(self._task, completed=step + 1)

    def epoch_done(self, record: EpochRecord) -> None:
        assert self._task is not None
        self._progress.update(self._task, status=f"loss {record.train_loss:.4f} · val mIoU {record.val_miou:.4f}")

    def close(self) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)


class _RunLines:
    """One plain line per epoch."""

    def __init__(self, console: Console, label: str) -> None:
        self._console = console
        self._label = label
        self._epochs = 0

    def epoch_started(self, epoch: int, epochs: int, steps: int) -> None:
        self._epochs = epochs

    def step_done(self, step: int, loss_sum: torch.Tensor) -> None:
        return None

    def epoch_done(self, record: EpochRecord) -> None:
        self._console.print(
            f"{self._label}: epoch {record.epoch + 1}/{self._epochs} loss {record.train_loss:.4f} "
            f"val mIoU {record.val_miou:.4f} ({record.seconds:.1f} s, {record.images_per_second:.1f} img/s)",
            markup=False,
            highlight=False,
        )


def plan_line(plan: AblationPlan) -> str:
    """``8 arms × 2 seeds = 16 runs``, and with sequential seeds how far the looks may go."""
    arms, settings = len(plan.arms), plan.analysis
    if settings.looks == 1:
        return f"{plural(arms, 'arm')} × {plural(len(plan.seeds), 'seed')} = {plural(len(plan.runs), 'run')}"
    first = settings.first_seeds or len(plan.seeds)
    return (
        f"{plural(arms, 'arm')} × {plural(first, 'seed')} = {plural(arms * first, 'run')}, then one more seed where a verdict is open, "
        f"up to {settings.max_seeds} seeds ({arms * len(plan.seeds)} runs at most, {settings.looks} looks)"
    )
