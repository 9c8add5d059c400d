"""What a result sink is told, and how the driver tells every sink of an ablation: :class:`Sink`, :class:`AblationStart`, :class:`SinkSet`."""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augmentlab.atomic import cannot_write
from augmentlab.errors import AugmentlabError, FieldError, first_line, one_line
from augmentlab.registry.loading import current_registry
from augmentlab.registry.registrations import SinkInfo
from augmentlab.registry.spec import suggest
from augmentlab.results.records import AblationInfo, RunResult

if TYPE_CHECKING:
    from augmentlab.report.summary import Report

SINK_LOG = "sinks.log"
"""The file in an ablation's folder that keeps the full traceback of every sink that raised."""


@dataclass(frozen=True)
class AblationStart:
    """What a sink hears when an ablation starts: its plan is stored, nothing new has trained yet.

    Attributes:
        info: the ablation as the store holds it (arms, seeds, recipe, device, data, analysis).
        folder: the ablation's output folder (the store, the report files).
        ablation_id: stable across resumes, different for two folders of the same name (the folder's
            name and when its store was created): what a sink keys the ablation by.
        stored: every run the store held before this invocation, finished or failed, so that a sink
            added on a resume, or one that missed runs, can add what it lacks.
        command: the line ``command.txt`` records for this invocation.
    """

    info: AblationInfo
    folder: Path
    ablation_id: str
    stored: tuple[RunResult, ...] = ()
    command: str = ""


class Sink:
    """Where an ablation's results go besides its store: subclass it and override what you need.

    The driver process calls, in order, :meth:`ablation_started` once, :meth:`run_ended` after each
    run is stored, :meth:`report_built` once the report files are written, then :meth:`close`,
    always (after an error or Ctrl-C too). Every default does nothing.
    """

    def ablation_started(self, start: AblationStart) -> None:
        """The ablation's plan is stored; ``start.stored`` holds the runs it already has."""

    def run_ended(self, result: RunResult) -> None:
        """One run ended, finished or failed, and is in the store: the whole result, per-epoch ``history`` included."""

    def report_built(self, report: Report, files: Sequence[Path]) -> None:
        """The report is built and its files (report.md, .csv, .json, .png, .html) are written."""

    def close(self) -> None:
        """The last call: release connections and flush files."""

    def where(self) -> str:
        """After :meth:`ablation_started`: where the results go and how to look at them, for the one line the command line prints ("" says nothing)."""
        return ""


def finite(value: Any) -> bool:
    """Whether ``value`` is a number a tracker can plot: not None, NaN or infinite (a diverged epoch's loss is NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def worth_logging(logged: str | None, result: RunResult) -> bool:
    """Whether a sink that already holds this run's (arm, seed) with status ``logged`` (None: not at all) should log ``result``.

    A run still running is not logged; a finished one never twice; a failure does not replace an
    earlier failure, but a finished retry replaces it. Every sink resumes by this one rule.
    """
    return result.status != "running" and logged != "finished" and not (logged == "failed" and result.status == "failed")


def arm_number(info: AblationInfo, arm: str) -> int:
    """The arm's number in the report's tables (0 is the baseline); one past the last for an arm the plan lacks."""
    return next((index for index, planned in enumerate(info.arms) if planned.name == arm), len(info.arms))


def sink_options(info: SinkInfo, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` checked against the sink's options and converted to the type of each default (text from the command line).

    Raises:
        FieldError: an unknown option, or a value that does not convert.
    """
    options: dict[str, Any] = {}
    for key, value in given.items():
        if key not in info.defaults:
            known = ", ".join(info.defaults) or "none"
            raise FieldError("track", f"sink '{info.name}' has no option {key!r}{suggest(key, list(info.defaults)) or ';'} its options: {known}")
        options[key] = _converted(info.name, key, value, info.defaults[key])
    return options


def _converted(sink: str, key: str, value: Any, default: Any) -> Any:
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        if isinstance(default, bool) and not isinstance(value, bool):
            raise FieldError("track", f"option {sink}.{key} must be true or false, got {value!r}")
        return value
    text = value.strip()
    try:
        if isinstance(default, bool):
            words = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
            return words[text.lower()]
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except (KeyError, ValueError):
        kind = "true or false" if isinstance(default, bool) else "a whole number" if isinstance(default, int) else "a number"
        raise FieldError("track", f"option {sink}.{key} must be {kind}, got {value!r}") from None
    return value


