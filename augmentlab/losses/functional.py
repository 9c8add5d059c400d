"""Loss math as plain tensor functions; the modules around them validate and reshape.

Public: a plugin's loss uses the same helpers for ignored pixels (:func:`valid_pixels`,
:func:`label_or_zero`, :func:`masked_mean`, :func:`safe_divide`, :func:`pixel_weights`,
:func:`class_one_hot`), so it meets the same rules as the built-ins.

Every loss takes float32 logits [B,C,H,W] and int64 targets [B,H,W] and leaves out pixels equal
to ``ignore_index`` everywhere, denominators included. Means divide by a count (or a sum of
weights) that is replaced by 1 when it is 0, so a batch that is entirely ignore gives 0, still
attached to the graph, instead of 0/0 = NaN. Nothing here reads a value back to the host.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# smp's soft_tversky_score is the per-class index (TP + smooth) / (TP + α·FP + β·FN + smooth)
# with the same signature and meaning since smp 0.3; we feed it probabilities and one-hot
# targets that are already zero at ignored pixels. Its dice/jaccard helpers are not used: the
# meaning of soft_dice_score's `smooth` changed between smp releases, Tversky's did not.
from segmentation_models_pytorch.losses._functional import soft_tversky_score


def valid_pixels(target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """bool [B,H,W]: pixels that carry a label."""
    return target != ignore_index


def safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """``numerator / denominator`` with a zero denominator replaced by 1.

    Used where the numerator is a sum over the same (empty) set, so the result is 0.
    """
    return numerator / torch.where(denominator > 0, denominator, torch.ones_like(denominator))


def masked_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean ``Σ v·w / Σ w`` of ``values``; 0 when ``Σ w`` is 0.

    ``weights`` has the shape of ``values``: a bool mask (plain mean over it) or float weights
    that are 0 off the mask.
    """
    return safe_divide((values * weights).sum(), weights.sum())


def safe_pow(base: torch.Tensor, exponent: float) -> torch.Tensor:
    """``base ** exponent`` for a base that is ≥ 0 up to rounding, with a zero gradient where it is ≤ 0.

    For exponents below 1 the slope at 0 is infinite, and CUDA's ``pow`` backward turns it into
    NaN (0 · inf); rounding can also leave a base such as ``1 - TI`` a hair below 0, where a
    fractional power is NaN. So ``pow`` only ever sees positive bases. A NaN base stays NaN (it
    is neither ≤ 0 nor replaced): a diverged run's loss must read NaN, never 0.
    """
    nonpositive = base <= 0
    return torch.where(nonpositive, 0.0**exponent, torch.where(nonpositive, 1.0, base).pow(exponent))


