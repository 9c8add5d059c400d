"""The statistics' arithmetic: means and spreads, mIoU from pixel counts, the paired bootstrap over images, factorial contrasts.

Every comparison is a *contrast*: weights ``{arm name: weight}`` that sum arms' dataset-level mIoU,
``Σ w_a · mIoU_a``. "Arm minus baseline" is ``{arm: 1, baseline: -1}``; factorial main effects and
interactions are contrasts over several arms. :mod:`augmentlab.report.analysis` turns contrasts
into estimates, intervals and verdicts.

Pairing matters: runs of one seed share what the seed fixes, and every run is validated on the same
images. Differences within a seed (or within an image) cancel the noise that arms share, so a paired
interval is narrower than one from two independent means.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

# scipy.special holds the t quantile itself (scipy.stats.t.ppf calls it) and imports in a quarter
# of scipy.stats' time, which every report paid: 0.25 s against 0.9 s on this project's CPU.
from scipy.special import stdtrit

from augmentlab.results.records import ArmInfo

Contrast = Mapping[str, float]
"""Weights ``{arm name: weight}`` of a linear combination of arms' mIoU."""

ImageCounts = tuple[ArrayLike, ArrayLike]
"""``(intersections, unions)`` of one run: pixel counts ``[N_images, C]``."""

@dataclass(frozen=True)
class FactorialEffect:
    """A main effect or an interaction of a full factorial, as a contrast over its arms."""

    kind: Literal["augmentation", "loss", "interaction"]
    level: str
    """The augmentation or loss level; ``"<augmentation> × <loss>"`` for an interaction."""
    weights: dict[str, float]