def build_sinks(track: Mapping[str, Mapping[str, Any]] | None) -> list[tuple[str, Sink]]:
    """A sink for each entry of ``track`` (sink name → options), in order, each built by its factory.

    Raises:
        FieldError: an unknown sink name, an unknown option, a bad value, or a sink whose factory
            refuses its options or lacks its package (its message says what to install).
    """
    sinks: list[tuple[str, Sink]] = []
    available = current_registry().sinks
    for name, given in (track or {}).items():
        info = available.get(name)
        if info is None:
            known = ", ".join(sorted(available)) or "none"
            raise FieldError("track", f"names no installed result sink {name!r}{suggest(name, list(available)) or ';'} installed sinks: {known} (`augmentlab plugins` lists them)")
        options = sink_options(info, given)
        try:
            sink = info.factory(**options)
        except AugmentlabError as error:
            raise FieldError("track", f"sink '{name}': {error}") from None
        except (ValueError, TypeError) as error:
            raise FieldError("track", f"sink '{name}' ({info.provider}) refused its options: {first_line(error)}") from None
        if not isinstance(sink, Sink):
            raise FieldError("track", f"sink '{name}' ({info.provider}) returned {type(sink).__name__}, not an augmentlab.tracking.Sink; its factory must return one")
        sinks.append((name, sink))
    return sinks


@dataclass
class SinkSet:
    """Every sink of one ablation, told in turn; a sink that raises is reported in one line and told nothing more.

    Args:
        sinks: (name, sink) pairs, as :func:`build_sinks` gives them.
        warn: how a failure is reported: one line naming the sink, what it was told and the error.
        folder: where ``sinks.log`` keeps each failure's traceback (None: it is not kept).
    """

    sinks: list[tuple[str, Sink]]
    warn: Callable[[str], None]
    folder: Path | None = None
    failed: dict[str, str] = field(default_factory=dict)
    """Sink name → the one line that reported its failure."""

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def ablation_started(self, start: AblationStart) -> None:
        self.folder = start.folder
        self._tell("ablation_started", "at the ablation's start", start)

    def where(self) -> list[str]:
        """A line per sink still listening: ``tracking with NAME: …`` in the sink's words."""
        lines = []
        for name, sink in self.sinks:
            if name not in self.failed:
                try:
                    text = sink.where()
                except Exception:  # noqa: BLE001 - a description is not worth a failure
                    text = ""
                if text:
                    lines.append(f"tracking with {name}: {text}")
        return lines

    def run_ended(self, result: RunResult) -> None:
        self._tell("run_ended", f"for {result.arm} seed {result.seed}", result)

    def report_built(self, report: Report, files: Sequence[Path]) -> None:
        self._tell("report_built", "with the report", report, list(files))

    def close(self) -> None:
        self._tell("close", "when closing")

    def _tell(self, method: str, when: str, *arguments: Any) -> None:
        for name, sink in self.sinks:
            if name not in self.failed:
                self._call(name, sink, method, when, *arguments)

    def _call(self, name: str, sink: Sink, method: str, when: str, *arguments: Any) -> None:
        try:
            getattr(sink, method)(*arguments)
        except Exception as error:  # noqa: BLE001 - a sink's failure never stops the ablation
            line = f"sink '{name}' raised {when}: {one_line(error)}; the store has every run, and the sink hears nothing more in this ablation"
            kept = self._keep_traceback(name, method)
            self.failed[name] = line
            self.warn(line + (f" (traceback in {kept})" if kept else ""))
            if method != "close":
                self._call_close_quietly(sink)

    def _call_close_quietly(self, sink: Sink) -> None:
        try:
            sink.close()
        except Exception:  # noqa: BLE001 - already reported as failed
            pass

    def _keep_traceback(self, name: str, method: str) -> Path | None:
        if self.folder is None or not self.folder.is_dir():
            return None
        path = self.folder / SINK_LOG
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            with open(path, "a", encoding="utf-8") as file:
                file.write(f"{stamp}  sink '{name}' raised in {method}:\n{traceback.format_exc()}\n")
        except OSError as error:
            self.warn(str(cannot_write(path, error, "the sinks' log")))
            return None
        return path
