"""An ablation plan: which arms to train, with which seeds, under one fixed recipe.

Arms form a full factorial (DESIGN.md): augmentation levels are ``none`` plus each given set,
loss levels are ``ce`` plus each given spec, and every augmentation level meets every loss
level. The cell (none, ce) is the baseline every other arm is compared with. ``each`` adds each
member of a comma set alone; ``screen`` puts the members of one set (and one loss spec) in a
two-level screening design (:mod:`augmentlab.runner.designs`), whose all-absent run is the baseline.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from augmentlab.errors import FieldError
from augmentlab.registry.api import resolve_augmentation_set, resolve_loss_spec
from augmentlab.registry.spec import AugmentationSet, LossSpec
from augmentlab.results.records import (
    BASELINE_AUGMENTATION,
    BASELINE_LOSS,
    AnalysisSettings,
    arm_name,
)
from augmentlab.runner.designs import screening_rows
from augmentlab.runner.recipe import Recipe


@dataclass(frozen=True)
class Arm:
    """One plugin set: an augmentation set and a loss."""

    augmentation: AugmentationSet
    loss: LossSpec

    @property
    def name(self) -> str:
        return arm_name(str(self.augmentation), str(self.loss))

    @property
    def is_baseline(self) -> bool:
        return str(self.augmentation) == BASELINE_AUGMENTATION and str(self.loss) == BASELINE_LOSS


@dataclass(frozen=True)
class AblationPlan:
    """Arms × seeds under one recipe."""

    arms: tuple[Arm, ...]
    seeds: tuple[int, ...]
    recipe: Recipe
    preset: str
    device: str
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    """How the runs are compared, and with sequential seeds which of ``seeds`` are trained."""

    @property
    def runs(self) -> list[tuple[Arm, int]]:
        return [(arm, seed) for arm in self.arms for seed in self.seeds]

    def default_name(self, data_key: str) -> str:
        """A folder name that depends only on the arms, the recipe, the device and the data, so the same command resumes.

        Seeds are left out on purpose: the same command with more seeds extends the folder and
        trains only the new seeds.
        """
        key = json.dumps([[arm.name for arm in self.arms], self.recipe.identity(), self.device, data_key])
        return f"ablation-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def augmentation_levels(sets: Iterable[str], each: bool) -> list[AugmentationSet]:
    """``none`` plus each set; with ``each``, a set of several members also adds each member alone first."""
    levels: dict[str, AugmentationSet] = {}
    for candidate in [BASELINE_AUGMENTATION, *sets]:
        parsed = resolve_augmentation_set(candidate)
        expanded = [AugmentationSet((term,), str(term)) for term in parsed] if each and len(parsed) > 1 else []
        for level in [*expanded, parsed]:
            levels.setdefault(str(level), level)
    return list(levels.values())


def loss_levels(specs: Iterable[str]) -> list[LossSpec]:
    """``ce`` plus each spec, each once."""
    levels: dict[str, LossSpec] = {}
    for candidate in [BASELINE_LOSS, *specs]:
        parsed = resolve_loss_spec(candidate)
        levels.setdefault(str(parsed), parsed)
    return list(levels.values())


def factorial_arms(augmentations: Iterable[str], losses: Iterable[str], each: bool = False) -> list[Arm]:
    """Every augmentation level with every loss level, the baseline (none, ce) first."""
    return [Arm(a, l) for a, l in itertools.product(augmentation_levels(augmentations, each), loss_levels(losses))]


@dataclass(frozen=True)
class ScreeningDesign:
    """A screening design's arms (the baseline, all factors absent, first), its factors, and each arm's level of each factor."""

    arms: list[Arm]
    factors: list[str]
    levels: dict[str, list[int]]


def screening_design(augmentations: str, loss: str | None, foldover: bool = False) -> ScreeningDesign:
    """Every member of the augmentation set, and the loss spec if given (against ``ce``), as a two-level factor.

    A run's augmentation set is its present members in the order given; its loss is the spec
    where the loss factor is present, ``ce`` where it is absent.

    Raises:
        FieldError: fewer than two factors, or more than the largest design takes.
        SpecError: a spec that does not resolve.
    """
    terms = list(resolve_augmentation_set(augmentations))
    loss_spec = resolve_loss_spec(loss) if loss is not None else None
    factors = [str(term) for term in terms] + ([str(loss_spec)] if loss_spec is not None else [])
    twice = sorted({factor for factor in factors if factors.count(factor) > 1})
    if twice:
        raise FieldError("aug", f"names {', '.join(twice)} twice; each factor of a screening design appears once")
    if loss_spec is not None and str(loss_spec) == BASELINE_LOSS:
        raise FieldError("loss", f"is {BASELINE_LOSS}, the baseline loss; the loss factor is a spec screened against {BASELINE_LOSS}")
    rows = screening_rows(len(factors), foldover)
    arms, levels = [], {}
    for row in rows:
        present = [term for term, level in zip(terms, row) if level > 0]
        augmentation = AugmentationSet(tuple(present), ",".join(str(term) for term in present) or BASELINE_AUGMENTATION)
        arm_loss = loss_spec if loss_spec is not None and row[-1] > 0 else resolve_loss_spec(BASELINE_LOSS)
        arm = Arm(augmentation, arm_loss)
        arms.append(arm)
        levels[arm.name] = [int(level) for level in row]
    return ScreeningDesign(arms, factors, levels)


def baseline_arm() -> Arm:
    return Arm(resolve_augmentation_set(BASELINE_AUGMENTATION), resolve_loss_spec(BASELINE_LOSS))


def explicit_arms(entries: Iterable[Mapping[str, str]]) -> list[Arm]:
    """Arms listed one by one (``[[arms]]`` of a config file: ``aug`` and ``loss``, each defaulting to the baseline's), the baseline first."""
    baseline = baseline_arm()
    arms = {baseline.name: baseline}
    for entry in entries:
        arm = Arm(resolve_augmentation_set(entry.get("aug", BASELINE_AUGMENTATION)), resolve_loss_spec(entry.get("loss", BASELINE_LOSS)))
        arms.setdefault(arm.name, arm)
    return list(arms.values())


def check_batch_fits(batch_size: int, train_images: int) -> None:
    """An epoch drops its last partial batch, so a batch larger than the training set trains nothing."""
    if batch_size > train_images:
        raise FieldError("batch_size", f"{batch_size} is larger than the {train_images} training images; lower it")


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_run_name(name: str) -> str:
    if not RUN_NAME.fullmatch(name):
        raise FieldError("name", f"{name!r} may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit")
    return name
