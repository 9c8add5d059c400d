"""README's examples run as written: the plugin guide's geometric transform and result sink, and CI's test command."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import torch

from augmentlab.augment.geometric.flips import HorizontalFlip
from augmentlab.augment.pipeline import AugmentationPipeline
from augmentlab.testing import check_augmentation

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> str:
    """The first fenced code block after ``marker``, dedented."""
    match = re.search(re.escape(marker) + r"\s*```(?:python|bash)\n(.*?)\n\s*```", README, flags=re.S)
    assert match, f"README has no code block after {marker}"
    return textwrap.dedent(match.group(1))


@pytest.fixture(scope="module")
def shear():
    namespace: dict = {}
    exec(compile(block_after("<!-- plugin-example -->"), "README.md", "exec"), namespace)
    return namespace["Shear"]


def test_the_guides_warp_keeps_every_mask_guarantee(shear, device):
    check_augmentation(factory=shear, device=device)


def test_the_guides_warp_joins_the_fused_stage_of_its_neighbours(shear):
    pipeline = AugmentationPipeline([HorizontalFlip(p=1.0), shear(p=1.0)], "hflip,shear")
    assert [len(stage) for stage in pipeline.stages] == [2]


def test_the_guides_warp_shears_rows_about_the_centre(shear):
    images = torch.arange(5.0).repeat(1, 3, 5, 1) / 4  # [1,3,5,5], column index / 4
    masks = torch.arange(5).repeat(1, 5, 1)
    torch.manual_seed(0)
    transform = shear(limit=0.5, p=1.0)
    params = transform.draw_params(1, 5, 5, torch.device("cpu"))
    params["shear"] = torch.tensor([0.5])
    out_images, out_masks = transform.apply_transform(images, masks, params)
    # row 0 lies 2 rows above the centre: it reads 1 px to the right, row 4 one px to the left
    assert out_masks[0, 0].tolist() == [1, 2, 3, 4, 255] and out_masks[0, 2].tolist() == [0, 1, 2, 3, 4]
    assert out_masks[0, 4].tolist() == [255, 0, 1, 2, 3]


def test_the_guides_sink_is_a_plugin_that_adds_each_run_once(install_distribution, tmp_path):
    from runner_fixtures import tiny_config, tiny_demo

    import augmentlab

    install_distribution("augmentlab-csv", {"csv_sink_plugin": block_after("<!-- sink-example -->")}, {"csv": "csv_sink_plugin"})
    augmentlab.load_plugins()
    assert augmentlab.available_sinks()["csv"].doc == "One CSV row per finished run: ablation, arm, seed, mIoU."
    target = tmp_path / "all.csv"
    config = tiny_config(tiny_demo(tmp_path / "demo"), tmp_path / "runs", track={"csv": {"path": str(target)}})
    report = augmentlab.run_ablation(config)
    augmentlab.run_ablation(config.with_overrides(seeds=2))
    lines = target.read_text().splitlines()
    assert [line.split(",")[1:3] for line in lines] == [["none | ce", "0"], ["hflip | ce", "0"], ["none | ce", "1"], ["hflip | ce", "1"]]
    assert lines[0].split(",")[3] == str(report.arm(0).miou_mean)


def test_ci_runs_the_readme_test_command():
    assert block_after("<!-- test-command -->").endswith("python -m pytest")
