"""Where an ablation command's wall time went, from its result store and the command's start and end.

    python benchmarks/ablation_timeline.py FOLDER START END

START and END are the command's start and end as Unix seconds (``date +%s.%N``). Prints one JSON
object: the wall time; ``before_first_run_s``, from the start until the first run was handed out
(imports, data loading, worker start-up where the runs go to workers); ``runs_span_s``, from
then until the last run ended; ``after_last_run_s`` (the report); and per run the seconds it
trained (``train_s``, as the run measured itself), its epochs and its hand-out-to-result time
(``held_s``, which includes a new worker's start-up). gpu_check.sh uses it to explain the
sequential versus ``--parallel`` figures.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime
from pathlib import Path


def timeline(folder: Path, start: float, end: float) -> dict:
    connection = sqlite3.connect(folder / "results.sqlite")
    try:
        rows = connection.execute("SELECT arm, seed, status, train_seconds, started_at, finished_at, history FROM runs ORDER BY started_at").fetchall()
    finally:
        connection.close()
    runs = []
    for arm, seed, status, train_seconds, started_at, finished_at, history in rows:
        began, ended = _seconds(started_at), _seconds(finished_at)
        runs.append({
            "arm": arm, "seed": seed, "status": status, "train_s": train_seconds,
            "epoch_s": [round(epoch["seconds"], 3) for epoch in json.loads(history or "[]")],
            "held_s": None if began is None or ended is None else round(ended - began, 3),
            "began_s": None if began is None else round(began - start, 3),
        })
    began = [_seconds(row[4]) for row in rows if row[4]]
    ended = [_seconds(row[5]) for row in rows if row[5]]
    return {
        "wall_s": round(end - start, 3),
        "before_first_run_s": round(min(began) - start, 3) if began else None,
        "runs_span_s": round(max(ended) - min(began), 3) if began and ended else None,
        "after_last_run_s": round(end - max(ended), 3) if ended else None,
        "train_s_total": round(sum(run["train_s"] or 0.0 for run in runs), 3),
        "runs": runs,
    }


def _seconds(stamp: str | None) -> float | None:
    return None if stamp is None else datetime.fromisoformat(stamp).timestamp()


if __name__ == "__main__":
    folder = next(Path(sys.argv[1]).glob("*/results.sqlite"), Path(sys.argv[1]) / "results.sqlite").parent
    print(json.dumps(timeline(folder, float(sys.argv[2]), float(sys.argv[3])), indent=1))
