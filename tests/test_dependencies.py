"""The private names of kornia and segmentation_models_pytorch that augmentlab relies on.

pyproject.toml caps both below their next minor release. When a release renames or changes one
of these, this test fails loudly at the upgrade instead of a transform or a loss failing in a run.
"""

import inspect

import pytest


@pytest.mark.parametrize(
    ("module", "name", "parameters"),
    [
        # clahe: kornia's tile histograms, on the luma channel only
        ("kornia.enhance.equalization", "_equalize_clahe", ["input", "clip_limit", "grid_size", "slow_and_differentiable"]),
        # tversky, dice, jaccard: smp's per-class Tversky index
        ("segmentation_models_pytorch.losses._functional", "soft_tversky_score", ["output", "target", "alpha", "beta", "smooth", "eps", "dims"]),
    ],
)
def test_the_private_names_we_import_still_exist_with_their_parameters(module, name, parameters):
    imported = __import__(module, fromlist=[name])
    function = getattr(imported, name)
    assert list(inspect.signature(function).parameters) == parameters
