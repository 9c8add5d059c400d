"""Mirror-paired classes: finding the pairs, the swap table, and reflections that swap them while rotations do not."""

from __future__ import annotations

import re

import pytest
import torch

import augmentlab
from augmentlab.augment import AugmentationPipeline, ProjectiveWarp, WarpAugmentation
from augmentlab.augment.geometric.fusion import fused_warp
from augmentlab.augment.geometric.warp import projective_grid
from augmentlab.augment.mirror import (
    label_swap_table,
    letter_side_pairs,
    mirror_pairs,
    swap_labels,
)
from augmentlab.errors import FieldError
from augmentlab.runner.recipe import PRESETS, resolve_mirror_pairs
from augmentlab.tensors import constant
from augmentlab.testing import (
    AugmentationCheckError,
    check_augmentation,
    coordinate_batch,
    mirrored_outputs,
)

X = 255  # the ignore label in hand-written masks

PARTS = ["background", "front_left_door", "front_right_door", "hood", "left_arm", "right_arm", "left_leg"]

# --- mirror_pairs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("class_names", "pairs"),
    [
        (["background", "front_left_door", "front_right_door", "hood"], [(1, 2)]),
        (["background", "left_mirror", "right_mirror", "LeftArm", "RightArm", "Left Shoe", "Right Shoe"], [(1, 2), (3, 4), (5, 6)]),
        (["background", "right-hand", "LEFT-HAND"], [(1, 2)]),  # case does not matter
        (["background", "leftArm", "Right_arm"], [(1, 2)]),  # nor how the words are separated
        (["background", "rear_left_light", "front_right_light"], []),  # another word differs too
        (["background", "leftover", "righteous", "left"], []),  # words, not substrings; "left" alone has no partner
        (["background", "left", "right"], [(1, 2)]),
        (["background", "car"], []),
    ],
)
def test_auto_pairs_names_that_differ_only_by_left_and_right(class_names, pairs):
    assert mirror_pairs(class_names) == pairs
    assert mirror_pairs(class_names, " auto ") == pairs


@pytest.mark.parametrize(
    ("spec", "pairs"),
    [
        ("none", []),
        ("None", []),
        ("left_arm:right_arm", [(4, 5)]),
        ("right_arm:left_arm", [(4, 5)]),
        ("2:1", [(1, 2)]),
        ("left_arm:right_arm, front_left_door : 2", [(1, 2), (4, 5)]),
        ("hood:left_leg", [(3, 6)]),  # explicit pairs need not be named left and right
    ],
)
def test_explicit_pairs_name_classes_by_name_or_index(spec, pairs):
    assert mirror_pairs(PARTS, spec) == pairs


@pytest.mark.parametrize(
    ("classes", "spec", "pairs"),
    [
        # a class named like an index: the bare number is its name, #N is the index
        (("background", "3", "mirror, left", "mirror, right"), "2:3", [(1, 2)]),
        (("background", "3", "mirror, left", "mirror, right"), "#2:#3", [(2, 3)]),
        (PARTS, "#2:#1", [(1, 2)]),
    ],
)
def test_hash_n_is_always_an_index(classes, spec, pairs):
    assert mirror_pairs(classes, spec) == pairs


