"""The example plugin's own tests need the plugin installed: ``pip install -e plugins/augmentlab-example``.

Without it they are skipped with that reason, so that the host's suite runs with augmentlab alone.
"""

from importlib import metadata

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        metadata.distribution("augmentlab-example")
    except metadata.PackageNotFoundError:
        skip = pytest.mark.skip(reason="augmentlab-example is not installed: pip install -e plugins/augmentlab-example")
        for item in items:
            if "augmentlab-example" in str(item.path):
                item.add_marker(skip)
