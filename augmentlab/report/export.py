"""One arm of a finished ablation as a recipe to train with: the arm, the evidence it rests on, its specs as TOML or Python.

:func:`read_arm_recipe` picks an arm of a folder's report (by number or name, or the best arm
whose verdict is *better*) and keeps what rebuilding it needs; :func:`spec_text` and
:func:`python_text` write it out, each with its evidence. ``augmentlab export DIR`` prints them;
its albumentations form needs the stock transforms of :mod:`augmentlab.diagnostics`, a layer
above this one, and is built in :mod:`augmentlab.cli.export`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from augmentlab.errors import AugmentlabError, Param
from augmentlab.report.files import read_report
from augmentlab.report.summary import DESIGN_RUN, ArmSummary, Report
from augmentlab.report.text import miou_text, number_text
from augmentlab.results.records import recipe_words
from augmentlab.results.store import ResultStore

BETTER = "better"


@dataclass(frozen=True)
class ArmRecipe:
    """One arm of an ablation: what rebuilds its augmentation and loss, and the evidence for it.

    Attributes:
        ablation: the ablation's name.
        index: the arm's number in the report's tables (0 is the baseline).
        arm: the arm's row of the report.
        baseline: the baseline's row.
        class_names: the classes, index 0 first; their count is the loss's C.
        ignore_index: the mask label of unlabelled pixels.
        recipe: the fixed recipe the arm trained with (image size, mirror pairs, …).
    """

    ablation: str
    index: int
    arm: ArmSummary
    baseline: ArmSummary
    class_names: list[str]
    ignore_index: int
    recipe: dict[str, Any]

    @property
    def mirror_pairs(self) -> str:
        """The class pairs whose labels a reflection swapped in training (``A:B,C:D``), or ``none``."""
        return str(self.recipe.get("mirror_pairs", "none"))

    def evidence(self) -> list[str]:
        """The lines every export carries: ablation and arm, Δ mIoU with its interval and method, seeds, verdict, model."""
        arm = self.arm
        failed = f", {arm.seeds_failed} failed" if arm.seeds_failed else ""
        return [
            f"ablation {self.ablation}, arm #{self.index}: {arm.arm}",
            self._delta_line(),
            f"mIoU {miou_text(arm)} (baseline {miou_text(self.baseline)})",
            f"seeds finished: {arm.seeds_finished} of {arm.seeds_planned}{failed}",
            f"verdict: {arm.verdict or 'none'}",
            f"trained as: {recipe_words(self.recipe)}",
        ]

    def _delta_line(self) -> str:
        arm, delta = self.arm, self.arm.delta
        if self.index == 0:
            return "Δ mIoU: none, this arm is the baseline"
        if arm.verdict == DESIGN_RUN:
            return "Δ mIoU: none, a screening design's run is not compared with the baseline on its own: its factors' main effects are (see the report)"
        if delta is None:
            return f"Δ mIoU: none ({arm.stopped or 'no seed where it and the baseline both finished'})"
        interval = f"[{number_text(delta.low, sign=True)}, {number_text(delta.high, sign=True)}]"
        return (
            f"Δ mIoU vs the baseline {self.baseline.arm}: {number_text(delta.estimate, sign=True)}, {delta.confidence * 100:.4g}% CI {interval} "
            f"by {delta.method}; adjusted p {delta.p_adjusted:.3g}"
        )


def read_arm_recipe(folder: str | Path, *, arm: int | str | None = None, best: bool = False) -> ArmRecipe:
    """The arm of an ablation's output folder chosen by ``arm`` (its number in the report, ``1``, ``"1"`` or ``"#1"``, or its
    name) or by ``best`` (the highest mIoU among the arms whose verdict is *better*): exactly one of the two.

    Raises:
        AugmentlabError: the folder holds no ablation results; neither or both of ``arm`` and ``best``; no such
            arm; ``best`` where no arm is better than the baseline.
    """
    if (arm is None) == (not best):
        raise AugmentlabError("give exactly one of ", Param("arm"), " N (a number or name from the report's Arms table) and ", Param("best"))
    report = read_report(folder)
    with ResultStore.open_existing(Path(folder)) as store:
        ignore_index = store.info().ignore_index
    index = _chosen_arm(report, arm, best)
    return ArmRecipe(report.name, index, report.arms[index], report.arms[0], list(report.class_names), ignore_index, dict(report.recipe))


def _chosen_arm(report: Report, arm: int | str | None, best: bool) -> int:
    if best or arm is None:
        return _best_arm(report)
    if isinstance(arm, int) and not isinstance(arm, bool):
        arm = str(arm)
    if not isinstance(arm, str):
        raise AugmentlabError(Param("arm"), f" must be an arm's number or name, got {type(arm).__name__} {arm!r}")
    key = arm.strip().removeprefix("#")
    try:
        found = report.arm(int(key) if key.isdigit() else arm.strip())
    except KeyError as error:
        raise AugmentlabError(Param("arm"), f" {arm!r}: {error.args[0]}") from None
    return report.arms.index(found)


def _best_arm(report: Report) -> int:
    better = [index for index, arm in enumerate(report.arms) if arm.verdict == BETTER and arm.miou_mean is not None]
    if better:
        return max(better, key=lambda index: report.arms[index].miou_mean)
    counts = Counter(arm.verdict or "no verdict" for arm in report.arms)
    verdicts = ", ".join(f"{verdict} ({count})" if count > 1 else verdict for verdict, count in counts.items())
    screen = (
        "; a screening design's runs are not compared with the baseline, its factors' main effects are (see the report)"
        if report.design == "screen" else ""
    )
    raise AugmentlabError(
        Param("best"), f": no arm of {report.name} is better than the baseline (verdicts: {verdicts}){screen}; "
        "exporting an arm whose gain may be noise as the winner would mislead; give ", Param("arm"), " N to export one anyway, with its evidence"
    )


def spec_text(recipe: ArmRecipe) -> str:
    """The arm's augmentation and loss as TOML for a config file (``aug = "…"``, ``loss = "…"``), after ``#`` lines of evidence."""
    comments = [*recipe.evidence(), "aug and loss as a config file takes them (augmentlab ablate --config FILE)"]
    return "".join(f"# {line}\n" for line in comments) + tomli_w.dumps({"aug": recipe.arm.augmentation, "loss": recipe.arm.loss})


