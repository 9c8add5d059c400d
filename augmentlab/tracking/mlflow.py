"""The built-in MLflow sink (``--track mlflow``): a parent run per ablation, a child run per (arm, seed).

It speaks to MLflow through ``MlflowClient`` only (never the fluent ``mlflow.start_run`` API, whose
active-run stack belongs to the user's own code in a notebook). What goes where:

- the parent run: the recipe and the plan as params, the report files as artifacts, and when the
  report is built, the report's headline as tags;
- each child run: params ``arm``, ``aug``, ``loss``, ``seed`` and the recipe; per-epoch metrics
  (``train_loss``, ``loss/<term>``, ``val_miou``, …) with step = the epoch, 1-based; final metrics
  ``miou``, ``pixel_accuracy``, ``per_image_miou`` and ``per_class_iou/<class>``; the verdict and Δ of its arm
  as tags once the report is built.

Runs are found again by tags (``augmentlab.ablation_id``, ``augmentlab.arm``, ``augmentlab.seed``), so
that a resumed ablation adds only what MLflow lacks: a finished child is never logged twice, and a
failed one is replaced (deleted, MLflow keeps it in its trash) when the run finishes on a retry.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient

from augmentlab.results.records import AblationInfo, RunResult
from augmentlab.tracking.base import (
    AblationStart,
    Sink,
    arm_number,
    finite,
    worth_logging,
)

if TYPE_CHECKING:
    from mlflow.entities import Run

    from augmentlab.report.summary import ArmSummary, Report

TAG_ABLATION = "augmentlab.ablation_id"
TAG_ROLE = "augmentlab.role"
TAG_ARM = "augmentlab.arm"
TAG_ARM_INDEX = "augmentlab.arm_index"
TAG_SEED = "augmentlab.seed"
EXPERIMENT_KIND = "mlflow.experimentKind"
DEFAULT_DATABASE = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"

# MLflow's own limits (mlflow.utils.validation): values past them are refused, not cut.
_MAX_PARAM_VALUE = 6000
_MAX_TAG_VALUE = 8000
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAMS_TAGS_PER_BATCH = 100
# Metric and param names may hold alphanumerics, _, -, ., / and spaces (and colons, but not on Windows).
_NOT_IN_NAME = re.compile(r"[^/\w.\- ]")


def metric_name(text: str) -> str:
    """``text`` as an MLflow metric or param name: every other character becomes ``_`` (``focal(gamma=3)`` → ``focal_gamma_3_``)."""
    name = _NOT_IN_NAME.sub("_", text)
    return re.sub(r"/+", "/", name).strip("/ ") or "_"


def default_uri(out: Path) -> str:
    """The tracking URI when neither ``uri`` nor ``MLFLOW_TRACKING_URI`` is given: a SQLite store beside the ablation folders.

    MLflow 3 no longer creates a plain ``mlruns/`` file store unless told to
    (``MLFLOW_ALLOW_FILE_STORE``); a SQLite file is just as local, needs no server, and is what
    ``mlflow ui --backend-store-uri sqlite:///…/mlflow.db`` opens.
    """
    return "sqlite:///" + str((out / DEFAULT_DATABASE).resolve())


def artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``mlartifacts/`` beside a local SQLite store; None (the server's choice) otherwise.

    MLflow's own default for a SQLite store is ``./mlruns`` under the current directory, which
    scatters artifacts wherever ``augmentlab`` happens to run.
    """
    if not uri.startswith("sqlite:///") or uri == "sqlite:///:memory:":
        return None
    return (Path(uri.removeprefix("sqlite:///")).parent / DEFAULT_ARTIFACTS).resolve().as_uri()


