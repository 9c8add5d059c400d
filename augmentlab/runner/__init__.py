"""Training an ablation: the config, the plan, one run, where runs execute, and the driver that ties them together.

- :mod:`~augmentlab.runner.config`: :class:`AblationConfig`, every setting once;
- :mod:`~augmentlab.runner.recipe` and :mod:`~augmentlab.runner.plan`: the fixed recipe and arms × seeds;
- :mod:`~augmentlab.runner.model`, :mod:`~augmentlab.runner.metrics`, :mod:`~augmentlab.runner.train`: one run;
- :mod:`~augmentlab.runner.training_data`: the splits decoded on the device, shared by every run;
- :mod:`~augmentlab.runner.executors`: sequential, local worker processes, Ray;
- :mod:`~augmentlab.runner.progress`: what an ablation tells whoever runs it;
- :mod:`~augmentlab.runner.ablation`: :func:`run_ablation` and :func:`plan_ablation`.
"""

from importlib import import_module

from augmentlab.runner.config import AblationConfig

_LAZY = {  # torch and the trainer load on first use, so that reading a config stays light
    "AblationInterrupted": "augmentlab.runner.ablation",
    "PreparedAblation": "augmentlab.runner.ablation",
    "plan_ablation": "augmentlab.runner.ablation",
    "run_ablation": "augmentlab.runner.ablation",
    "AblationListener": "augmentlab.runner.progress",
    "ConsoleProgress": "augmentlab.runner.progress",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'augmentlab.runner' has no attribute {name!r}")


__all__ = ["AblationConfig", "AblationInterrupted", "AblationListener", "ConsoleProgress", "PreparedAblation", "plan_ablation", "run_ablation"]
