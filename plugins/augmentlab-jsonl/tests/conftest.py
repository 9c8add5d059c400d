"""The jsonl sink's own tests need the plugin installed: ``pip install -e plugins/augmentlab-jsonl``.

Without it they are skipped with that reason, so that the host's suite runs with augmentlab alone.
"""

from importlib import metadata

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        metadata.distribution("augmentlab-jsonl")
    except metadata.PackageNotFoundError:
        skip = pytest.mark.skip(reason="augmentlab-jsonl is not installed: pip install -e plugins/augmentlab-jsonl")
        for item in items:
            if "augmentlab-jsonl" in str(item.path):
                item.add_marker(skip)
