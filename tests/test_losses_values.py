"""The loss math, pinned: hand-checkable cases, written-out references and smp where it agrees."""

from __future__ import annotations

import math

import pytest
import segmentation_models_pytorch.losses as smp_losses
import torch
import torch.nn.functional as F

import augmentlab
from augmentlab.losses import (
    CrossEntropyLoss,
    DiceLoss,
    FocalLoss,
    JaccardLoss,
    LovaszLoss,
    OhemCrossEntropyLoss,
    TverskyLoss,
)
from augmentlab.losses.class_weights import median_frequency_weights

IGNORE = 255


def confident_logits(predicted: list[list[int]], num_classes: int, device: torch.device, margin: float = 100.0) -> torch.Tensor:
    """float32 [1,C,H,W] whose softmax is the one-hot of ``predicted`` to float32 precision."""
    labels = torch.tensor(predicted, device=device)
    return margin * F.one_hot(labels, num_classes).permute(2, 0, 1).unsqueeze(0).float()


def labels(rows: list[list[int]], device: torch.device) -> torch.Tensor:
    return torch.tensor(rows, device=device).unsqueeze(0)


def random_batch(seed: int, shape: tuple[int, int, int, int], device: torch.device, ignore_share: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded logits float32 [B,C,H,W] and target int64 [B,H,W] with about ``ignore_share`` ignored."""
    generator = torch.Generator().manual_seed(seed)
    batch, num_classes, height, width = shape
    logits = 2 * torch.randn(shape, generator=generator)
    target = torch.randint(0, num_classes, (batch, height, width), generator=generator)
    target[torch.rand(target.shape, generator=generator) < ignore_share] = IGNORE
    return logits.to(device), target.to(device)


# --- Dice, Jaccard, Tversky, Lovász: perfect, worst and partial predictions -------------------

TARGET = [[0, 1], [2, 2]]
SHIFTED = [[1, 2], [0, 0]]  # every pixel wrong; per class (TP, FP, FN): 0 (0,2,1), 1 (0,1,1), 2 (0,1,2)
ROW = [[0, 0, 1, 1]]
ROW_PREDICTED = [[0, 1, 1, 1]]  # class 0 (TP,FP,FN) = (1,0,1), class 1 = (2,1,0), class 2 absent


def tversky_of(tp: float, fp: float, fn: float, alpha: float, beta: float, smooth: float) -> float:
    return (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)


OVERLAP_CASES = [
    # (loss, target, predicted, expected)
    (DiceLoss(3), TARGET, TARGET, 0.0),
    (JaccardLoss(3), TARGET, TARGET, 0.0),
    (TverskyLoss(3), TARGET, TARGET, 0.0),
    (TverskyLoss(3, gamma=0.75), TARGET, TARGET, 0.0),
    (LovaszLoss(3), TARGET, TARGET, 0.0),
    (DiceLoss(3), TARGET, SHIFTED, 1.0),
    (JaccardLoss(3), TARGET, SHIFTED, 1.0),
    (TverskyLoss(3, gamma=2.0), TARGET, SHIFTED, 1.0),
    (LovaszLoss(3), TARGET, SHIFTED, 1.0),  # the errors are the indicator of G ∪ P, and Δ(G ∪ P) = 1
    (DiceLoss(3, smooth=1.0), TARGET, SHIFTED, (1 - 1 / 2.5 + 1 - 1 / 2 + 1 - 1 / 2.5) / 3),
    (JaccardLoss(3, smooth=1.0), TARGET, SHIFTED, (3 / 4 + 2 / 3 + 3 / 4) / 3),
    (
        TverskyLoss(3, smooth=1.0),
        TARGET,
        SHIFTED,
        (1 - tversky_of(0, 2, 1, 0.3, 0.7, 1) + 1 - tversky_of(0, 1, 1, 0.3, 0.7, 1) + 1 - tversky_of(0, 1, 2, 0.3, 0.7, 1)) / 3,
    ),
    # Class 2 is absent from ROW: it is left out of the mean, so C = 3 gives the two-class value.
    (DiceLoss(3), ROW, ROW_PREDICTED, ((1 - 1 / 1.5) + (1 - 2 / 2.5)) / 2),
    (JaccardLoss(3), ROW, ROW_PREDICTED, (1 / 2 + 1 / 3) / 2),
    (TverskyLoss(3, alpha=0.2, beta=0.8), ROW, ROW_PREDICTED, ((1 - 1 / 1.8) + (1 - 2 / 2.2)) / 2),
    (TverskyLoss(3, gamma=2.0), ROW, ROW_PREDICTED, ((1 - 1 / 1.7) ** 2 + (1 - 2 / 2.3) ** 2) / 2),
    # With hard predictions the Lovász extension is the set function itself: the Jaccard loss.
    (LovaszLoss(3), ROW, ROW_PREDICTED, (1 / 2 + 1 / 3) / 2),
    (LovaszLoss(3, per_image=True), ROW, ROW_PREDICTED, (1 / 2 + 1 / 3) / 2),
]


@pytest.mark.parametrize(("loss", "target", "predicted", "expected"), OVERLAP_CASES)
def test_overlap_losses_on_hand_checked_predictions(loss, target, predicted, expected, device):
    logits = confident_logits(predicted, 3, device)
    assert loss.to(device)(logits, labels(target, device)).item() == pytest.approx(expected, abs=1e-6)


def test_lovasz_on_a_hand_computed_soft_case(device):
    # Two pixels, targets (0, 1), both predicting p = (0.75, 0.25).
    # Class 1, errors sorted: pixel 1 (fg, 0.75), pixel 0 (bg, 0.25); Δ({1}) = 1/1, Δ({1,0}) = 2/2
    #   → 0.75·1 + 0.25·0 = 0.75.
    # Class 0, errors sorted: pixel 1 (bg, 0.75), pixel 0 (fg, 0.25); Δ({1}) = 1/2, Δ({1,0}) = 2/2
    #   → 0.75·0.5 + 0.25·0.5 = 0.5.             Mean over classes: 0.625.
    logits = torch.tensor([0.75, 0.25], device=device).log().view(1, 2, 1, 1).expand(1, 2, 1, 2)
    target = torch.tensor([[[0, 1]]], device=device)
    assert LovaszLoss(2).to(device)(logits, target).item() == pytest.approx(0.625, abs=1e-6)


def jaccard_set_loss(mispredicted: set[int], truth: set[int]) -> float:
    """Δ_J(M) = |M| / |G ∪ M| (Berman et al., eq. 5)."""
    union = truth | mispredicted
    return len(mispredicted) / len(union) if union else 0.0


def lovasz_extension_reference(errors: list[float], truth: set[int]) -> float:
    """Lovász extension as the Choquet integral ∫_0^∞ Δ({i : m_i ≥ t}) dt, level by level.

    No sorting of pixels and no running counts, unlike the implementation under test.
    """
    levels = sorted(set(errors) | {0.0}, reverse=True)
    total = 0.0
    for upper, lower in zip(levels, levels[1:]):
        above = {i for i, m in enumerate(errors) if m >= upper}
        total += (upper - lower) * jaccard_set_loss(above, truth)
    return total


def lovasz_softmax_reference(logits: torch.Tensor, target: torch.Tensor, per_image: bool) -> float:
    """Mean over present classes (per image, then over images with a label, when per_image)."""
    probabilities = logits.double().softmax(dim=1).cpu()
    target = target.cpu()
    groups = [(probabilities[b : b + 1], target[b : b + 1]) for b in range(len(target))] if per_image else [(probabilities, target)]
    group_losses = []
    for probs, labels_ in groups:
        valid = (labels_ != IGNORE).flatten().tolist()
        flat_labels = [int(label) for label, ok in zip(labels_.flatten().tolist(), valid) if ok]
        class_losses = []
        for c in range(probs.shape[1]):
            flat_probs = [p for p, ok in zip(probs[:, c].flatten().tolist(), valid) if ok]
            truth = {i for i, label in enumerate(flat_labels) if label == c}
            if truth:
                errors = [abs((i in truth) - p) for i, p in enumerate(flat_probs)]
                class_losses.append(lovasz_extension_reference(errors, truth))
        if class_losses:
            group_losses.append(sum(class_losses) / len(class_losses))
    return sum(group_losses) / len(group_losses) if group_losses else 0.0


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_lovasz_matches_the_choquet_integral_reference(seed, per_image, device):
    logits, target = random_batch(seed, (2, 3, 3, 3), device, ignore_share=0.2)
    expected = lovasz_softmax_reference(logits, target, per_image)
    assert LovaszLoss(3, per_image=per_image).to(device)(logits, target).item() == pytest.approx(expected, abs=1e-5)


# --- agreement with segmentation_models_pytorch where the semantics match ---------------------

SMP_PAIRS = [
    (DiceLoss(4), smp_losses.DiceLoss("multiclass", ignore_index=IGNORE)),
    (DiceLoss(4, smooth=1.0), smp_losses.DiceLoss("multiclass", ignore_index=IGNORE, smooth=1.0)),
    (JaccardLoss(4), smp_losses.JaccardLoss("multiclass", ignore_index=IGNORE)),
    (JaccardLoss(4, smooth=0.5), smp_losses.JaccardLoss("multiclass", ignore_index=IGNORE, smooth=0.5)),
    (TverskyLoss(4), smp_losses.TverskyLoss("multiclass", ignore_index=IGNORE, alpha=0.3, beta=0.7)),
    (TverskyLoss(4, alpha=0.6, beta=0.2, smooth=1.0), smp_losses.TverskyLoss("multiclass", ignore_index=IGNORE, alpha=0.6, beta=0.2, smooth=1.0)),
    (LovaszLoss(4), smp_losses.LovaszLoss("multiclass", ignore_index=IGNORE)),
    (LovaszLoss(4, per_image=True), smp_losses.LovaszLoss("multiclass", per_image=True, ignore_index=IGNORE)),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("ours", "theirs"), SMP_PAIRS, ids=[repr(ours) for ours, _ in SMP_PAIRS])
def test_agrees_with_smp_when_every_class_is_present(ours, theirs, seed, device):
    logits, target = random_batch(seed, (2, 4, 8, 8), device, ignore_share=0.15)
    target[:, 0, :4] = torch.arange(4, device=device)  # every class present in every image
    expected = theirs(logits, target)
    assert ours.to(device)(logits, target).item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("loss_class", [DiceLoss, JaccardLoss])
def test_absent_classes_leave_the_mean_where_smp_counts_them_as_zero(loss_class, device):
    logits, target = random_batch(7, (2, 5, 6, 6), device, ignore_share=0.1)
    target[target == 3] = 0
    target[target == 4] = 1  # classes 3 and 4 absent: 3 of 5 classes present
    smp_class = getattr(smp_losses, loss_class.__name__)
    theirs = smp_class("multiclass", ignore_index=IGNORE)(logits, target).item()
    assert loss_class(5).to(device)(logits, target).item() == pytest.approx(theirs * 5 / 3, rel=1e-5)


# --- cross-entropy and focal ------------------------------------------------------------------


def focal_reference(logits: torch.Tensor, target: torch.Tensor, gamma: float, alpha: list[float] | None) -> float:
    """-α_t (1 - p_t)^γ log p_t per pixel with math.exp/log, then Σ / Σ α_t over labelled pixels."""
    num_classes = logits.shape[1]
    pixel_logits = logits.double().movedim(1, -1).reshape(-1, num_classes).tolist()
    total, weight_sum = 0.0, 0.0
    for scores, label in zip(pixel_logits, target.flatten().tolist()):
        if label == IGNORE:
            continue
        top = max(scores)
        p_t = math.exp(scores[label] - top) / sum(math.exp(s - top) for s in scores)
        weight = 1.0 if alpha is None else alpha[label]
        total += -weight * (1 - p_t) ** gamma * math.log(p_t)
        weight_sum += weight
    return total / weight_sum


@pytest.mark.parametrize(
    ("gamma", "alpha"),
    [(2.0, None), (0.0, None), (0.5, None), (3.0, None), (2.0, [0.25, 1.0, 2.0]), (1.0, [0.0, 1.0, 3.0])],
)
def test_focal_matches_the_per_pixel_reference(gamma, alpha, device):
    logits, target = random_batch(3, (2, 3, 4, 5), device, ignore_share=0.2)
    loss = FocalLoss(3, gamma=gamma, alpha=alpha).to(device)
    assert loss(logits, target).item() == pytest.approx(focal_reference(logits, target, gamma, alpha), rel=1e-5)


@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 0.5, 4.0]])
def test_focal_with_gamma_zero_is_cross_entropy(weights, device):
    logits, target = random_batch(11, (3, 4, 6, 7), device, ignore_share=0.2)
    focal = FocalLoss(4, gamma=0.0, alpha=weights).to(device)(logits, target)
    ce = CrossEntropyLoss(4, weight=weights).to(device)(logits, target)
    assert focal.item() == pytest.approx(ce.item(), rel=1e-6)


@pytest.mark.parametrize(
    ("weights", "label_smoothing"),
    [(None, 0.0), (None, 0.2), ([1.0, 3.0, 0.5], 0.0), ([1.0, 3.0, 0.5], 0.1)],
)
def test_cross_entropy_is_torchs_mean_over_labelled_pixels(weights, label_smoothing, device):
    logits, target = random_batch(5, (2, 3, 5, 5), device, ignore_share=0.3)
    weight_tensor = None if weights is None else torch.tensor(weights, device=device)
    expected = F.cross_entropy(logits, target, weight=weight_tensor, ignore_index=IGNORE, label_smoothing=label_smoothing)
    loss = CrossEntropyLoss(3, weight=weights, label_smoothing=label_smoothing).to(device)
    assert loss(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)


def test_cross_entropy_auto_weights_are_median_frequency(device):
    logits, target = random_batch(6, (2, 4, 5, 5), device, ignore_share=0.1)
    loss = CrossEntropyLoss(4, weight="auto", class_frequencies=[10, 0, 3, 1]).to(device)
    expected = F.cross_entropy(logits, target, weight=torch.tensor([0.3, 3.0, 1.0, 3.0], device=device), ignore_index=IGNORE)
    assert loss(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize(
    ("frequencies", "expected"),
    [
        ([1, 1, 1], [1.0, 1.0, 1.0]),
        ([2, 6], [2.0, 2 / 3]),  # median of two is their mean, 4
        ([0.5, 0.25, 0.25], [0.5, 1.0, 1.0]),  # shares work like counts
        ([100, 10, 1, 1], [0.055, 0.55, 5.5, 5.5]),  # median 5.5
        ([10, 0, 3, 1], [0.3, 3.0, 1.0, 3.0]),  # a class that never occurs gets the rarest weight, 3
        (torch.tensor([4.0, 1.0]), [0.625, 2.5]),
    ],
)
def test_median_frequency_weights(frequencies, expected):
    assert median_frequency_weights(frequencies, len(expected)) == pytest.approx(expected)


# --- OHEM ---------------------------------------------------------------------------------------


def ohem_reference(logits: torch.Tensor, target: torch.Tensor, thresh: float | None, min_kept: int) -> float:
    """Sort the labelled pixels by loss; keep the first min_kept × (labelled images) and all with p_t < thresh."""
    losses = F.cross_entropy(logits.double(), target, ignore_index=IGNORE, reduction="none").cpu()
    target = target.cpu()
    labelled_images = int((target != IGNORE).flatten(1).any(dim=1).sum())
    pixels = [(loss, i) for i, (loss, label) in enumerate(zip(losses.flatten().tolist(), target.flatten().tolist())) if label != IGNORE]
    by_hardness = sorted(pixels, reverse=True)
    kept = {i for _, i in by_hardness[: min_kept * labelled_images]}
    if thresh is not None:
        kept |= {i for loss, i in pixels if math.exp(-loss) < thresh}
    kept_losses = [loss for loss, i in pixels if i in kept]
    return sum(kept_losses) / len(kept_losses) if kept_losses else 0.0


@pytest.mark.parametrize(("thresh", "min_kept"), [(0.7, 0), (0.3, 0), (None, 1), (None, 5), (0.5, 4), (0.9, 3), (1.0, 0)])
@pytest.mark.parametrize("seed", range(3))
def test_ohem_matches_the_sorted_reference(thresh, min_kept, seed, device):
    logits, target = random_batch(seed, (3, 3, 4, 4), device, ignore_share=0.25)
    target[1] = IGNORE  # an unlabelled image keeps no quota
    loss = OhemCrossEntropyLoss(3, thresh=thresh, min_kept=min_kept).to(device)
    assert loss(logits, target).item() == pytest.approx(ohem_reference(logits, target, thresh, min_kept), rel=1e-5)


def test_ohem_on_a_hand_checked_case(device):
    # p_t = 0.9, 0.6, 0.3, 0.1 for the four pixels (logits are log-probabilities of 2 classes).
    p_true = torch.tensor([0.9, 0.6, 0.3, 0.1], device=device)
    logits = torch.stack([p_true.log(), (1 - p_true).log()]).view(1, 2, 1, 4)
    target = torch.zeros(1, 1, 4, dtype=torch.int64, device=device)
    mean_ce = lambda *p: sum(-math.log(x) for x in p) / len(p)  # noqa: E731
    cases = [
        ((0.7, 0), mean_ce(0.6, 0.3, 0.1)),
        ((0.2, 0), mean_ce(0.1)),
        ((0.2, 2), mean_ce(0.3, 0.1)),  # min_kept tops up the threshold's single pixel
        ((None, 3), mean_ce(0.6, 0.3, 0.1)),
        ((0.05, 0), 0.0),  # nothing is hard: 0, not NaN
        ((0.5, 100), mean_ce(0.9, 0.6, 0.3, 0.1)),  # min_kept beyond the pixel count keeps them all
    ]
    for (thresh, min_kept), expected in cases:
        loss = OhemCrossEntropyLoss(2, thresh=thresh, min_kept=min_kept).to(device)
        assert loss(logits, target).item() == pytest.approx(expected, rel=1e-5), (thresh, min_kept)


@pytest.mark.parametrize("spec", ["ce", "focal", "dice", "jaccard", "tversky", "tversky(gamma=0.75)", "lovasz", "ohem", "ce0.5+dice0.5"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_diverged_logit_gives_a_non_finite_loss_so_the_run_is_failed_not_kept(spec, bad):
    # dice, jaccard and tversky read a NaN as 0 through safe_pow and returned 0.0: a diverged
    # arm trained on as a finished run with NaN weights.
    logits = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    logits[0, 1, 0, 0] = bad
    target = torch.randint(0, 3, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    assert not torch.isfinite(augmentlab.build_loss(spec, num_classes=3, ignore_index=255)(logits, target))
