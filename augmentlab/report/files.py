"""The report's files beside an ablation's results (report.md, .csv, .json, .png and .html), and a folder's report read back."""

from __future__ import annotations

from pathlib import Path

from augmentlab.atomic import write_text_atomically
from augmentlab.errors import StoreError
from augmentlab.report.plot import write_plot
from augmentlab.report.summary import Report, build_report
from augmentlab.report.text import FORMATS, render_html, render_report
from augmentlab.results.lock import FolderLock
from augmentlab.results.pending import pending_results
from augmentlab.results.store import ResultStore

PLOT_FILE = "report.png"
HTML_FILE = "report.html"


def report_paths(folder: Path) -> list[Path]:
    """Where :func:`write_report_files` writes: report.md, report.csv, report.json, report.png, then report.html."""
    return [folder / f"report.{fmt}" for fmt in FORMATS] + [folder / PLOT_FILE, folder / HTML_FILE]


def write_report_files(report: Report, folder: Path) -> list[Path]:
    """Write report.md, report.csv, report.json, report.png and report.html (self-contained) into ``folder`` (which must exist); returns their paths.

    Each file is written atomically: a kill or a full disk leaves the old file or the new one.

    Raises:
        AugmentlabError: a file cannot be written (a full disk, a read-only folder); the results are safe in the store.
    """
    if not folder.is_dir():
        raise ValueError(f"report folder {folder} does not exist; create it or give the ablation's output folder")
    *text_paths, plot_path, html_path = report_paths(folder)
    for fmt, path in zip(FORMATS, text_paths):
        write_text_atomically(path, render_report(report, fmt), what="the report")
    write_plot(report, plot_path)
    write_text_atomically(html_path, render_html(report, plot_path.read_bytes()), what="the report")  # the plot inside, one file to share
    return report_paths(folder)


def read_report(folder: str | Path) -> Report:
    """The report of an ablation's output folder, from its result store alone (what ``augmentlab report DIR`` prints).

    Results that an ablation could not store when they ended (``pending/``) are folded into the
    store first, when no ablation holds the folder; otherwise they are read beside it.

    Raises:
        AugmentlabError: the folder holds no ablation results, or its store cannot be read.
    """
    folder = Path(folder)
    with ResultStore.open_existing(folder) as store:
        results = store.results()
        pending = [result for _, result in pending_results(folder)]
        if pending:
            try:
                with FolderLock(folder):
                    store.fold_pending()
                results = store.results()
            except StoreError:  # an ablation holds the folder, or the store still cannot be written
                stored = {result.key for result in results if result.status == "finished"}
                results = [result for result in results if result.key not in {p.key for p in pending}] + [p for p in pending if p.key not in stored]
        return build_report(store.info(), results)
