"""The module that the entry point names: it tells augmentlab which result sinks this plugin provides."""

from __future__ import annotations

import augmentlab
from augmentlab_jsonl.sink import JsonLinesSink


def jsonl_sink(path: str = "", history: bool = True) -> JsonLinesSink:
    """JSON lines: the ablation, each run and the report's verdicts, one JSON object a line, appended to one file.

    Args:
        path: the file (default: ``results.jsonl`` in the ablation folder); several ablations may share one.
        history: include each run's per-epoch history.
    """
    # The factory is called before anything trains: check the options here, open files later.
    if path.endswith(("/", "\\")):
        raise ValueError(f"path must name a file, not a folder: {path!r}")
    return JsonLinesSink(path=path, history=history)


@augmentlab.hookimpl
def augmentlab_result_sinks() -> list[augmentlab.ResultSink]:
    return [augmentlab.ResultSink("jsonl", jsonl_sink)]