def label_or_zero(target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """int64 [B,H,W]: the target with ignored pixels pointing at class 0, safe for gather/index.

    Whatever is read at those pixels must then drop out through ``valid``.
    """
    return torch.where(valid, target, torch.zeros_like(target))


def pixel_weights(target: torch.Tensor, valid: torch.Tensor, class_weights: torch.Tensor | None) -> torch.Tensor:
    """Weight of each pixel in a mean: ``valid`` itself, or float32 [B,H,W] ``w[target]``, 0 where ignored."""
    if class_weights is None:
        return valid
    return class_weights[label_or_zero(target, valid)] * valid


def class_one_hot(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """float32 [B,C,H,W] one-hot of ``target``; ignored pixels (any value outside 0..C-1) are all 0."""
    classes = torch.arange(num_classes, device=target.device).view(1, num_classes, 1, 1)
    return (target.unsqueeze(1) == classes).float()


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int,
    label_smoothing: float = 0.0,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy over valid pixels, weighted like ``F.cross_entropy(..., reduction="mean")``.

    With ``class_weights`` (float32 [C]) the mean is ``Σ w[t]·CE / Σ w[t]``, so only the ratios
    of the weights matter. Equals ``F.cross_entropy(logits, target, weight, ignore_index=...,
    label_smoothing=...)`` whenever some pixel is valid, and 0 when none is.
    """
    per_pixel = F.cross_entropy(
        logits, target, weight=class_weights, ignore_index=ignore_index, reduction="none", label_smoothing=label_smoothing
    )
    # per_pixel already carries w[t]; only the denominator is left to weight.
    return safe_divide(per_pixel.sum(), pixel_weights(target, valid_pixels(target, ignore_index), class_weights).sum())


def softmax_focal(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int,
    gamma: float,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax focal loss ``-(1 - p_t)^gamma · log(p_t)`` (Lin et al., 2017) over valid pixels.

    ``p_t`` is the softmax probability of the true class. With ``class_weights`` α (float32 [C])
    the mean is ``Σ α[t]·FL / Σ α[t]``, the weighting of :func:`cross_entropy`, so that
    gamma = 0 gives exactly cross-entropy with ``class_weights=α``.

    Written here rather than taken from a library: kornia's ``focal_loss`` counts ignored pixels
    in its mean and scales by 1/C, and smp's multiclass ``FocalLoss`` sums per-class sigmoid terms.
    """
    valid = valid_pixels(target, ignore_index)
    # log_softmax rather than softmax then log, for stability at confident logits; -expm1(log p)
    # gives 1 - p without cancellation when p is close to 1.
    log_pt = F.log_softmax(logits, dim=1).gather(1, label_or_zero(target, valid).unsqueeze(1)).squeeze(1)
    modulation = safe_pow(-torch.expm1(log_pt), gamma)
    return masked_mean(-modulation * log_pt, pixel_weights(target, valid, class_weights))


def soft_tversky(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int,
    alpha: float,
    beta: float,
    smooth: float,
    gamma: float = 1.0,
) -> torch.Tensor:
    """Mean over present classes of ``(1 - TI_c)^gamma``, with the soft Tversky index

    ``TI_c = (TP_c + smooth) / (TP_c + alpha·FP_c + beta·FN_c + smooth)`` computed over the whole
    batch from softmax probabilities. alpha = beta = 0.5 is the Dice loss, alpha = beta = 1 the
    Jaccard (soft IoU) loss; gamma ≠ 1 is the focal Tversky loss (Abraham & Khan, 2019, whose
    1/γ is this gamma).

    A class is present when some valid pixel of the batch has it. smp zeroes absent classes and
    then divides by C, which scales the loss by the share of classes a batch happens to contain;
    here they are left out of the mean instead. Ignored pixels count in no TP, FP or FN.
    """
    num_classes = logits.shape[1]
    valid = valid_pixels(target, ignore_index).unsqueeze(1)
    probabilities = logits.softmax(dim=1) * valid
    truth = class_one_hot(target, num_classes)
    index = soft_tversky_score(probabilities, truth, alpha, beta, smooth, dims=(0, 2, 3))
    present = truth.sum(dim=(0, 2, 3)) > 0
    return masked_mean(safe_pow(1.0 - index, gamma), present)


def lovasz_softmax(logits: torch.Tensor, target: torch.Tensor, ignore_index: int, per_image: bool = False) -> torch.Tensor:
    """Lovász-softmax loss (Berman et al., 2018): the Lovász extension of each present class's
    Jaccard loss, applied to the errors ``|[t = c] - p_c|`` and averaged over present classes.

    Args:
        logits: float32 [B,C,H,W].
        target: int64 [B,H,W].
        ignore_index: label of pixels that count nowhere.
        per_image: one loss per image (over the classes present in it), averaged over the
            images that have a labelled pixel; otherwise one loss over the whole batch.

    Written here rather than taken from smp's ``LovaszLoss``: that one loops over classes with a
    host sync for each (``if fg.sum() == 0``, boolean indexing), returns an empty tensor instead
    of 0 for an all-ignore batch, and with ``per_image`` counts fully ignored images in the mean.
    This version sorts every (image, class) row in one call.
    """
    num_classes = logits.shape[1]
    valid = valid_pixels(target, ignore_index).unsqueeze(1)
    truth = class_one_hot(target, num_classes)
    errors = (truth - logits.softmax(dim=1)).abs() * valid
    negatives = (1.0 - truth) * valid  # labelled pixels of the other classes

    def rows(x: torch.Tensor) -> torch.Tensor:  # [B,C,H,W] -> [groups, C, pixels]
        return x.flatten(2) if per_image else x.transpose(0, 1).reshape(1, num_classes, -1)

    errors, truth, negatives = rows(errors), rows(truth), rows(negatives)
    errors_sorted, order = errors.sort(dim=-1, descending=True)
    # Jaccard loss |M| / |G ∪ M| of the set M of the k largest errors, for every k (Alg. 1 of the
    # paper). Ignored pixels add to neither running count, so their Lovász weight is 0. The union
    # of a present class is ≥ 1; the clamp only keeps absent classes, masked out below, finite.
    positives = truth.sum(dim=-1, keepdim=True)
    missed = positives - truth.gather(-1, order).cumsum(dim=-1)
    union = positives + negatives.gather(-1, order).cumsum(dim=-1)
    jaccard_loss = 1.0 - missed / union.clamp_min(1.0)
    lovasz_weights = torch.diff(jaccard_loss, dim=-1, prepend=torch.zeros_like(jaccard_loss[..., :1]))
    per_class = (errors_sorted * lovasz_weights).sum(dim=-1)
    present = positives.squeeze(-1) > 0
    per_group = safe_divide((per_class * present).sum(dim=-1), present.sum(dim=-1))
    return masked_mean(per_group, present.any(dim=-1))


def ohem_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int,
    thresh: float | None,
    min_kept: int,
) -> torch.Tensor:
    """Cross-entropy averaged over the hard pixels only (online hard example mining).

    A valid pixel is hard when its true-class probability is below ``thresh``, or when it is
    among the ``min_kept × L`` pixels of the batch with the highest cross-entropy, L being the
    number of images with a labelled pixel. This is mmsegmentation's ``OHEMPixelSampler`` rule:
    keep ``p_t < max(thresh, p_t of the (min_kept·L)-th hardest pixel)``.

    Args:
        logits: float32 [B,C,H,W].
        target: int64 [B,H,W].
        ignore_index: label of pixels that are never kept.
        thresh: probability threshold in (0, 1], or None for the ``min_kept`` rule alone.
        min_kept: hardest pixels kept per labelled image, ≥ 0.
    """
    valid = valid_pixels(target, ignore_index)
    per_pixel = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none")
    hardness = per_pixel.detach()
    # p_t < thresh  ⇔  -log p_t > -log thresh
    hard = hardness > -math.log(thresh) if thresh is not None else torch.zeros_like(valid)
    if min_kept > 0:
        hard = hard | hardest_pixels(hardness, valid, min_kept)
    return masked_mean(per_pixel, hard & valid)


def hardest_pixels(hardness: torch.Tensor, valid: torch.Tensor, min_kept: int) -> torch.Tensor:
    """bool [B,H,W]: the ``min_kept × L`` valid pixels of highest ``hardness`` (all valid ones if fewer).

    L, the number of images with a valid pixel, stays on the device: ``topk`` takes the static
    bound ``min_kept × B`` and the ranks beyond ``min_kept × L`` are dropped by comparison.
    """
    batch = hardness.shape[0]
    # Ignored pixels rank below every valid one (hardness ≥ 0), so they are picked only when
    # fewer valid pixels remain, and then dropped by the final `& valid`.
    flat = torch.where(valid, hardness, torch.full_like(hardness, -1.0)).flatten()
    bound = min(min_kept * batch, flat.numel())
    ranked = flat.topk(bound, sorted=True).indices
    wanted = min_kept * valid.flatten(1).any(dim=1).sum()
    kept = torch.arange(bound, device=flat.device) < wanted
    chosen = torch.zeros_like(flat, dtype=torch.bool).scatter(0, ranked, kept)
    return chosen.view_as(valid) & valid