@pytest.mark.parametrize(
    ("classes", "spelt"),
    [
        (("background", "3", "mirror, left", "mirror, right"), "#2:#3"),  # auto finds them; written by index, read back the same
        (("background", "left_arm", "right_arm"), "left_arm:right_arm"),
        (("background", " left eye", "right eye"), "#1:right eye"),
        (("background", "cat"), "none"),
    ],
)
def test_resolved_pairs_read_back_as_the_same_classes(classes, spelt):
    recipe = resolve_mirror_pairs(PRESETS["demo"], list(classes))
    assert recipe.mirror_pairs == spelt
    assert mirror_pairs(list(classes), spelt) == mirror_pairs(list(classes), "auto")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "mirror_pairs must be auto, none, or pairs like 'left_arm:right_arm,4:13' (class names or indices; #4 is always index 4), got ''"),
        ("left_arm", "mirror_pairs must be auto, none, or pairs like 'left_arm:right_arm,4:13' (class names or indices; #4 is always index 4); 'left_arm' is not a pair A:B"),
        ("left_arm:", "mirror_pairs must be auto, none, or pairs like 'left_arm:right_arm,4:13' (class names or indices; #4 is always index 4); 'left_arm:' is not a pair A:B"),
        ("1:2:3", "mirror_pairs must be auto, none, or pairs like 'left_arm:right_arm,4:13' (class names or indices; #4 is always index 4); '1:2:3' is not a pair A:B"),
        ("left_arn:right_arm", "mirror_pairs names unknown class 'left_arn' in 'left_arn:right_arm' — did you mean 'left_arm'?"),
        ("wheel:hood", "mirror_pairs names unknown class 'wheel' in 'wheel:hood'"),
        ("9:1", "mirror_pairs names class index 9 in '9:1', but the classes are 0..6"),
        ("left_arm:4", "mirror_pairs pairs 'left_arm' with itself in 'left_arm:4'"),
        ("left_arm:right_arm,left_arm:left_leg", "mirror_pairs pairs 'left_arm' twice ('left_arm:right_arm' and 'left_arm:left_leg'); a class has one mirror partner"),
        ("4:5,5:4", "mirror_pairs pairs 'right_arm' twice ('4:5' and '5:4'); a class has one mirror partner"),
    ],
)
def test_bad_explicit_pairs_say_what_is_wrong_in_one_line(spec, message):
    with pytest.raises(FieldError) as error:
        mirror_pairs(PARTS, spec)
    assert str(error.value) == message
    assert error.value.field == "mirror_pairs"


@pytest.mark.parametrize(
    ("classes", "pairs"),
    [
        (("background", "l_eye", "r_eye", "l_lip", "u_lip", "l_brow", "r_brow"), [(1, 2), (5, 6)]),  # CelebAMask-HQ: l_lip is the lower lip
        (("background", "L Arm", "R Arm"), [(1, 2)]),
        (("background", "left_eye", "right_eye"), []),  # auto's own: not a letter pair
        (("background", "lamp", "ramp"), []),  # letters inside words are not sides
    ],
)
def test_letter_side_pairs_are_found_but_never_paired_by_auto(classes, pairs):
    assert letter_side_pairs(classes) == pairs
    assert not set(pairs) & set(mirror_pairs(list(classes)))


def test_auto_refuses_a_class_with_two_mirror_partners():
    with pytest.raises(FieldError) as error:
        mirror_pairs(["background", "left_arm", "right_arm", "Right Arm"])
    assert str(error.value) == "mirror_pairs auto finds 2 mirror partners for 'left_arm': 'right_arm' and 'Right Arm'; give the pairs as A:B,C:D"


# --- the swap table --------------------------------------------------------------------------------


