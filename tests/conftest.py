"""Shared test setup: every test that touches tensors takes the ``device`` fixture.

``pytest`` runs on the CPU; ``pytest --device cuda`` runs the same tests on a GPU.
"""

from __future__ import annotations

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"), help="device the tensor tests run on")


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> torch.device:
    name = pytestconfig.getoption("--device")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.exit("--device cuda was given but no CUDA device is visible", returncode=2)
    return torch.device(name)


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch: pytest.MonkeyPatch):
    """Each test starts from the plugins the environment gives, whatever an earlier test loaded."""
    from augmentlab import plugin_manager

    for variable in (plugin_manager.ENV_DISABLE, plugin_manager.ENV_DISABLE_AUTOLOAD, plugin_manager.ENV_STRICT):
        monkeypatch.delenv(variable, raising=False)
    plugin_manager.reset_plugins()
    yield
    plugin_manager.reset_plugins()
