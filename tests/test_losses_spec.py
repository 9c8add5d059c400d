"""Losses as users reach them: spec strings, defaults, parameter errors and weighted sums."""

from __future__ import annotations

import pytest
import torch

import augmentlab
from augmentlab.errors import SpecError
from augmentlab.losses import CrossEntropyLoss, FocalLoss, WeightedLossSum

IGNORE = 255


def random_batch(seed: int, num_classes: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(2, num_classes, 5, 5, generator=generator)
    target = torch.randint(0, num_classes, (2, 5, 5), generator=generator)
    target[:, 0] = IGNORE
    return logits.to(device), target.to(device)


def test_defaults_are_listed_from_the_factories():
    defaults = {name: dict(info.defaults) for name, info in augmentlab.available_losses().items()}
    assert defaults["ce"] == {"weight": None, "label_smoothing": 0.0}
    assert defaults["focal"] == {"gamma": 2.0, "alpha": None}
    assert defaults["dice"] == {"smooth": 0.0}
    assert defaults["jaccard"] == {"smooth": 0.0}
    assert defaults["tversky"] == {"alpha": 0.3, "beta": 0.7, "gamma": 1.0, "smooth": 0.0}
    assert defaults["lovasz"] == {"per_image": False}
    assert defaults["ohem"] == {"thresh": 0.7, "min_kept": 10000}


@pytest.mark.parametrize(
    ("spec", "attributes"),
    [
        ("focal(gamma=3)", {"gamma": 3.0}),
        ("ce(label_smoothing=0.1)", {"label_smoothing": 0.1}),
        ("dice(smooth=2)", {"smooth": 2.0, "alpha": 0.5, "beta": 0.5}),
        ("jaccard(smooth=1)", {"smooth": 1.0, "alpha": 1.0, "beta": 1.0}),
        ("tversky(alpha=0.2, beta=0.8, gamma=0.75, smooth=1)", {"alpha": 0.2, "beta": 0.8, "gamma": 0.75, "smooth": 1.0}),
        ("lovasz(per_image=true)", {"per_image": True}),
        ("ohem(thresh=0.5, min_kept=7)", {"thresh": 0.5, "min_kept": 7}),
        ("ohem(thresh=none)", {"thresh": None, "min_kept": 10000}),
        ("ohem(thresh=1)", {"thresh": 1.0}),
    ],
)
def test_spec_parameters_reach_the_loss(spec, attributes):
    (module,) = augmentlab.build_loss(spec, num_classes=3).losses
    assert {name: getattr(module, name) for name in attributes} == attributes


@pytest.mark.parametrize(
    ("spec", "weights"),
    [
        ("ce", None),
        ("ce(weight=none)", None),
        ("ce(weight=[1, 2.5, 0])", [1.0, 2.5, 0.0]),
        ("ce(weight=auto)", [1.0, 2.0, 0.5]),
        ("focal(alpha=[0.25, 1, 1])", [0.25, 1.0, 1.0]),
        ("focal(alpha=AUTO)", [1.0, 2.0, 0.5]),
    ],
)
def test_class_weights_reach_the_loss(spec, weights):
    (module,) = augmentlab.build_loss(spec, num_classes=3, class_frequencies=[200, 100, 400]).losses
    assert (None if module.class_weights is None else module.class_weights.tolist()) == weights


def test_a_spec_parameter_changes_the_value(device):
    logits, target = random_batch(0, 3, device)
    value = {spec: augmentlab.build_loss(spec, num_classes=3).to(device)(logits, target).item() for spec in ("focal", "focal(gamma=3)")}
    assert value["focal(gamma=3)"] == pytest.approx(FocalLoss(3, gamma=3).to(device)(logits, target).item())
    assert value["focal(gamma=3)"] != pytest.approx(value["focal"])


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("focal(gamma=-1)", "gamma must be a number ≥ 0, got -1"),
        ("focal(gamma=high)", "gamma must be a number ≥ 0, got 'high'"),
        ("ce(label_smoothing=1.5)", "label_smoothing must be a number in [0, 1], got 1.5"),
        ("ce(weight=[1, 2])", "weight has 2 values but num_classes is 3; give one per class"),
        ("ce(weight=[1, -1, 1])", "weight must be numbers ≥ 0, not all 0, got [1, -1, 1]"),
        ("ce(weight=[0, 0, 0])", "weight must be numbers ≥ 0, not all 0, got [0, 0, 0]"),
        ("ce(weight=balanced)", "weight must be none, auto or a list of 3 numbers (one per class), got 'balanced'"),
        ("ce(weight=2)", "weight must be none, auto or a list of 3 numbers (one per class), got 2"),
        ("focal(alpha=0.25)", "alpha must be none, auto or a list of 3 numbers (one per class), got 0.25"),
        (
            "ce(weight=auto)",
            "weight=auto needs the training set's class frequencies; pass class_frequencies= (pixel count per class) to build_loss",
        ),
        ("dice(smooth=-1)", "smooth must be a number ≥ 0, got -1"),
        ("jaccard(smooth=true)", "smooth must be a number ≥ 0, got True"),
        ("tversky(alpha=0, beta=0)", "alpha and beta cannot both be 0: the index would then ignore every error"),
        ("tversky(gamma=0)", "gamma must be a number > 0, got 0"),
        ("tversky(beta=-0.5)", "beta must be a number ≥ 0, got -0.5"),
        ("lovasz(per_image=1)", "per_image must be true or false, got 1"),
        ("ohem(thresh=0)", "thresh must be a number in (0, 1], got 0"),
        ("ohem(thresh=1.5)", "thresh must be a number in (0, 1], got 1.5"),
        ("ohem(min_kept=2.5)", "min_kept must be an integer ≥ 0, got 2.5"),
        ("ohem(min_kept=-1)", "min_kept must be an integer ≥ 0, got -1"),
        ("ohem(thresh=none, min_kept=0)", "ohem keeps no pixel with thresh=none and min_kept=0; set thresh, min_kept > 0, or both"),
    ],
)
def test_bad_parameters_are_one_line_spec_errors(spec, reason):
    with pytest.raises(SpecError) as caught:
        augmentlab.build_loss(spec, num_classes=3)
    assert caught.value.reason.endswith(f": {reason}")
    assert "\n" not in str(caught.value)