class MlflowSink(Sink):
    """Log an ablation to MLflow (see the module's docstring for what goes where).

    Args:
        uri: tracking URI; "" for ``MLFLOW_TRACKING_URI``, else a SQLite store beside the ablation folders.
        experiment: the experiment's name; created when missing.
    """

    def __init__(self, uri: str = "", experiment: str = "augmentlab") -> None:
        if not experiment.strip():
            raise ValueError("experiment must be a name, got an empty one")
        self.uri = uri
        self.experiment = experiment
        self.client: MlflowClient | None = None
        self.experiment_id = ""
        self.parent_id = ""
        self.ablation_id = ""
        self.info: AblationInfo | None = None
        self.children: dict[tuple[str, int], Run] = {}
        self.reported = False

    # --- the sink's calls ------------------------------------------------------------------------

    def ablation_started(self, start: AblationStart) -> None:
        self.info, self.ablation_id = start.info, start.ablation_id
        self._connect(start.folder.parent)
        self.parent_id = self._parent(start)
        self.children = {}
        for run in self._search(f"tags.`{TAG_ROLE}` = 'run'"):
            key = (run.data.tags.get(TAG_ARM, ""), int(run.data.tags.get(TAG_SEED, "-1")))
            if key in self.children and self.children[key].info.status == "FINISHED":
                continue  # a duplicate from someone else's logging: keep the finished one
            self.children[key] = run
        for result in start.stored:
            self.run_ended(result)

    def run_ended(self, result: RunResult) -> None:
        existing = self.children.get(result.key)
        # A child that did not finish (failed, or left running or killed by a crash) counts as failed.
        logged = None if existing is None else "finished" if existing.info.status == "FINISHED" else "failed"
        if not worth_logging(logged, result):
            return  # already there: never twice; a failure again does not replace the first
        if existing is not None:
            self._client().delete_run(existing.info.run_id)  # a failure the retry replaces
        self.children[result.key] = self._log_child(result)

    def report_built(self, report: Report, files: Sequence[Path]) -> None:
        client = self._client()
        verdicts = {arm.arm: _verdict_tags(arm) for arm in report.arms}
        for (name, _), run in self.children.items():
            if name in verdicts:
                self._log(run.info.run_id, tags=verdicts[name])
        for path in files:
            if Path(path).is_file():
                client.log_artifact(self.parent_id, str(path))
        self._log(self.parent_id, tags={
            "augmentlab.runs": f"{report.runs.finished} finished, {report.runs.failed} failed, {report.runs.missing} missing of {report.runs.planned}",
            "augmentlab.design": f"{report.design}, correction {report.correction}",
        })
        self.reported = True

    def close(self) -> None:
        if self.client is not None and self.parent_id:
            # A parent that never saw its report was interrupted or failed; a resume sets it running again.
            self.client.set_terminated(self.parent_id, "FINISHED" if self.reported else "KILLED")

    def where(self) -> str:
        if self.client is None:
            return ""
        uri = self.client.tracking_uri
        look = f"mlflow ui --backend-store-uri {uri}" if uri.startswith("sqlite:") else uri
        return f"experiment {self.experiment!r} at {uri}, parent run {self.parent_id} (to look: {look})"

    # --- MLflow --------------------------------------------------------------------------------

    def _connect(self, out: Path) -> None:
        uri = self.uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri(out)
        for name in ("alembic", "mlflow.store.db.utils"):  # a new SQLite store logs every migration at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(self.experiment)
        if found is None:
            # The kind tag opens MLflow 3's UI on its model-training view (runs, metrics, charts), not the GenAI one.
            self.experiment_id = client.create_experiment(self.experiment, artifact_location=artifact_location(uri), tags={EXPERIMENT_KIND: "custom_model_development"})
        else:
            if found.lifecycle_stage != "active":
                raise ValueError(f"experiment {self.experiment!r} is deleted in {uri}; restore it or choose another with --track-opt mlflow.experiment=NAME")
            self.experiment_id = found.experiment_id
        self.client = client

    def _client(self) -> MlflowClient:
        if self.client is None:
            raise RuntimeError("the MLflow sink was not told that the ablation started")
        return self.client

    def _search(self, condition: str) -> list[Run]:
        """Live runs of this ablation that match ``condition``, every page."""
        query = f"tags.`{TAG_ABLATION}` = '{_quoted(self.ablation_id)}' and {condition}"
        runs: list[Run] = []
        token = None
        while True:
            page = self._client().search_runs([self.experiment_id], query, ViewType.ACTIVE_ONLY, max_results=1000, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _parent(self, start: AblationStart) -> str:
        client = self._client()
        found = self._search(f"tags.`{TAG_ROLE}` = 'ablation'")
        if found:
            run_id = found[0].info.run_id
            client.update_run(run_id, status="RUNNING")
            return run_id
        tags = {TAG_ABLATION: self.ablation_id, TAG_ROLE: "ablation", "augmentlab.folder": str(start.folder.resolve()),
                "augmentlab.command": start.command, "augmentlab.data": start.info.data}
        run = client.create_run(self.experiment_id, tags=_tag_values(tags), run_name=start.info.name)
        info = start.info
        params = {**_recipe_params(info), "arms": len(info.arms), "seeds": len(info.seeds), "design": info.analysis.design,
                  "correction": info.analysis.correction, "pooling": info.analysis.pooling, "preset": info.preset, "device": info.device,
                  "classes": ", ".join(info.class_names)}
        self._log(run.info.run_id, params=params)
        return run.info.run_id

    def _log_child(self, result: RunResult) -> Run:
        info = self.info
        assert info is not None
        index = arm_number(info, result.arm)
        tags = {"mlflow.parentRunId": self.parent_id, TAG_ABLATION: self.ablation_id, TAG_ROLE: "run",
                TAG_ARM: result.arm, TAG_ARM_INDEX: str(index), TAG_SEED: str(result.seed), "augmentlab.status": result.status}
        if result.error:
            tags["augmentlab.error"] = result.error
        client = self._client()
        run = client.create_run(self.experiment_id, tags=_tag_values(tags), run_name=f"{result.arm} seed {result.seed}")
        run_id = run.info.run_id
        params = {"arm": result.arm, "aug": result.augmentation, "loss": result.loss, "seed": result.seed, **_recipe_params(info)}
        self._log(run_id, params=params, metrics=list(_metrics(result, info.class_names)))
        client.set_terminated(run_id, "FINISHED" if result.status == "finished" else "FAILED")
        return client.get_run(run_id)

    def _log(self, run_id: str, *, params: dict[str, Any] | None = None, tags: dict[str, str] | None = None, metrics: Sequence[Metric] = ()) -> None:
        """``log_batch`` in MLflow's batch sizes."""
        client = self._client()
        param_list = [Param(metric_name(key), str(value)[:_MAX_PARAM_VALUE]) for key, value in (params or {}).items()]
        tag_list = [RunTag(key, value) for key, value in _tag_values(tags or {}).items()]
        for chunk in _chunks(param_list, _MAX_PARAMS_TAGS_PER_BATCH):
            client.log_batch(run_id, params=chunk)
        for chunk in _chunks(tag_list, _MAX_PARAMS_TAGS_PER_BATCH):
            client.log_batch(run_id, tags=chunk)
        for chunk in _chunks(list(metrics), _MAX_METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=chunk)


def _verdict_tags(arm: ArmSummary) -> dict[str, str]:
    """The tags of an arm's children: its verdict, and its Δ with the interval and the method where it has one."""
    tags = {"augmentlab.verdict": arm.verdict or "none"}
    if arm.delta is not None:
        tags |= {
            "augmentlab.delta": f"{arm.delta.estimate:+.4f}",
            "augmentlab.delta_interval": f"[{arm.delta.low:+.4f}, {arm.delta.high:+.4f}] at {arm.delta.confidence:.1%}",
            "augmentlab.delta_method": arm.delta.method,
        }
    return tags


def _recipe_params(info: AblationInfo) -> dict[str, Any]:
    return {f"recipe.{key}": value for key, value in sorted(info.recipe.items())}


def _metrics(result: RunResult, class_names: Sequence[str]) -> Iterable[Metric]:
    """Per-epoch metrics at step = epoch (1-based), then the best epoch's, at the last step."""
    now = int(time.time() * 1000)
    for record in result.history:
        step = record.epoch + 1
        values = {"train_loss": record.train_loss, "val_miou": record.val_miou, "val_pixel_accuracy": record.val_pixel_accuracy,
                  "val_per_image_miou": record.val_per_image_miou, "epoch_seconds": record.seconds, "images_per_second": record.images_per_second,
                  **{f"loss/{term}": value for term, value in record.loss_terms.items()}}
        for key, value in values.items():
            if finite(value):
                yield Metric(metric_name(key), float(value), now, step)
    if result.status != "finished":
        return
    step = len(result.history)
    final = {"miou": result.miou, "pixel_accuracy": result.pixel_accuracy, "per_image_miou": result.per_image_miou,
             "best_epoch": None if result.best_epoch is None else result.best_epoch + 1, "train_seconds": result.train_seconds,
             "peak_memory_bytes": result.peak_memory_bytes,
             **{f"per_class_iou/{name}": iou for name, iou in zip(class_names, result.per_class_iou)}}
    for key, value in final.items():
        if finite(value):
            yield Metric(metric_name(key), float(value), now, step)


def _tag_values(tags: dict[str, Any]) -> dict[str, str]:
    return {key: str(value)[:_MAX_TAG_VALUE] for key, value in tags.items()}


def _quoted(value: str) -> str:
    """``value`` inside a single-quoted string of an MLflow search filter."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