PYTHON_MODULE = '''"""The augmentation and loss of arm #{index} ({arm}) of the augmentlab ablation {ablation}, for your own training loop.

{evidence}

build_training_parts() builds both; training_step() shows where they go in a step: the uint8
batch becomes float in [0, 1] on the GPU, is augmented there (images and masks together), is
normalised with ImageNet mean and std as augmentlab trained, then goes through the model and the loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

import augmentlab
{mirror_import}from augmentlab.runner.model import normalize_images

AUGMENTATION = {augmentation!r}
LOSS = {loss!r}
CLASS_NAMES = {class_names!r}
IGNORE_INDEX = {ignore_index!r}
{mirror_constant}

def build_training_parts(device: torch.device | str, class_frequencies: Sequence[float] | None = None) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(augment, loss_fn) on ``device``.

    augment maps (images float [B,3,H,W] in [0,1], masks int64 [B,H,W]) to the same, augmented;
    loss_fn maps (logits float [B,C,H,W], masks int64 [B,H,W]) to a float32 scalar.
    class_frequencies (pixels per class in the training set) is needed only by a loss with
    weight=auto or alpha=auto.
    """
    augment = augmentlab.build_augmentation(AUGMENTATION, ignore_index=IGNORE_INDEX)
{mirror_call}    loss_fn = augmentlab.build_loss(LOSS, len(CLASS_NAMES), IGNORE_INDEX, class_frequencies)
    return augment.to(device), loss_fn.to(device)


def training_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, augment: torch.nn.Module, loss_fn: torch.nn.Module,
    images: torch.Tensor, masks: torch.Tensor,
) -> torch.Tensor:
    """One optimiser step on images uint8 [B,3,H,W] and masks int64 [B,H,W], on the model's device; returns the loss, detached."""
    images, masks = augment(images.float().div_(255), masks)
    logits = model(normalize_images(images))
    loss = loss_fn(logits, masks)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()
'''
MIRROR_IMPORT = "from augmentlab.augment.mirror import label_swap_table, mirror_pairs\n"
MIRROR_CALL = "    augment.set_label_swap(label_swap_table(mirror_pairs(CLASS_NAMES, MIRROR_PAIRS), IGNORE_INDEX))  # before .to(device)\n"


def python_text(recipe: ArmRecipe) -> str:
    """A self-contained Python module that builds the arm's augmentation and loss and shows a training step; the evidence is its docstring."""
    swaps = recipe.mirror_pairs != "none"
    return PYTHON_MODULE.format(
        index=recipe.index,
        arm=_docstring_text(recipe.arm.arm),
        ablation=_docstring_text(recipe.ablation),
        evidence=_docstring_text("\n".join(recipe.evidence())),
        augmentation=recipe.arm.augmentation,
        loss=recipe.arm.loss,
        class_names=recipe.class_names,
        ignore_index=recipe.ignore_index,
        mirror_import=MIRROR_IMPORT if swaps else "",
        mirror_constant=f"MIRROR_PAIRS = {recipe.mirror_pairs!r}  # reflections swap these classes' labels, as in training\n" if swaps else "",
        mirror_call=MIRROR_CALL if swaps else "",
    )


def _docstring_text(text: str) -> str:
    """``text`` as it reads inside a triple-quoted docstring: backslashes and triple quotes escaped."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
