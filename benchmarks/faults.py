"""SIGKILL an ablation at every stage, resume it, and check that nothing trained was lost or trained again.

    python benchmarks/faults.py [--parallel 2] [--out DIR]

For each stage (a line the ablation prints, from the plan to the report, or a point in time
between them) the same small ablation is started, killed with SIGKILL when it reaches the stage,
and started again until it ends. After each kill and resume it checks:

- the resumed command exits 0 and every planned run is finished;
- every run finished before the kill keeps its row as it was (same mIoU, same finish time): it
  was not trained again;
- report.json parses and report.md is not empty, and no temporary or pending file is left;
- with ``--parallel``, no process the killed driver started is still alive 10 s later.

It prints one line per stage and a summary, and exits 1 if any check failed. The fast cases of
the same faults run in the test suite (``tests/test_faults.py``).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from augmentlab.data.demo import generate_demo_dataset

STAGES = [
    ("planned", r" runs → "),
    ("first run started", r"^run 1/\d+ .*: started"),
    ("first epoch of run 1", r"^run 1/\d+ .*: epoch 1/"),
    ("run 1 finished", r"^run 1/\d+ .*: finished"),
    ("run 2 started", r"^run 2/\d+ .*: started"),
    ("run 3 finished", r"^run 3/\d+ .*: finished"),
    ("last run finished", r"^run (\d+)/\1 .*: finished"),
    ("time line", r"^time: "),
    ("report title", r"^ablation ablation-"),
]


def command(data: Path, out: Path, parallel: int) -> list[str]:
    return [
        sys.executable, "-m", "augmentlab", "ablate", "--aug", "hflip", "--loss", "dice", "--seeds", "2", "--epochs", "2",
        "--image-size", "32", "--batch-size", "4", "--device", "cpu", "--quiet", "--out", str(out),
        "--data", str(data / "train.json"), "--val", str(data / "val.json"), "--images", str(data / "images"),
        *(["--parallel", str(parallel)] if parallel > 1 else []),
    ]


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def finished_rows(folder: Path) -> dict[tuple[str, int], tuple[float, str]]:
    path = folder / "results.sqlite"
    if not path.exists():
        return {}
    with closing(sqlite3.connect(path)) as connection:
        try:
            rows = connection.execute("SELECT arm, seed, miou, finished_at FROM runs WHERE status = 'finished'").fetchall()
        except sqlite3.Error:
            return {}
    return {(arm, seed): (miou, finished_at) for arm, seed, miou, finished_at in rows}


def kill_at(argv: list[str], log: Path, pattern: str | None, seconds: float | None) -> tuple[bool, list[int]]:
    """Start ``argv``; SIGKILL it when its output matches ``pattern`` or after ``seconds``. Returns (killed, its descendants).

    The output goes to ``log`` rather than a pipe, so that a process left holding it cannot stall the sweep.
    """
    with open(log, "w") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    seen: set[int] = set()
    while process.poll() is None:
        seen.update(descendants(process.pid))
        due = seconds is not None and time.monotonic() - started >= seconds
        if due or (pattern and re.search(pattern, log.read_text(), flags=re.M)):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True, sorted(seen)
        time.sleep(0.05)
    return False, sorted(seen)


def sweep(parallel: int, root: Path) -> bool:
    data = root / "data"
    generate_demo_dataset(data, train_images=16, val_images=8, size=(64, 64))
    full_start = time.monotonic()
    reference = subprocess.run(command(data, root / "reference", parallel), capture_output=True, text=True)
    duration = time.monotonic() - full_start
    if reference.returncode != 0:
        print(reference.stdout[-2000:], reference.stderr[-2000:])
        return False
    stages = [(name, pattern, None) for name, pattern in STAGES] + [(f"{fraction:.0%} of the time", None, fraction * duration) for fraction in (0.1, 0.3, 0.5, 0.7, 0.9)]
    print(f"uninterrupted: {duration:.1f} s, 8 runs{f', --parallel {parallel}' if parallel > 1 else ''}")
    ok_all = True
    for index, (name, pattern, seconds) in enumerate(stages):
        out = root / f"stage-{index}"
        argv = command(data, out, parallel)
        killed, started = kill_at(argv, root / f"stage-{index}.log", pattern, seconds)
        folders = list(out.glob("ablation-*"))
        before = finished_rows(folders[0]) if folders else {}
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        orphans = [pid for pid in started if alive(pid)]
        resumed = subprocess.run(argv, capture_output=True, text=True)
        folder = next(out.glob("ablation-*"), None)
        problems = []
        if resumed.returncode != 0:
            problems.append(f"resume exited {resumed.returncode}: {(resumed.stderr or resumed.stdout).strip().splitlines()[-1:]}")
        after = finished_rows(folder) if folder else {}
        if len(after) != 8:
            problems.append(f"{len(after)} of 8 runs finished after the resume")
        retrained = [key for key, row in before.items() if after.get(key) != row]
        if retrained:
            problems.append(f"finished before the kill but changed: {retrained}")
        if folder is not None:
            try:
                json.loads((folder / "report.json").read_text())
                if not (folder / "report.md").read_text().strip():
                    problems.append("report.md is empty")
            except (OSError, ValueError) as error:
                problems.append(f"report.json: {error}")
            leftovers = [path.name for path in folder.rglob("*") if path.name.endswith(".tmp") or path.parent.name == "pending"]
            if leftovers:
                problems.append(f"left behind: {leftovers}")
        if orphans:
            problems.append(f"processes alive 10 s after the kill: {orphans}")
        ok = not problems
        ok_all &= ok
        state = "killed" if killed else "ended before the stage"
        print(f"{'ok  ' if ok else 'FAIL'} {name:<22} {state:<22} {len(before)} finished before, {len(after)} after" + ("" if ok else f": {'; '.join(problems)}"))
    return ok_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, default=1, help="Kill a driver with this many worker processes.")
    parser.add_argument("--out", type=Path, default=None, help="Keep the folders here (default: a temporary folder).")
    arguments = parser.parse_args()
    if arguments.out is not None:
        arguments.out.mkdir(parents=True, exist_ok=True)
        return 0 if sweep(arguments.parallel, arguments.out) else 1
    with tempfile.TemporaryDirectory() as root:
        return 0 if sweep(arguments.parallel, Path(root)) else 1


if __name__ == "__main__":
    sys.exit(main())
