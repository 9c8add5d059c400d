"""What runs produce and where it is kept: the records (``records``) and the SQLite result store of an output folder (``store``)."""

from augmentlab.results.records import (
    AblationInfo,
    ArmInfo,
    EpochRecord,
    RunResult,
    RunStatus,
)
from augmentlab.results.store import ResultStore

__all__ = ["AblationInfo", "ArmInfo", "EpochRecord", "ResultStore", "RunResult", "RunStatus"]
