"""The built-in result sinks, registered through augmentlab's own entry point like any plugin's.

Each factory imports its library only when called, so that ``augmentlab plugins`` lists the
sinks without MLflow or TensorBoard installed, and ``--track`` without them says what to install.
"""

from __future__ import annotations

import importlib.util

from augmentlab.errors import AugmentlabError
from augmentlab.hookspecs import hookimpl
from augmentlab.registry.registrations import ResultSink
from augmentlab.tracking.base import Sink


def _needs(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise AugmentlabError(f"needs the {module} package, which is not installed; pip install 'augmentlab[{extra}]'")


def mlflow_sink(uri: str = "", experiment: str = "augmentlab") -> Sink:
    """MLflow: a parent run per ablation, a child per arm and seed with per-epoch metrics, verdicts as tags, the report as artifacts.

    Args:
        uri: the tracking URI (default: ``MLFLOW_TRACKING_URI``, else ``sqlite:///OUT/mlflow.db`` beside the ablation folders).
        experiment: the MLflow experiment the runs go to; created when missing.
    """
    _needs("mlflow", "mlflow")
    from augmentlab.tracking.mlflow import MlflowSink

    return MlflowSink(uri=uri, experiment=experiment)


def tensorboard_sink(logdir: str = "") -> Sink:
    """TensorBoard: event files per run with per-epoch scalars, and an HParams entry per run to compare the arms.

    Args:
        logdir: where the runs' event folders go (default: ``tensorboard/`` inside the ablation folder).
    """
    _needs("tensorboard", "tensorboard")
    from augmentlab.tracking.tensorboard import TensorBoardSink

    return TensorBoardSink(logdir=logdir)


@hookimpl
def augmentlab_result_sinks() -> list[ResultSink]:
    return [ResultSink("mlflow", mlflow_sink), ResultSink("tensorboard", tensorboard_sink)]
