"""Result sinks: where an ablation's results go besides its own store, as plugins (``--track NAME``).

- :mod:`~augmentlab.tracking.base`: :class:`Sink`, what a sink is told, and how the driver tells every sink;
- :mod:`~augmentlab.tracking.mlflow`: the built-in MLflow sink (``pip install 'augmentlab[mlflow]'``);
- :mod:`~augmentlab.tracking.tensorboard`: the built-in TensorBoard sink (``pip install 'augmentlab[tensorboard]'``);
- :mod:`~augmentlab.tracking.builtin`: their registrations, through the same entry point as any plugin's.

A third-party sink subclasses :class:`Sink` and registers a :class:`~augmentlab.ResultSink` from the
``augmentlab_result_sinks`` hook (see :mod:`augmentlab.hookspecs`).
"""

from augmentlab.tracking.base import (
    SINK_LOG,
    AblationStart,
    Sink,
    SinkSet,
    arm_number,
    build_sinks,
    sink_options,
    worth_logging,
)

__all__ = ["SINK_LOG", "AblationStart", "Sink", "SinkSet", "arm_number", "build_sinks", "sink_options", "worth_logging"]
