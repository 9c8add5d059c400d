"""Where an ablation's runs train: in the driver's process (``sequential``), in local worker processes (``process``), or on a Ray cluster (``ray_cluster``).

Every executor follows :class:`~augmentlab.runner.executors.base.Executor`. The package itself
imports only ``base``: each executor loads torch or Ray, and is imported where it is used.
"""

from augmentlab.runner.executors.base import (
    DataRequest,
    Done,
    Executor,
    Started,
    StopRuns,
    failed_result,
)

__all__ = ["DataRequest", "Done", "Executor", "Started", "StopRuns", "failed_result"]