def test_a_spec_error_names_the_term_and_its_column():
    with pytest.raises(SpecError) as caught:
        augmentlab.build_loss("ce0.8+focal(gamma=-1)0.2", num_classes=3)
    assert str(caught.value) == "in spec 'ce0.8+focal(gamma=-1)0.2' (at column 7): focal(gamma=-1): gamma must be a number ≥ 0, got -1"


@pytest.mark.parametrize(
    ("frequencies", "reason"),
    [
        ([1, 2], "class_frequencies has 2 values but num_classes is 3; give one per class"),
        ([0, 0, 0], "class_frequencies are all 0; count the pixels of each class in the training masks"),
        ([1, -2, 3], "class_frequencies must be pixel counts or shares ≥ 0, got [1, -2, 3]"),
        ([1, float("nan"), 3], "class_frequencies must be finite numbers, got [1.0, nan, 3.0]"),
        (["a", "b", "c"], "class_frequencies must be a list of 3 numbers (one per class), got ['a', 'b', 'c']"),
    ],
)
def test_bad_class_frequencies_are_spec_errors(frequencies, reason):
    with pytest.raises(SpecError) as caught:
        augmentlab.build_loss("focal(alpha=auto)", num_classes=3, class_frequencies=frequencies)
    assert caught.value.reason == f"focal(alpha=auto): {reason}"


def test_class_frequencies_are_only_read_for_auto():
    module = augmentlab.build_loss("ce", num_classes=3, class_frequencies=[0, 0, 0])
    assert module.losses[0].class_weights is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"num_classes": 1}, "num_classes must be an integer ≥ 2 (background counts as a class), got 1"),
        ({"num_classes": 3, "ignore_index": 2}, "ignore_index 2 is a class index (classes are 0..2); use a value outside that range, such as 255"),
        ({"num_classes": 3, "ignore_index": 2.5}, "ignore_index must be an integer, got 2.5"),
    ],
)
def test_bad_host_arguments_are_one_line_errors(arguments, message):
    with pytest.raises(ValueError) as caught:
        CrossEntropyLoss(**arguments)
    assert str(caught.value) == message


def test_the_reference_combo_reports_both_terms(device):
    loss = augmentlab.build_loss("ce0.8+focal(gamma=2)0.2", num_classes=11).to(device)
    logits, target = random_batch(1, 11, device)
    logits.requires_grad_(True)
    total = loss(logits, target)
    terms = loss.last_terms
    assert list(terms) == ["ce", "focal(gamma=2)"]
    assert terms["ce"].item() == pytest.approx(CrossEntropyLoss(11).to(device)(logits, target).item())
    assert terms["focal(gamma=2)"].item() == pytest.approx(FocalLoss(11, gamma=2).to(device)(logits, target).item())
    assert total.item() == pytest.approx(0.8 * terms["ce"].item() + 0.2 * terms["focal(gamma=2)"].item())
    for value in terms.values():
        assert value.ndim == 0 and value.device == logits.device and not value.requires_grad
    total.backward()
    assert torch.isfinite(logits.grad).all()


def test_last_terms_follow_the_latest_forward(device):
    loss = augmentlab.build_loss("dice+lovasz0.5", num_classes=3).to(device)
    first = random_batch(2, 3, device)
    second = random_batch(3, 3, device)
    loss(*first)
    before = dict(loss.last_terms)
    total = loss(*second)
    assert loss.last_terms["dice"].item() != pytest.approx(before["dice"].item())
    assert total.item() == pytest.approx(loss.last_terms["dice"].item() + 0.5 * loss.last_terms["lovasz"].item())


def test_a_weighted_sum_needs_a_term():
    with pytest.raises(ValueError, match="^a loss needs at least one term$"):
        WeightedLossSum([], "")
