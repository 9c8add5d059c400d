"""Progress of an ablation: live rich bars for a terminal, or plain log lines for CI (``--quiet``)."""

from __future__ import annotations

import time
from types import TracebackType

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from augmentlab.results import EpochRecord, RunResult

LOSS_REFRESH_SECONDS = 0.5
"""How often the live loss is read; reading it waits for the device, so not every step."""


class AblationProgress:
    """Overall runs with an ETA, then the current run's epoch and batch with the live loss.

    Use it as a context manager around the runs; :meth:`run_started` gives the
    :class:`augmentlab.train.RunProgress` of one run.
    """

    def __init__(self, console: Console, total_runs: int, quiet: bool = False) -> None:
        self.console = console
        self.total_runs = total_runs
        self.quiet = quiet
        self._started = 0
        self._done = 0
        self._progress: Progress | None = None
        self._runs: TaskID | None = None
        self._labels: dict[tuple[str, int], str] = {}
        self._bars: dict[tuple[str, int], _RunBars] = {}

    def __enter__(self) -> AblationProgress:
        if not self.quiet:
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
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

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
            self.console.print(f"{label}: {started}", markup=False, highlight=False)
            return _RunLines(self.console, label)
        bars = self._bars[key] = _RunBars(self._progress, label)
        return bars

    def run_done(self, result: RunResult) -> None:
        self._done += 1
        label = self._labels.pop(result.key)
        if result.status == "finished":
            line = f"{label}: finished, val mIoU {result.miou:.4f} (best epoch {result.best_epoch}), {result.train_seconds:.1f} s"
        else:
            line = f"{label}: FAILED: {result.error}"
        if self._progress is None:
            self.console.print(line, markup=False, highlight=False)
            return
        self._bars.pop(result.key).close()
        self._progress.console.print(line, markup=False, highlight=False, style=None if result.status == "finished" else "red")
        assert self._runs is not None
        self._progress.update(self._runs, completed=self._done)


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