def mean_and_std(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (ddof=1) of ``values``; the std is None for one value.

    Raises:
        ValueError: ``values`` is empty.
    """
    if len(values) == 0:
        raise ValueError("mean_and_std needs at least one value, got none")
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), (float(array.std(ddof=1)) if len(array) > 1 else None)


def t_confidence_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student t interval of the mean of ``values``, with n-1 degrees of freedom.

    Raises:
        ValueError: fewer than two values, or ``confidence`` outside (0, 1).
    """
    _check_confidence(confidence)
    if len(values) < 2:
        raise ValueError(f"a t interval needs at least 2 values, got {len(values)}; run more seeds or use paired_bootstrap_ci")
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    half_width = float(stdtrit(len(array) - 1, (1 + confidence) / 2) * array.std(ddof=1) / math.sqrt(len(array)))
    return mean, mean - half_width, mean + half_width


def miou_from_counts(intersections: ArrayLike, unions: ArrayLike) -> float:
    """Dataset-level mIoU from pixel counts ``[N_images, C]`` (or ``[C]``), summed over images first.

    Each class's IoU is its summed intersection over its summed union; classes with union 0
    (in neither prediction nor truth) are left out of the mean. NaN when no class has a union.

    Raises:
        ValueError: the two arrays differ in shape, or are not ``[C]`` or ``[N, C]``.
    """
    intersection_array, union_array = _counts_pair(intersections, unions, "miou_from_counts")
    return float(_miou_of_rows(intersection_array.sum(axis=0, keepdims=True), union_array.sum(axis=0, keepdims=True))[0])


def bootstrap_contrasts(weights: Contrast, counts: Mapping[str, ImageCounts], samples: int = 2000, seed: int = 0) -> tuple[float, np.ndarray]:
    """``(estimate, resampled)`` of the contrast ``Σ w_a · mIoU_a``, by a paired bootstrap over validation images.

    All arms must be validated on the same images in the same order (one seed of one ablation).
    Each bootstrap sample draws image indices with replacement, the same draw for every arm, and
    recomputes every arm's dataset-level mIoU from the drawn images' summed counts. The estimate
    uses all images.

    Args:
        weights: ``{arm name: weight}``.
        counts: ``(intersections, unions)`` of each arm in ``weights``, each ``[N_images, C]``.
        samples: bootstrap samples.
        seed: seeds the numpy Generator, so the same inputs give the same resamples.

    Raises:
        ValueError: an arm without counts, counts of different shapes or without images, or bad settings.
    """
    if samples < 1:
        raise ValueError(f"the paired bootstrap needs samples >= 1, got {samples}")
    arrays = _contrast_counts(weights, counts)
    n_images = next(iter(arrays.values()))[0].shape[0]
    multiplicity = _bootstrap_multiplicity(n_images, samples, seed)
    estimate = sum(weight * miou_from_counts(*arrays[arm]) for arm, weight in weights.items())
    resampled = sum(weight * _miou_of_rows(multiplicity @ arrays[arm][0], multiplicity @ arrays[arm][1]) for arm, weight in weights.items())
    return float(estimate), np.asarray(resampled)


def paired_bootstrap_ci(
    weights: Contrast,
    counts: Mapping[str, ImageCounts],
    samples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of the contrast ``Σ w_a · mIoU_a``: :func:`bootstrap_contrasts` and the central ``confidence`` of its resamples.

    Raises:
        ValueError: as :func:`bootstrap_contrasts`, or ``confidence`` outside (0, 1).
    """
    _check_confidence(confidence)
    estimate, resampled = bootstrap_contrasts(weights, counts, samples, seed)
    low, high = np.quantile(resampled, [(1 - confidence) / 2, (1 + confidence) / 2])
    return estimate, float(low), float(high)


def factorial_effects(arms: Sequence[ArmInfo], baseline_augmentation: str = "none", baseline_loss: str = "ce") -> list[FactorialEffect]:
    """Main effects and interactions when ``arms`` form a full factorial; an empty list otherwise.

    A full factorial has every augmentation level with every loss level, each cell once, at least two
    levels of each factor, and the baseline levels among them. With ``(a, l)`` a cell's mIoU:

    - main effect of augmentation ``a``: mean over losses ``l`` of ``(a, l) − (none, l)``;
    - main effect of loss ``l``: mean over augmentations ``a`` of ``(a, l) − (a, ce)``;
    - interaction of ``(a, l)``: ``(a, l) − (a, ce) − (none, l) + (none, ce)``, how much more
      (or less) the pair gives together than the sum of its parts.
    """
    cells = {(arm.augmentation, arm.loss): arm.name for arm in arms}
    augmentations = list(dict.fromkeys(arm.augmentation for arm in arms))
    losses = list(dict.fromkeys(arm.loss for arm in arms))
    is_full = (
        len(cells) == len(arms) == len(augmentations) * len(losses)
        and min(len(augmentations), len(losses)) >= 2
        and (baseline_augmentation, baseline_loss) in cells
    )
    if not is_full:
        return []
    other_augmentations = [a for a in augmentations if a != baseline_augmentation]
    other_losses = [l for l in losses if l != baseline_loss]
    effects = [
        FactorialEffect("augmentation", a, _mean_difference([cells[a, l] for l in losses], [cells[baseline_augmentation, l] for l in losses]))
        for a in other_augmentations
    ]
    effects += [
        FactorialEffect("loss", l, _mean_difference([cells[a, l] for a in augmentations], [cells[a, baseline_loss] for a in augmentations]))
        for l in other_losses
    ]
    effects += [
        FactorialEffect(
            "interaction",
            f"{a} × {l}",
            _weights([(cells[a, l], 1.0), (cells[a, baseline_loss], -1.0), (cells[baseline_augmentation, l], -1.0), (cells[baseline_augmentation, baseline_loss], 1.0)]),
        )
        for a, l in itertools.product(other_augmentations, other_losses)
    ]
    return effects


def _mean_difference(plus: Sequence[str], minus: Sequence[str]) -> dict[str, float]:
    """Weights of the mean of the paired differences ``plus[i] − minus[i]``."""
    share = 1 / len(plus)
    return _weights([(arm, share) for arm in plus] + [(arm, -share) for arm in minus])


def _weights(pairs: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Sum (arm, weight) pairs into contrast weights, keeping insertion order."""
    weights: dict[str, float] = {}
    for arm, weight in pairs:
        weights[arm] = weights.get(arm, 0.0) + weight
    return weights


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")


def _counts_pair(intersections: ArrayLike, unions: ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """float64 ``[N, C]`` views of a run's counts; float64 holds pixel counts exactly up to 2**53."""
    intersection_array = np.atleast_2d(np.asarray(intersections, dtype=np.float64))
    union_array = np.atleast_2d(np.asarray(unions, dtype=np.float64))
    if intersection_array.shape != union_array.shape or intersection_array.ndim != 2:
        raise ValueError(f"{where}: intersections and unions must both be [N_images, C] or [C], got shapes {np.shape(intersections)} and {np.shape(unions)}")
    return intersection_array, union_array


def _miou_of_rows(intersections: np.ndarray, unions: np.ndarray) -> np.ndarray:
    """mIoU of each row of summed counts ``[R, C]`` over the classes with a union; NaN for a row without any."""
    present = unions > 0
    iou = np.divide(intersections, unions, out=np.zeros_like(intersections), where=present)
    n_present = present.sum(axis=1)
    return np.divide(iou.sum(axis=1), n_present, out=np.full(len(iou), np.nan), where=n_present > 0)


def _contrast_counts(weights: Contrast, counts: Mapping[str, ImageCounts]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each weighted arm's counts as float64 ``[N, C]``, checked to share one shape with at least one image."""
    if not weights:
        raise ValueError("the contrast has no arms; give weights like {'arm': 1, 'baseline': -1}")
    missing = [arm for arm in weights if arm not in counts]
    if missing:
        raise ValueError(f"no per-image counts for arm {missing[0]!r}; counts has arms {sorted(counts)}")
    arrays = {arm: _counts_pair(*counts[arm], where=f"arm {arm!r}") for arm in weights}
    shapes = {arm: pair[0].shape for arm, pair in arrays.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"arms must be validated on the same images and classes, got count shapes {shapes}")
    empty = [arm for arm, shape in shapes.items() if 0 in shape]
    if empty:
        raise ValueError(f"arm {empty[0]!r} has no per-image counts; its run must record image_intersections and image_unions")
    return arrays


@functools.lru_cache(maxsize=1)
def _bootstrap_multiplicity(n_images: int, samples: int, seed: int) -> np.ndarray:
    """float64 ``[samples, n_images]``, read-only: how often each bootstrap sample drew each image.

    Summed counts of all samples are then one matrix product ``multiplicity @ counts``. Cached
    because a report asks for many contrasts over the same images with the same seed.
    """
    draws = np.random.default_rng(seed).integers(0, n_images, size=(samples, n_images))
    flat = (draws + n_images * np.arange(samples)[:, None]).ravel()
    multiplicity = np.bincount(flat, minlength=samples * n_images).reshape(samples, n_images).astype(np.float64)
    multiplicity.setflags(write=False)
    return multiplicity