def test_the_table_swaps_each_pair_and_maps_every_other_label_to_itself():
    table = label_swap_table([(1, 2), (4, 5)])
    assert table.dtype == torch.int64 and table.shape == (256,)
    expected = list(range(256))
    expected[1], expected[2], expected[4], expected[5] = 2, 1, 5, 4
    assert table.tolist() == expected
    assert table[X] == X
    assert label_swap_table([(1, 2)], ignore_index=300).shape == (301,)  # the ignore label is always covered
    assert label_swap_table([(1, 400)]).shape == (401,)
    assert label_swap_table([]) is None


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([(1, 255)], "mirror pairs must be distinct class indices ≥ 0 other than ignore_index 255, got [(1, 255)]"),
        ([(-1, 2)], "mirror pairs must be distinct class indices ≥ 0 other than ignore_index 255, got [(-1, 2)]"),
        ([(1, 2), (2, 3)], "mirror pairs must be distinct class indices ≥ 0 other than ignore_index 255, got [(1, 2), (2, 3)]"),
    ],
)
def test_a_table_refuses_pairs_it_cannot_swap(pairs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        label_swap_table(pairs)


def test_swap_labels_changes_only_the_mirrored_samples_and_only_labels_in_the_table(device):
    table = label_swap_table([(1, 2)], device=device)
    masks = torch.tensor([[[1, 2, 0, X]], [[1, 2, 300, -1]]], device=device)
    swapped = swap_labels(masks, table, torch.tensor([True, True], device=device))
    # A label outside the table (only a broken transform makes one) is left for the runner's check to see.
    assert swapped.tolist() == [[[2, 1, 0, X]], [[2, 1, 300, -1]]]
    assert swap_labels(masks, table, torch.tensor([False, True], device=device)).tolist() == [[[1, 2, 0, X]], [[2, 1, 300, -1]]]


# --- reflections swap, rotations do not ------------------------------------------------------------

MASK = [
    [1, 1, 0, 3],
    [1, 2, 0, X],
    [0, 2, 2, 3],
    [1, 0, 3, X],
]
"""front_left_door (1) and front_right_door (2) of PARTS, hood (3), void; square, so turns and the transpose are exact."""

IDENTITY_AFFINE = "affine(shift_limit=0, scale_limit=0, rotate_limit=0, p=1)"
QUARTER_TURN_AFFINE = "affine(shift_limit=0, scale_limit=0, rotate_limit=[90, 90], p=1)"

MIRRORED_LEFT_RIGHT = [[3, 0, 2, 2], [X, 0, 1, 2], [3, 1, 1, 0], [X, 3, 0, 2]]
MIRRORED_TOP_BOTTOM = [[2, 0, 3, X], [0, 1, 1, 3], [2, 1, 0, X], [2, 2, 0, 3]]
TRANSPOSED = [[2, 2, 0, 2], [2, 1, 1, 0], [0, 0, 1, 3], [3, X, 3, X]]
TURNED_COUNTER_CLOCKWISE = [[3, X, 3, X], [0, 0, 2, 3], [1, 2, 2, 0], [1, 1, 0, 1]]
TURNED_CLOCKWISE = [[1, 0, 1, 1], [0, 2, 2, 1], [3, 2, 0, 0], [X, 3, X, 3]]
TURNED_HALF = [[X, 3, 0, 1], [3, 2, 2, 0], [X, 0, 2, 1], [3, 0, 1, 1]]


def augmented(pipeline: AugmentationPipeline, masks: torch.Tensor, table: torch.Tensor | None, seed: int = 0) -> torch.Tensor:
    """The masks ``pipeline`` makes of ``masks`` (images carry the labels), with ``table`` set, from ``seed``."""
    pipeline.set_label_swap(table)
    torch.manual_seed(seed)
    return pipeline(masks[:, None].float().expand(-1, 3, -1, -1) / X, masks)[1]


@pytest.mark.parametrize(
    ("spec", "stages", "expected"),
    [
        ("hflip(p=1)", [1], MIRRORED_LEFT_RIGHT),
        ("vflip(p=1)", [1], MIRRORED_TOP_BOTTOM),
        ("transpose(p=1)", [1], TRANSPOSED),
        (QUARTER_TURN_AFFINE, [1], TURNED_COUNTER_CLOCKWISE),  # a rotation keeps left and right
        # Fused stages: one composed map, mirrored when its determinant is negative.
        (f"hflip(p=1),{IDENTITY_AFFINE}", [2], MIRRORED_LEFT_RIGHT),
        (f"hflip(p=1),vflip(p=1),{IDENTITY_AFFINE}", [3], TURNED_HALF),  # two reflections: a half turn
        ("transpose(p=1),hflip(p=1)", [2], TURNED_CLOCKWISE),
        (f"transpose(p=1),{QUARTER_TURN_AFFINE}", [2], MIRRORED_TOP_BOTTOM),
        # Flips on their own run one after another, each swapping: twice is no swap.
        ("hflip(p=1),vflip(p=1)", [1, 1], TURNED_HALF),
    ],
)
def test_reflections_swap_the_paired_labels_and_rotations_do_not(spec, stages, expected, device):
    pipeline = augmentlab.build_augmentation(spec)
    assert [len(stage) for stage in pipeline.stages] == stages
    masks = torch.tensor([MASK], device=device)
    assert augmented(pipeline, masks, label_swap_table(mirror_pairs(PARTS), device=device)).tolist() == [expected]


def test_two_horizontal_flips_fused_with_a_warp_swap_nothing(device):
    flip, again = (augmentlab.build_augmentation("hflip(p=1)").transforms[0] for _ in range(2))
    affine = augmentlab.build_augmentation(IDENTITY_AFFINE).transforms[0]
    pipeline = AugmentationPipeline([flip, again, affine], f"hflip(p=1),hflip(p=1),{IDENTITY_AFFINE}")
    assert [len(stage) for stage in pipeline.stages] == [3]
    masks = torch.tensor([MASK], device=device)
    assert augmented(pipeline, masks, label_swap_table([(1, 2)], device=device)).tolist() == [MASK]


def test_quarter_turns_never_swap(device):
    masks = torch.tensor([MASK] * 16, device=device)
    pipeline = augmentlab.build_augmentation("rot90(p=1)")
    turned = augmented(pipeline, masks, label_swap_table([(1, 2)], device=device), seed=1)
    assert turned.tolist() == augmented(pipeline, masks, None, seed=1).tolist()
    assert {tuple(sample.flatten().tolist()) for sample in turned} == {
        tuple(label for row in grid for label in row) for grid in (MASK, TURNED_COUNTER_CLOCKWISE, TURNED_HALF, TURNED_CLOCKWISE)
    }


@pytest.mark.parametrize(
    ("spec", "mirror"),
    [
        ("hflip(p=0.5)", MIRRORED_LEFT_RIGHT),  # flips by indexing
        ("transpose(p=0.5)", TRANSPOSED),  # a warp: mirrored where chosen and its determinant is negative
        (f"hflip(p=0.5),{IDENTITY_AFFINE}", MIRRORED_LEFT_RIGHT),  # a fused stage
    ],
)
def test_exactly_the_samples_that_were_mirrored_are_swapped(spec, mirror, device):
    masks = torch.tensor([MASK] * 16, device=device)
    pipeline = augmentlab.build_augmentation(spec)
    plain = augmented(pipeline, masks, None, seed=2)
    swapped = augmented(pipeline, masks, label_swap_table([(1, 2)], device=device), seed=2)
    flipped = [sample.tolist() != MASK for sample in plain]
    assert 0 < sum(flipped) < 16
    assert swapped.tolist() == [mirror if was_flipped else MASK for was_flipped in flipped]


def test_pixels_without_a_source_keep_their_fill_label_even_when_it_is_paired(device):
    # The labels are swapped before the warp, so the fill (background here, paired with hood) is never swapped.
    pipeline = augmentlab.build_augmentation("hflip(p=1),affine(shift_limit=[0.5, 0.5], scale_limit=0, rotate_limit=0, fill_mask=background, p=1)")
    masks = torch.tensor([[[4, 5, 1, 2]] * 4], device=device)
    # The shift moves the content 2 px right and 2 px down; what it uncovers is background.
    assert augmented(pipeline, masks, label_swap_table([(0, 3), (1, 2)], device=device)).tolist() == [[[0, 0, 0, 0]] * 2 + [[0, 0, 1, 2]] * 2]
    assert augmented(pipeline, masks, None).tolist() == [[[0, 0, 0, 0]] * 2 + [[0, 0, 2, 1]] * 2]


def test_void_stays_void(device):
    masks = torch.full((2, 4, 4), X, device=device)
    for spec in ("hflip(p=1)", "transpose(p=1)", f"vflip(p=1),{IDENTITY_AFFINE}"):
        assert augmented(augmentlab.build_augmentation(spec), masks, label_swap_table([(1, 2)], device=device)).tolist() == masks.tolist()


@pytest.mark.parametrize("spec", ["elastic(p=1)", "grid(p=1)", "optical(p=1)", "perspective(p=1)", "crop(p=1)", "affine(p=1)", "cutmix(p=1)", "brightness(p=1)"])
def test_warps_that_keep_orientation_and_other_kinds_swap_nothing(spec, device):
    _, masks = coordinate_batch(4, device)
    pipeline = augmentlab.build_augmentation(spec)
    assert torch.equal(augmented(pipeline, masks, label_swap_table([(1, 2), (3, 4)], device=device), seed=3), augmented(pipeline, masks, None, seed=3))


# --- no table: as before ---------------------------------------------------------------------------


def test_without_a_table_nothing_changes_and_none_clears_a_table(device):
    masks = torch.tensor([MASK], device=device)
    pipeline = augmentlab.build_augmentation("hflip(p=1)")
    assert pipeline.label_swap is None and pipeline.transforms[0].label_swap is None
    flipped = [[row[::-1] for row in MASK]]
    torch.manual_seed(0)
    assert pipeline(masks[:, None].float().expand(-1, 3, -1, -1), masks)[1].tolist() == flipped
    pipeline.set_label_swap(label_swap_table([(1, 2)], device=device))
    pipeline.set_label_swap(None)
    assert augmented(pipeline, masks, None).tolist() == flipped
    assert pipeline.transforms[0].label_swap is None


def test_the_table_moves_with_the_pipeline_and_is_not_saved():
    pipeline = augmentlab.build_augmentation(f"hflip,{IDENTITY_AFFINE},elastic")
    pipeline.set_label_swap(label_swap_table([(1, 2)]))
    assert "label_swap" not in pipeline.state_dict() and not any("label_swap" in key for key in pipeline.state_dict())
    pipeline.to("meta")
    assert {pipeline.label_swap.device.type} | {transform.label_swap.device.type for transform in pipeline.transforms} == {"meta"}


def test_a_table_that_is_not_int64_labels_is_refused():
    with pytest.raises(ValueError, match=re.escape("a label swap table must be an int64 tensor [L] (label_swap_table builds one) or None, got (256,) torch.float32")):
        augmentlab.build_augmentation("hflip").set_label_swap(torch.arange(256.0))


def test_swapping_reads_nothing_back_to_the_host():
    # On meta every host read raises (see augmentlab.testing); per-sample p and fused stages take the swap path.
    pipeline = augmentlab.build_augmentation(f"hflip(p=0.5),transpose(p=0.5),{IDENTITY_AFFINE},vflip(p=0.5),rot90(p=0.5)").to("meta")
    pipeline.set_label_swap(label_swap_table([(1, 2)], device="meta"))
    images, masks = torch.zeros(4, 3, 8, 8, device="meta"), torch.zeros(4, 8, 8, dtype=torch.int64, device="meta")
    assert pipeline(images, masks)[1].shape == (4, 8, 8)
    assert fused_warp(pipeline.stages[0], images, masks, pipeline.label_swap)[1].shape == (4, 8, 8)


# --- check_augmentation reads mirroring from the output --------------------------------------------


def flip_matrix(batch_size: int, height: int, width: int, device: torch.device) -> torch.Tensor:
    """float32 [B,3,3]: each output pixel reads its mirror image in the vertical centre line."""
    return constant([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], device).expand(batch_size, 3, 3)


class MatrixFlip(ProjectiveWarp):
    """A mirror built on the public projective warp: its determinant says that it mirrors."""

    def source_matrix(self, params, batch_size, height, width, device):
        return flip_matrix(batch_size, height, width, device)


class GridFlip(WarpAugmentation):
    """The same mirror as a dense sampling grid, which says nothing of orientation."""

    def sampling_grid(self, params, batch_size, height, width, device):
        return projective_grid(flip_matrix(batch_size, height, width, device), height, width)


class ClaimedFlip(ProjectiveWarp):
    """Keeps every pixel in place but claims to mirror."""

    def source_matrix(self, params, batch_size, height, width, device):
        return torch.eye(3, device=device).expand(batch_size, 3, 3)

    def reflects(self, params, batch_size, height, width, device):
        return True


def test_the_orientation_of_an_output_is_read_from_its_pixels(device):
    images, masks = coordinate_batch(4, device)
    torch.manual_seed(0)
    outputs = [augmentlab.build_augmentation(f"{spec}(p=1)")(images, masks)[0] for spec in ("hflip", "transpose", "rot90", "elastic")]
    assert [mirrored_outputs(output).tolist() for output in outputs] == [[True] * 4, [True] * 4, [False] * 4, [False] * 4]


def test_a_projective_plugin_that_mirrors_swaps_without_saying_so(device):
    check_augmentation(factory=MatrixFlip, device=device)


def test_a_mirror_that_does_not_swap_is_reported(device):
    with pytest.raises(AugmentationCheckError) as error:
        check_augmentation(factory=GridFlip, device=device)
    assert re.fullmatch(
        r"augmentation 'gridflip' breaks 1 guarantee\(s\):\n  mirror pairs: (\d+) of \1 mirrored samples did not get their mirror-paired "
        r"labels swapped \(left/right classes\) with a label swap table set; return them from reflects\(\) \(PixelMap and "
        r"ProjectiveWarp read it from source_matrix\), or implement set_label_swap",
        str(error.value),
    )


def test_a_swap_where_nothing_was_mirrored_is_reported(device):
    with pytest.raises(AugmentationCheckError) as error:
        check_augmentation(factory=ClaimedFlip, device=device)
    assert re.fullmatch(
        r"augmentation 'claimedflip' breaks 1 guarantee\(s\):\n  mirror pairs: \d+ of 16 samples that are not mirrored had their "
        r"masks changed by a label swap table; only a reflection may swap left and right classes",
        str(error.value),
    )
