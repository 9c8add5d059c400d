"""Reports of an ablation, from its result store alone.

- :mod:`~augmentlab.report.stats`: the arithmetic (means, mIoU from counts, the bootstrap, factorial contrasts);
- :mod:`~augmentlab.report.analysis` and :mod:`~augmentlab.report.looks`: estimates, the family, verdicts, power, sequential looks;
- :mod:`~augmentlab.report.summary`: the :class:`Report`, plain values built from the runs;
- :mod:`~augmentlab.report.text`: rich tables, plain lines, md, csv and json;
- :mod:`~augmentlab.report.plot`: report.png;
- :mod:`~augmentlab.report.files`: every report file beside the results, and :func:`read_report` of a folder.
"""

from augmentlab.report.analysis import Decision, Estimate
from augmentlab.report.files import read_report, write_report_files
from augmentlab.report.summary import (
    ArmSummary,
    EffectSummary,
    Failure,
    Report,
    RunCounts,
    build_report,
)
from augmentlab.report.text import FORMATS, print_report, render_report

__all__ = [
    "FORMATS",
    "ArmSummary",
    "EffectSummary",
    "Failure",
    "Decision",
    "Estimate",
    "Report",
    "RunCounts",
    "build_report",
    "print_report",
    "read_report",
    "render_report",
    "write_report_files",
]
