"""``JsonLinesSink``: an ablation as JSON lines, one event a line, safe to resume and to read while it grows.

Each line is one object with an ``event`` key:

- ``ablation``: once per ablation id: its name, folder, arms, seeds, recipe and class names;
- ``run``: once per (arm, seed) and outcome: the run's record as the store keeps it (``RunResult``),
  without the per-image counts that only the bootstrap needs, and without ``history`` if the
  ``history`` option is off;
- ``report``: each time the report is built: every arm's mean mIoU, Δ, interval and verdict.

Every line carries ``ablation_id``. A resumed ablation reads the file first and writes only the
runs it lacks; a failed run is written again only once it finishes. A line cut short by a kill is
skipped when the file is read back.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from augmentlab.report import Report
from augmentlab.results import RunResult
from augmentlab.tracking import AblationStart, Sink, worth_logging

FILE_NAME = "results.jsonl"
LEFT_OUT = ("image_intersections", "image_unions", "traceback")
"""Fields of a run's record left out of its line: per-image counts (megabytes on a large val split) and the traceback (``augmentlab report DIR --run``)."""


def read_lines(path: str | Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSON-lines file, skipping a line a kill cut short."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            yield value


class JsonLinesSink(Sink):
    """Append an ablation's events to one JSON-lines file (see the module's docstring)."""

    def __init__(self, path: str = "", history: bool = True) -> None:
        self.path_option = path
        self.history = history
        self.path: Path | None = None
        self.ablation_id = ""
        self.written: dict[tuple[str, int], str] = {}
        """(arm, seed) → the status already in the file for this ablation."""

    def ablation_started(self, start: AblationStart) -> None:
        self.path = Path(self.path_option).expanduser() if self.path_option else start.folder / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ablation_id = start.ablation_id
        _end_a_cut_line(self.path)
        known = False
        for line in read_lines(self.path):
            if line.get("ablation_id") != self.ablation_id:
                continue
            if line.get("event") == "ablation":
                known = True
            elif line.get("event") == "run" and self.written.get((line["arm"], line["seed"])) != "finished":
                self.written[(line["arm"], line["seed"])] = line["status"]
        if not known:
            info = start.info
            self._write({"event": "ablation", "name": info.name, "folder": str(start.folder.resolve()), "arms": [arm.name for arm in info.arms],
                         "seeds": info.seeds, "recipe": info.recipe, "class_names": info.class_names, "command": start.command})
        for result in start.stored:  # what an earlier invocation stored and this file lacks
            self.run_ended(result)

    def run_ended(self, result: RunResult) -> None:
        if not worth_logging(self.written.get(result.key), result):  # the host's resume rule: never a run twice
            return
        record = {key: value for key, value in result.to_dict().items() if key not in LEFT_OUT}
        if not self.history:
            record.pop("history")
        self._write({"event": "run", **record})
        self.written[result.key] = result.status

    def where(self) -> str:
        return "" if self.path is None else f"one line per run in {self.path}"

    def report_built(self, report: Report, files: Sequence[Path]) -> None:
        arms = [{"arm": arm.arm, "miou_mean": arm.miou_mean, "seeds_finished": arm.seeds_finished, "verdict": arm.verdict,
                 "delta": None if arm.delta is None else {key: value for key, value in asdict(arm.delta).items() if key in ("estimate", "low", "high", "confidence", "method")}}
                for arm in report.arms]
        self._write({"event": "report", "arms": arms, "notes": report.notes, "files": [str(path) for path in files]})

    def _write(self, event: dict[str, Any]) -> None:
        assert self.path is not None, "ablation_started comes first"
        line = json.dumps(_plain({**event, "ablation_id": self.ablation_id}), allow_nan=False, default=str) + "\n"
        # One write of one whole line, then to disk: a reader never sees half a line unless a kill cuts it.
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())


def _end_a_cut_line(path: Path) -> None:
    """End the file's last line if a kill cut it short, so that the next line does not join it."""
    try:
        with open(path, "rb+") as file:
            if file.seek(0, os.SEEK_END) == 0:
                return
            file.seek(-1, os.SEEK_END)
            if file.read(1) != b"\n":
                file.write(b"\n")
    except FileNotFoundError:
        pass


def _plain(value: Any) -> Any:
    """``value`` with NaN and infinities as None (a diverged run's loss is NaN), so that every line is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
