"""Shared test setup: every test that touches tensors takes the ``device`` fixture.

``pytest`` runs on the CPU; ``pytest --device cuda`` runs the same tests on a GPU.
"""

from __future__ import annotations

import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import torch


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device", default="cpu", choices=("cpu", "cuda"), help="device the tensor tests run on")


@pytest.fixture(scope="session")
def device(pytestconfig: pytest.Config) -> torch.device:
    name = pytestconfig.getoption("--device")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.exit("--device cuda was given but no CUDA device is visible", returncode=2)
    # A tensor on CUDA reports its index (cuda:0); the fixture does too, so devices compare equal.
    return torch.device("cuda", torch.cuda.current_device()) if name == "cuda" else torch.device(name)


@pytest.fixture(scope="session", autouse=True)
def _private_data_folders(tmp_path_factory: pytest.TempPathFactory):
    """Demo data and mask caches go to one temporary folder per test session, never to ~/.cache.

    The demo data is generated once per session, on first use.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUGMENTLAB_DATA", str(tmp_path_factory.mktemp("data")))
        patch.setenv("AUGMENTLAB_CACHE", str(tmp_path_factory.mktemp("mask-cache")))
        yield


@pytest.fixture(autouse=True)
def _fresh_plugins(monkeypatch: pytest.MonkeyPatch):
    """Each test starts from the plugins the environment gives, whatever an earlier test loaded."""
    from augmentlab.registry import loading as plugin_manager
    for variable in (plugin_manager.ENV_DISABLE, plugin_manager.ENV_DISABLE_AUTOLOAD, plugin_manager.ENV_STRICT):
        monkeypatch.delenv(variable, raising=False)
    plugin_manager.reset_plugins()
    yield
    plugin_manager.reset_plugins()


@pytest.fixture
def install_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Make an importable distribution with ``augmentlab`` entry points, found by importlib.metadata."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    installed: list[str] = []

    def install(distribution: str, modules: dict[str, str], entry_points: dict[str, str], version: str = "1.0") -> None:
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            installed.append(module)
        info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[augmentlab]\n{lines}")

    yield install
    for module in installed:
        sys.modules.pop(module, None)


EXAMPLE_PLUGIN = Path(__file__).parents[1] / "plugins" / "augmentlab-example"


@pytest.fixture
def example_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``plugins/augmentlab-example`` (solarize, poly) as a loaded plugin, installed or not.

    The host suite runs with augmentlab alone: where the example distribution is not installed,
    its source is put on the path with a dist-info of its own name, version and entry point, so
    that tests see exactly what ``pip install -e plugins/augmentlab-example`` gives.
    """
    from importlib import metadata

    try:
        metadata.distribution("augmentlab-example")
        return
    except metadata.PackageNotFoundError:
        pass
    project = tomllib.loads((EXAMPLE_PLUGIN / "pyproject.toml").read_text())["project"]
    site = tmp_path / "example-site"
    info = site / f"augmentlab_example-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in project["entry-points"]["augmentlab"].items())
    (info / "entry_points.txt").write_text(f"[augmentlab]\n{lines}")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(EXAMPLE_PLUGIN))
