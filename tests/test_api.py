"""The public API: building from specs, with errors that name the valid choices."""

import pytest
import torch

import augmentlab
from augmentlab.errors import SpecError

pytestmark = pytest.mark.usefixtures("example_plugin")  # solarize and poly: errors about a plugin's own parameters


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hflp", "in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip' or 'vflip'? `augmentlab plugins` lists all"),
        ("hflip,zzz", "in spec 'hflip,zzz' (at column 7): unknown augmentation 'zzz'; `augmentlab plugins` lists all"),
        ("ce", "in spec 'ce' (at column 1): 'ce' is a loss, not an augmentation; pass it with loss="),
        ("hflip(q=1)", "in spec 'hflip(q=1)' (at column 1): augmentation 'hflip' has no parameter 'q'; valid parameters: p"),
        ("solarize(treshold=[0.1, 0.2])", "in spec 'solarize(treshold=[0.1, 0.2])' (at column 1): augmentation 'solarize' has no parameter 'treshold' — did you mean 'threshold'? valid parameters: threshold, p"),
        ("hflip(p=1.5)", "in spec 'hflip(p=1.5)' (at column 1): hflip(p=1.5): p must be a number in [0, 1], got 1.5"),
        ("vflip(p=yes)", "in spec 'vflip(p=yes)' (at column 1): vflip(p=yes): p must be a number in [0, 1], got 'yes'"),
        ("hflip,solarize(threshold=[0.9, 0.1])", "in spec 'hflip,solarize(threshold=[0.9, 0.1])' (at column 7): solarize(threshold=[0.9, 0.1]): threshold must satisfy 0 ≤ low ≤ high ≤ 1, got (0.9, 0.1)"),
    ],
)
def test_build_augmentation_rejects_bad_specs_with_a_precise_message(spec, message):
    with pytest.raises(SpecError) as error:
        augmentlab.build_augmentation(spec)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cee", "in spec 'cee' (at column 1): unknown loss 'cee' — did you mean 'ce'? `augmentlab plugins` lists all"),
        ("ce0.8+focla0.2", "in spec 'ce0.8+focla0.2' (at column 7): unknown loss 'focla' — did you mean 'focal'? `augmentlab plugins` lists all"),
        ("hflip", "in spec 'hflip' (at column 1): 'hflip' is an augmentation, not a loss; pass it with aug="),
        ("poly(epsilo=2)", "in spec 'poly(epsilo=2)' (at column 1): loss 'poly' has no parameter 'epsilo' — did you mean 'epsilon'? valid parameters: epsilon"),
        ("ce+focal(gamma=-1)", "in spec 'ce+focal(gamma=-1)' (at column 4): focal(gamma=-1): gamma must be a number ≥ 0, got -1"),
    ],
)
def test_build_loss_rejects_bad_specs_with_a_precise_message(spec, message):
    with pytest.raises(SpecError) as error:
        augmentlab.build_loss(spec, num_classes=11)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("spec", "flipped"),
    [
        ("hflip(p=1)", lambda t: t.flip(-1)),
        ("vflip(p=1)", lambda t: t.flip(-2)),
        ("hflip(p=1),vflip(p=1)", lambda t: t.flip(-1).flip(-2)),
        ("none", lambda t: t),
        ("hflip(p=0)", lambda t: t),
    ],
)
def test_flips_move_image_and_mask_together(device, spec, flipped):
    images = torch.arange(2 * 3 * 2 * 3, dtype=torch.float32, device=device).view(2, 3, 2, 3) / 36
    masks = torch.tensor([[[0, 1, 2], [3, 4, 255]]], device=device).repeat(2, 1, 1)
    out_images, out_masks = augmentlab.build_augmentation(spec)(images, masks)
    assert torch.equal(out_images, flipped(images)) and torch.equal(out_masks, flipped(masks))


@pytest.mark.parametrize(
    ("images", "masks", "message"),
    [
        (torch.rand(2, 3, 4, 4).to(torch.uint8), torch.zeros(2, 4, 4, dtype=torch.long), r"images must be a float tensor \[B,3,H,W\] with values in \[0,1\], got \(2, 3, 4, 4\) torch.uint8"),
        (torch.rand(3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), r"images must be a float tensor \[B,3,H,W\]"),
        (torch.rand(2, 3, 4, 4), torch.zeros(2, 4, 4, dtype=torch.int32), r"masks must be an int64 tensor \[B,H,W\] of class indices, got \(2, 4, 4\) torch.int32"),
        (torch.rand(2, 3, 4, 4), torch.zeros(2, 4, 5, dtype=torch.long), r"masks \(2, 4, 5\) do not match images \(2, 3, 4, 4\); expected \[B,H,W\] = \(2, 4, 4\)"),
    ],
)
def test_pipelines_reject_badly_shaped_batches(images, masks, message):
    with pytest.raises(ValueError, match=message):
        augmentlab.build_augmentation("hflip")(images, masks)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: augmentlab.build_augmentation(["hflip", "elastic"]),
         "an augmentation set is a string such as 'elastic(alpha=2),hflip', got list ['hflip', 'elastic']; join a list of terms into one: 'hflip,elastic'"),
        (lambda: augmentlab.build_augmentation(None), "an augmentation set is a string such as 'elastic(alpha=2),hflip', got NoneType None"),
        (lambda: augmentlab.build_loss(["ce", "dice"], 3),
         "a loss spec is a string such as 'ce0.8+focal0.2', got list ['ce', 'dice']; join a list of terms into one: 'ce+dice'"),
        (lambda: augmentlab.run_ablation({"aug": ["hflip"]}), "config must be an augmentlab.AblationConfig, got dict; build one with AblationConfig(**settings)"),
        (lambda: augmentlab.run_ablation(augmentlab.AblationConfig(), progress=print),
         "progress must be an augmentlab.runner.AblationListener (or ConsoleProgress), got builtin_function_or_method; "
         "subclass AblationListener and override the events you want (notice, run_done, …)"),
        (lambda: augmentlab.runner.plan_ablation(augmentlab.AblationConfig(), progress=object()),
         "progress must be an augmentlab.runner.AblationListener (or ConsoleProgress), got object; "
         "subclass AblationListener and override the events you want (notice, run_done, …)"),
    ],
)
def test_arguments_of_the_wrong_type_say_what_to_pass(call, message):
    with pytest.raises(TypeError) as error:
        call()
    assert str(error.value) == message


@pytest.mark.parametrize("num_classes", [0, 1, 2.5, "11"])
def test_build_loss_names_a_bad_class_count_as_the_calls_not_the_specs(num_classes):
    with pytest.raises(ValueError) as error:
        augmentlab.build_loss("ce", num_classes=num_classes)
    assert not isinstance(error.value, SpecError) and str(error.value) == f"num_classes must be an integer ≥ 2, got {num_classes!r}"
