"""Checks that any augmentation keeps the mask guarantees, for our tests and for plugin authors.

One line in a plugin's test suite runs them all::

    from augmentlab.testing import check_augmentation, check_loss

    def test_my_transform_is_mask_safe():
        check_augmentation("my_transform")

    def test_my_loss_follows_the_rules():
        check_loss("my_loss")

The checks use images whose colour encodes the mask label, so that a transform which moves the
image and the mask apart, interpolates labels or lets padding pass for background is caught.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from augmentlab.augment.mirror import label_swap_table, swap_labels
from augmentlab.augment.pipeline import AugmentationPipeline, TransformOutputError
from augmentlab.errors import first_line
from augmentlab.registry.api import available_augmentations
from augmentlab.registry.loading import describe_augmentation
from augmentlab.registry.registrations import Augmentation, AugmentationInfo
from augmentlab.registry.spec import AugmentationTerm
from augmentlab.tensors import raised_on_meta

IGNORE_INDEX = 255
NUM_LABELS = 6
# Label colours: no channel below 0.25, so black (padding, holes) is never a label colour.
# Multiples of 1/8 are exact in bf16 and fp16 too.
PALETTE = torch.tensor(
    [[0.25, 0.25, 0.75], [0.75, 0.25, 0.25], [0.25, 0.75, 0.25], [0.875, 0.875, 0.25], [0.25, 0.875, 0.875], [0.875, 0.375, 0.875]]
)
VOID_COLOUR = torch.tensor([0.5, 0.5, 0.5])
HEIGHT, WIDTH, BLOCK = 64, 96, 8
UNIFORM_GREY = 0.625  # exact in bf16 and fp16, and no label colour
MIN_CONSISTENT_SHARE = 0.98
MIRROR_PAIRS = [(1, 2), (3, 4)]
"""Label pairs that the mirror check declares mirror images of each other."""


class AugmentationCheckError(AssertionError):
    """One or more mask guarantees do not hold; the message lists each failure on its own line."""


def label_coloured_batch(batch_size: int, seed: int = 0, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch whose image colour encodes the label: random labels per 8×8 block, some blocks void.

    Returns:
        images: float [B,3,64,96] in [0,1]; masks: int64 [B,64,96] with labels 0..5 and 255.
    """
    generator = torch.Generator().manual_seed(seed)
    blocks = torch.randint(0, NUM_LABELS + 1, (batch_size, HEIGHT // BLOCK, WIDTH // BLOCK), generator=generator)
    blocks[blocks == NUM_LABELS] = IGNORE_INDEX
    masks = blocks.repeat_interleave(BLOCK, 1).repeat_interleave(BLOCK, 2)
    colours = torch.cat([PALETTE, VOID_COLOUR[None]])
    images = colours[torch.where(masks == IGNORE_INDEX, NUM_LABELS, masks)].permute(0, 3, 1, 2)
    return images.to(device=device, dtype=dtype).contiguous(), masks.to(device)


def _uniform_neighbourhood(values: torch.Tensor) -> torch.Tensor:
    """bool [B,H,W]: the 3×3 neighbourhood of each pixel holds one value only (float [B,H,W] input)."""
    padded = values[:, None]
    high = F.max_pool2d(padded, 3, stride=1, padding=1)
    low = -F.max_pool2d(-padded, 3, stride=1, padding=1)
    return (high == low)[:, 0]


def _build(info: AugmentationInfo, params: dict[str, Any]) -> AugmentationPipeline:
    """The augmentation as a one-transform pipeline, built as :func:`~augmentlab.build_augmentation` builds each term."""
    extra = {"ignore_index": IGNORE_INDEX} if info.accepts_ignore_index else {}
    return AugmentationPipeline([info.factory(**extra, **params)], str(AugmentationTerm(info.name, tuple(params.items()))))


def _run(
    info: AugmentationInfo, params: dict[str, Any], images: torch.Tensor, masks: torch.Tensor, seed: int = 0, label_swap: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    augmentation = _build(info, params)
    augmentation.set_label_swap(label_swap)
    with torch.no_grad():
        return augmentation(images, masks)


def _host_read_checks(info: AugmentationInfo, params: dict[str, Any]) -> list[str]:
    """Run the augmentation on the ``meta`` device, whose tensors have shapes but no values.

    Everything that reads a value back to the host raises there: ``.item()``, ``bool(tensor)``
    (an ``if`` on a tensor), ``.tolist()``, ``.cpu()``, and shapes that depend on values
    (``x[mask]``, ``nonzero``). On a GPU each of them makes every batch wait for the device.
    It runs without and with a label swap table, whose path is separate.
    """
    images = torch.zeros(4, 3, HEIGHT, WIDTH, device="meta")
    masks = torch.zeros(4, HEIGHT, WIDTH, dtype=torch.int64, device="meta")
    for label_swap, where in ((None, ""), (label_swap_table(MIRROR_PAIRS, IGNORE_INDEX, "meta"), " with a label swap table")):
        error = raised_on_meta(functools.partial(_run, info, params, images, masks, label_swap=label_swap))
        if error is not None:
            return [
                f"host reads{where}: on the meta device, which holds no values, it raised {type(error).__name__}: {first_line(error)}; "
                "reading a value on the host (.item(), an if on a tensor, .tolist(), .cpu(), x[mask]) makes every GPU batch wait"
            ]
    return []


def coordinate_batch(batch_size: int, device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """A batch whose image says where each pixel is: red = (x + 0.5) / W, green = (y + 0.5) / H, blue = 0.5.

    After a warp, which samples a linear ramp bilinearly without error, red and green still give
    each output pixel's source position, and black marks the pixels without one. The masks are
    the labelled blocks of :func:`label_coloured_batch` (seed 6), with labels 0..5 only.

    Returns:
        images: float32 [B,3,64,96] in [0,1]; masks: int64 [B,64,96].
    """
    xs = (torch.arange(WIDTH) + 0.5) / WIDTH
    ys = (torch.arange(HEIGHT) + 0.5) / HEIGHT
    planes = [xs.expand(HEIGHT, WIDTH), ys[:, None].expand(HEIGHT, WIDTH), torch.full((HEIGHT, WIDTH), 0.5)]
    images = torch.stack(planes).expand(batch_size, 3, HEIGHT, WIDTH).contiguous()
    masks = label_coloured_batch(batch_size, seed=6)[1]
    return images.to(device), torch.where(masks == IGNORE_INDEX, 0, masks).to(device)


def mirrored_outputs(images: torch.Tensor) -> torch.Tensor:
    """bool [B]: which outputs of a :func:`coordinate_batch` are mirror images of their input.

    From the source positions the image holds, the Jacobian of the map from output to source
    pixels is taken by differences between neighbours; a sample is mirrored when more of its
    pixels with a source have a negative Jacobian determinant than a positive one, so a warp
    that folds in a few places still reads by its overall orientation.
    """
    images = images.float()
    x, y = images[:, 0] * WIDTH - 0.5, images[:, 1] * HEIGHT - 0.5
    sourced = images[:, 2] > 0.25
    here = (slice(None), slice(None, -1), slice(None, -1))
    right = (slice(None), slice(None, -1), slice(1, None))
    below = (slice(None), slice(1, None), slice(None, -1))
    determinant = (x[right] - x[here]) * (y[below] - y[here]) - (x[below] - x[here]) * (y[right] - y[here])
    counted = sourced[here] & sourced[right] & sourced[below]
    # Pixels whose neighbours read the same clamped border position have no orientation.
    reversed_pixels = ((determinant < -1e-3) & counted).sum((1, 2))
    kept_pixels = ((determinant > 1e-3) & counted).sum((1, 2))
    return reversed_pixels > kept_pixels


def _mirror_checks(info: AugmentationInfo, params: dict[str, Any], device: torch.device) -> list[str]:
    """With a label swap table set, exactly the samples that come out mirrored have their paired labels swapped.

    Which samples are mirrored is read from the output image (:func:`mirrored_outputs`), not
    from what the transform declares, so a transform that mirrors without saying so in
    ``reflects`` (or a rotation that says it does) is caught. The same seed is run without and
    with the table; the second must equal the first with the pairs swapped in the mirrored
    samples and nothing else changed.
    """
    images, masks = coordinate_batch(16, device)
    plain_images, plain_masks = _run(info, params, images, masks, seed=7)
    table = label_swap_table(MIRROR_PAIRS, IGNORE_INDEX, device)
    swapped_images, swapped_masks = _run(info, params, images, masks, seed=7, label_swap=table)
    mirrored = mirrored_outputs(plain_images)
    expected = swap_labels(plain_masks, table, mirrored)
    wrong = (swapped_masks != expected).flatten(1).any(1)
    failures = []
    if not torch.equal(plain_images, swapped_images):
        failures.append("mirror pairs: setting a label swap table changed the images; it may only relabel masks")
    unswapped, swapped = int((wrong & mirrored).sum()), int((wrong & ~mirrored).sum())
    if unswapped:
        failures.append(
            f"mirror pairs: {unswapped} of {int(mirrored.sum())} mirrored samples did not get their mirror-paired labels swapped "
            "(left/right classes) with a label swap table set; return them from reflects() (PixelMap and ProjectiveWarp "
            "read it from source_matrix), or implement set_label_swap"
        )
    if swapped:
        failures.append(
            f"mirror pairs: {swapped} of {int((~mirrored).sum())} samples that are not mirrored had their masks changed by a label "
            "swap table; only a reflection may swap left and right classes"
        )
    return failures


def _mask_checks(out_masks: torch.Tensor, masks: torch.Tensor, fill: int) -> list[str]:
    failures = []
    allowed = set(masks.unique().tolist()) | {fill}
    extra = sorted(set(out_masks.unique().tolist()) - allowed)
    if extra:
        failures.append(f"masks hold labels {extra} that were not in the input (labels must never be interpolated)")
    return failures


def _geometry_checks(images: torch.Tensor, masks: torch.Tensor, fill: int, what: str) -> list[str]:
    """Colour must match label away from label edges; black (sourceless) pixels must carry ``fill``."""
    failures = []
    images = images.float()
    black = (images.amax(1) <= 0.01).float()
    black_interior = _uniform_neighbourhood(black) & (black > 0)
    # Sourceless pixels filled with background (label 0) are black by design, not a mismatch; the
    # whole of each black region counts, not only its interior, or hole rims read as mismatches.
    interior = _uniform_neighbourhood(masks.float()) & (masks >= 0) & (masks < NUM_LABELS) & ~((black > 0) & (masks == fill))
    if interior.any():
        # A pixel matches when its label's colour is the nearest of the label colours, void grey
        # and black. Bilinear resampling blends colours across a label edge, and a zoom spreads
        # the blend over several pixels whose mask is uniform; each stays nearest its own label's
        # colour, while a pixel whose image and mask moved apart does not.
        candidates = torch.cat([PALETTE, VOID_COLOUR[None], torch.zeros(1, 3)]).to(images.device)
        nearest = (images[:, None] - candidates[None, :, :, None, None]).abs().amax(2).argmin(1)
        matches = (nearest == masks) & interior
        share = matches.sum().item() / interior.sum().item()
        if share < MIN_CONSISTENT_SHARE:
            failures.append(f"{what}: image colour matches the mask label at only {share:.1%} of labelled pixels (image and mask moved apart)")
    wrong = black_interior & (masks != fill)
    if wrong.any():
        labels = sorted(set(masks[wrong].unique().tolist()))
        failures.append(f"{what}: {int(wrong.sum())} pixels without a source are labelled {labels}, expected {fill}")
    return failures


def _padding_checks(info: AugmentationInfo, params: dict[str, Any], device: torch.device) -> list[str]:
    """A pixel that keeps a label keeps its source's colour: padding must not blend into it.

    On a uniform image every pixel with a source has exactly the image's colour, whatever the
    warp; zero-padded bilinear sampling (``remap_images`` alone) darkens the pixels that sample
    between the outer pixel centres and the edge, although they keep a label. The hard-edge
    :func:`augmentlab.augment.warp` samples them from the border instead.
    """
    images = torch.full((8, 3, HEIGHT, WIDTH), UNIFORM_GREY, device=device)
    masks = torch.ones(8, HEIGHT, WIDTH, dtype=torch.int64, device=device)
    out_images, out_masks = _run(info, params, images, masks, seed=5)
    labelled = out_masks != IGNORE_INDEX
    darkened = ((out_images.float() - UNIFORM_GREY).abs().amax(1) > 1e-3) & labelled
    count, total = int(darkened.sum()), int(labelled.sum())
    if count:
        return [
            f"padding: {count} of {total} pixels that keep a label changed colour on a uniform image (zero padding blended into them); "
            "sample with augmentlab.augment.warp, or subclass WarpAugmentation or ProjectiveWarp, whose edge is hard"
        ]
    return []


def check_augmentation(
    name: str | None = None,
    *,
    factory: Callable[..., Any] | None = None,
    kind: str | None = None,
    device: str | torch.device = "cpu",
    params: dict[str, Any] | None = None,
    dtypes: Sequence[torch.dtype] | None = None,
) -> None:
    """Run every mask guarantee on an augmentation and raise if one fails.

    Checked: the input batch is left as it was (outputs are new tensors); masks stay int64 with no new labels; geometric and mix transforms move image and
    mask together; pixels without a source get ``ignore_index`` (or 0 with
    ``fill_mask=background``); a pixel that keeps its label keeps its colour (no padding blends
    into it); photometric transforms leave the mask untouched and images in [0,1]; ``p`` is
    honoured per sample; each sample gets its own parameters; a seed reproduces the output; a
    batch of one and a non-square size work; the image dtype is kept; geometric transforms
    swap mirror-paired labels (left/right classes) in exactly the samples they mirror when a
    label swap table is set (mirroring is read from the output, see :func:`mirrored_outputs`);
    and nothing reads a tensor's value back to the host, which would stall a GPU at every batch
    (checked on PyTorch's ``meta`` device, so without a GPU too).

    Args:
        name: a registered augmentation; or
        factory: the class (or factory) itself, to check it before it is packaged as a plugin; it
            must follow the registration rules of :mod:`augmentlab.hookspecs`.
        kind: with ``factory``, its kind when the factory has no ``kind`` attribute.
        device: where to run; use ``"cuda"`` to check the GPU path.
        params: spec parameters to set besides ``p`` (e.g. a strength that makes the effect visible).
        dtypes: image dtypes to try [default: float32, plus bf16 and fp16 on CUDA].

    Raises:
        AugmentationCheckError: listing every failed guarantee.
        KeyError: ``name`` is not registered.
        ValueError: neither or both of ``name`` and ``factory``, or a factory that breaks a registration rule.
    """
    info = _augmentation_info(name, factory, kind)
    name = info.name
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        # Tensors report cuda:0, and torch.device("cuda") != torch.device("cuda:0").
        device = torch.device("cuda", torch.cuda.current_device())
    params = dict(params or {})
    has_p = "p" in info.defaults
    always = {**params, "p": 1.0} if has_p else params
    if dtypes is None:
        dtypes = (torch.float32, torch.bfloat16, torch.float16) if device.type == "cuda" else (torch.float32,)
    failures: list[str] = []

    def check(label: str, condition: Callable[[], bool], message: str) -> None:
        try:
            ok = condition()
        except Exception as error:  # noqa: BLE001 - a crash is a failed guarantee, reported with the rest
            failures.append(f"{label}: raised {type(error).__name__}: {error}")
            return
        if not ok:
            failures.append(f"{label}: {message}")

    images, masks = label_coloured_batch(8, seed=1, device=device)
    unusable = False  # a dtype's run raised, or returned what the other checks cannot compare
    for dtype in dtypes:
        typed, given_masks = images.to(dtype, copy=True), masks.clone()  # copies: the checks below need the batch as made
        tag = str(dtype).replace("torch.", "")
        try:
            out_images, out_masks = _run(info, always, typed, given_masks)
        except Exception as error:  # noqa: BLE001 - a crash is a failed guarantee, reported with the rest
            failures.append(_raised(tag, error))
            unusable = unusable or dtype == torch.float32  # the checks below run in float32
            continue
        check(
            tag,
            lambda: torch.equal(typed, images.to(dtype)) and torch.equal(given_masks, masks),
            "the input images or masks were changed in place; return new tensors, the caller still holds the originals",
        )
        # dtypes, shapes and the device are the pipeline's own check (TransformOutputError above)
        check(tag, lambda: bool(torch.isfinite(out_images.float()).all()) and float(out_images.min()) >= 0 and float(out_images.max()) <= 1, "images leave [0, 1] or are not finite")
        failures.extend(f"{tag}: {message}" for message in _mask_checks(out_masks, masks, IGNORE_INDEX))
        if info.kind == "photometric":
            check(tag, lambda: torch.equal(out_masks, masks), "a photometric transform changed the mask")
        else:
            failures.extend(_geometry_checks(out_images, out_masks, IGNORE_INDEX, tag))

    if unusable:
        # The checks below compare outputs with inputs: they need a transform that runs and keeps the batch's shapes and dtypes.
        raise _broken(name, failures, "(the other checks need a float32 run that keeps the batch's shapes and dtypes, and were not run)")

    def guarded(label: str, checks: Callable[[], None]) -> None:
        """Run a group of checks; one that raises (a transform failing only with some settings) is a failure of its own."""
        try:
            checks()
        except Exception as error:  # noqa: BLE001 - a crash is a failed guarantee, reported with the rest
            failures.append(_raised(label, error))

    def fill_background() -> None:
        out_images, out_masks = _run(info, {**always, "fill_mask": "background"}, images, masks)
        failures.extend(f"fill_mask=background: {m}" for m in _mask_checks(out_masks, masks, 0))
        failures.extend(_geometry_checks(out_images, out_masks, 0, "fill_mask=background"))

    def seeded() -> None:
        first = _run(info, always, images, masks, seed=3)
        second = _run(info, always, images, masks, seed=3)
        check("seed", lambda: torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]), "the same torch.manual_seed gave different outputs")

    def batch_of_one() -> None:
        single = label_coloured_batch(1, seed=2, device=device)
        check("batch of 1", lambda: _run(info, always, *single)[0].shape == single[0].shape, "the output shape changed")

    def probability() -> None:
        many_images, many_masks = label_coloured_batch(64, seed=4, device=device)
        never = _run(info, {**params, "p": 0.0}, many_images, many_masks)
        check("p=0", lambda: torch.equal(never[0], many_images) and torch.equal(never[1], many_masks), "samples changed although p=0")
        half = _run(info, {**params, "p": 0.5}, many_images, many_masks)
        changed = ((half[0] != many_images).flatten(1).any(1) | (half[1] != many_masks).flatten(1).any(1)).sum().item()
        check("p=0.5", lambda: 8 <= changed <= 56, f"{changed} of 64 samples changed; p must be drawn per sample")

    def per_sample() -> None:
        same_images = images[:1].expand(16, -1, -1, -1).contiguous()
        same_masks = masks[:1].expand(16, -1, -1).contiguous()
        out = _run(info, always, same_images, same_masks)
        probe = _build(info, params).transforms[0]
        random_params = bool(probe.sample_params(1, HEIGHT, WIDTH, device)) if hasattr(probe, "sample_params") else True
        distinct = len({tuple(sample.flatten().tolist()[:: 97]) for sample in out[0].float()})
        if random_params:
            check("per-sample parameters", lambda: distinct > 1, "16 copies of one image all came out identical; draw parameters per sample")

    half_params = {**params, "p": 0.5} if has_p else params
    if info.kind != "photometric" and "fill_mask" in info.defaults:
        guarded("fill_mask=background", fill_background)
    guarded("seed", seeded)
    guarded("batch of 1", batch_of_one)
    if has_p:
        guarded("p", probability)
    if info.kind != "mix":
        guarded("per-sample parameters", per_sample)
    if info.kind != "photometric":
        guarded("padding", lambda: failures.extend(_padding_checks(info, always, device)))
    if info.kind == "geometric":
        guarded("mirror pairs", lambda: failures.extend(_mirror_checks(info, half_params, device)))
    failures.extend(_host_read_checks(info, half_params))

    if failures:
        raise _broken(name, failures)


def _raised(label: str, error: Exception) -> str:
    """A failure line for a check that raised: a broken output contract in its own words, any other error as it came."""
    return f"{label}: {error.problem}" if isinstance(error, TransformOutputError) else f"{label}: raised {type(error).__name__}: {error}"


def _broken(name: str, failures: list[str], *after: str) -> AugmentationCheckError:
    return AugmentationCheckError(f"augmentation '{name}' breaks {len(failures)} guarantee(s):\n  " + "\n  ".join([*failures, *after]))


def _augmentation_info(name: str | None, factory: Callable[..., Any] | None, kind: str | None) -> AugmentationInfo:
    """What the host knows of the augmentation to check: the registered one, or an unregistered factory checked by the registration rules."""
    if (name is None) == (factory is None):
        raise ValueError("check_augmentation takes the name of a registered augmentation or factory=, one of them")
    if factory is not None:
        label = getattr(factory, "__name__", type(factory).__name__).lower()
        try:
            return describe_augmentation("unregistered", Augmentation(label, factory, kind))  # type: ignore[arg-type]
        except ValueError as error:
            raise ValueError(f"factory {label} breaks a registration rule: its factory {error}") from None
    info = available_augmentations().get(name)
    if info is None:
        raise KeyError(f"augmentation {name!r} is not registered; `augmentlab plugins` lists what is")
    return info


class LossCheckError(AssertionError):
    """One or more rules for losses do not hold; the message lists each failure on its own line."""


LOSS_CLASSES = 4
LOSS_IGNORE_INDEX = 7
"""The checks' ignore index: not 255, so a loss that hard-codes the default instead of using its ``ignore_index`` is caught."""


def _loss_batch(seed: int, shape: tuple[int, int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded logits float32 [B,C,H,W] and a fully labelled target int64 [B,H,W]."""
    generator = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(shape[0], LOSS_CLASSES, *shape[1:], generator=generator)
    return logits.to(device), torch.randint(0, LOSS_CLASSES, shape, generator=generator).to(device)


def check_loss(
    spec: str | None = None,
    *,
    factory: Callable[..., Any] | None = None,
    params: dict[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> None:
    """Run the rules that hold for every loss (README, "Rules that hold for every loss") and raise if one fails.

    Checked, with 4 classes and ignore index 7 (not the default 255, so the loss must use the
    ``ignore_index`` it is given): the value is a finite float32 scalar with a gradient; a border
    of ignored pixels (whatever their logits) gives the value of the batch cropped without it; an
    image whose pixels are all ignored counts as if it were left out; a batch with every pixel
    ignored gives 0 with a zero, finite gradient, never NaN; a batch missing classes and logits
    from uncertain to saturated (margin 10⁴) give finite values and gradients; bf16 logits under
    autocast (and fp16 on CUDA) give float32 close to the float32 value; a seed reproduces it; and
    forward and backward read no value back to the host (run on PyTorch's ``meta`` device).

    Args:
        spec: a loss spec of registered losses, such as ``poly(epsilon=2)`` or ``ce0.5+poly0.5``; or
        factory: the loss class (or factory) itself, called as ``factory(num_classes, ignore_index=…, **params)``,
            to check it before it is packaged as a plugin.
        params: with ``factory``, its spec parameters.
        device: where to run; use ``"cuda"`` to check the GPU path (and fp16).

    Raises:
        LossCheckError: listing every failed rule.
        SpecError: ``spec`` is malformed or names an unknown loss or parameter.
        ValueError: neither or both of ``spec`` and ``factory``, or a factory that breaks a registration rule.
    """
    from augmentlab.losses.combo import WeightedLossSum, build_loss
    from augmentlab.registry.loading import describe_loss
    from augmentlab.registry.registrations import Loss

    if (spec is None) == (factory is None):
        raise ValueError("check_loss takes a loss spec or factory=, one of them")
    device = torch.device(device)
    if factory is not None:
        label = getattr(factory, "__name__", type(factory).__name__).lower()
        try:
            describe_loss("unregistered", Loss(label, factory))
        except ValueError as error:
            raise ValueError(f"factory {label} breaks a registration rule: its factory {error}") from None

        def build(on: torch.device) -> torch.nn.Module:
            return WeightedLossSum([(label, 1.0, factory(LOSS_CLASSES, ignore_index=LOSS_IGNORE_INDEX, **(params or {})))], label).to(on)
    else:
        name = spec

        def build(on: torch.device) -> torch.nn.Module:
            # weight=auto and alpha=auto need the training set's counts: any will do here.
            return build_loss(spec, LOSS_CLASSES, LOSS_IGNORE_INDEX, class_frequencies=[40, 30, 20, 10]).to(on)

        build(device)  # a bad spec is the caller's error, raised as such
    label = name if factory is None else label
    failures: list[str] = []

    def check(rule: str, condition: Callable[[], bool], message: str) -> None:
        try:
            ok = condition()
        except Exception as error:  # noqa: BLE001 - a crash is a broken rule, reported with the rest
            ignoring = rule in ("ignored pixels", "ignored image", "all ignored")
            hint = f" (the target holds ignore_index {LOSS_IGNORE_INDEX} here: use the ignore_index the factory is given)" if ignoring else ""
            failures.append(f"{rule}: raised {type(error).__name__}: {first_line(error)}{hint}")
            return
        if not ok:
            failures.append(f"{rule}: {message}")

    def value(logits: torch.Tensor, target: torch.Tensor) -> float:
        return float(build(device)(logits, target).detach())

    def close(a: float, b: float, tolerance: float = 1e-5) -> bool:
        return abs(a - b) <= tolerance * max(1.0, abs(b))

    def scalar() -> bool:
        logits, target = _loss_batch(0, (2, 6, 6), device)
        logits.requires_grad_(True)
        out = build(device)(logits, target)
        if not (isinstance(out, torch.Tensor) and out.shape == () and out.dtype == torch.float32 and out.requires_grad):
            return False
        out.backward()
        return bool(torch.isfinite(out)) and logits.grad is not None and bool(torch.isfinite(logits.grad).all()) and bool(logits.grad.abs().sum() > 0)

    check("value", scalar, "the loss must be a finite float32 scalar with a finite, non-zero gradient")

    def border() -> bool:
        logits, target = _loss_batch(1, (2, 5, 9), device)
        padded_logits = torch.cat([logits, 50 * torch.randn(2, LOSS_CLASSES, 5, 3, device=device)], dim=3)
        padded_target = torch.cat([target, torch.full((2, 5, 3), LOSS_IGNORE_INDEX, device=device)], dim=2)
        return close(value(padded_logits, padded_target), value(logits, target))

    check("ignored pixels", border, f"a border of pixels labelled ignore_index ({LOSS_IGNORE_INDEX}) changed the loss; they must count nowhere (use the ignore_index the factory is given)")

    def ignored_image() -> bool:
        logits, target = _loss_batch(2, (3, 5, 5), device)
        target[1] = LOSS_IGNORE_INDEX
        return close(value(logits, target), value(logits[[0, 2]], target[[0, 2]]))

    check("ignored image", ignored_image, "an image whose pixels are all ignored changed the loss; it must count as if it were left out")

    def all_ignored() -> bool:
        logits = torch.randn(2, LOSS_CLASSES, 4, 4, device=device, requires_grad=True)
        out = build(device)(logits, torch.full((2, 4, 4), LOSS_IGNORE_INDEX, device=device))
        out.backward()
        return float(out.detach()) == 0.0 and logits.grad is not None and bool((logits.grad == 0).all())

    check("all ignored", all_ignored, "a batch whose pixels are all ignored must give 0 with a zero gradient, never NaN")

    def missing_classes() -> bool:
        logits, target = _loss_batch(3, (2, 5, 5), device)
        logits.requires_grad_(True)
        out = build(device)(logits, target % 2)  # only classes 0 and 1
        out.backward()
        return bool(torch.isfinite(out)) and bool(torch.isfinite(logits.grad).all())

    check("missing classes", missing_classes, "a batch without some classes gave a value or gradient that is not finite")

    for margin in (1e-3, 30.0, 1e4):
        def saturated(margin: float = margin) -> bool:
            _, target = _loss_batch(4, (2, 4, 4), device)
            predicted = torch.where(torch.arange(16, device=device).view(1, 4, 4) % 2 == 0, target, (target + 1) % LOSS_CLASSES)
            logits = (margin * F.one_hot(predicted, LOSS_CLASSES).permute(0, 3, 1, 2).float()).requires_grad_(True)
            out = build(device)(logits, target)
            out.backward()
            return bool(torch.isfinite(out)) and bool(torch.isfinite(logits.grad).all())

        check(f"logit margin {margin:g}", saturated, "half right and half wrong predictions gave a value or gradient that is not finite")

    for dtype in (torch.bfloat16, torch.float16) if device.type == "cuda" else (torch.bfloat16,):
        def low_precision(dtype: torch.dtype = dtype) -> bool:
            features, target = _loss_batch(5, (2, 4, 4), device)
            projection = torch.eye(LOSS_CLASSES, device=device, requires_grad=True)
            loss = build(device)
            with torch.autocast(device_type=device.type, dtype=dtype):
                logits = torch.einsum("bchw,cd->bdhw", features, projection)  # autocast runs this in dtype
                out = loss(logits, target)
            expected = float(loss(logits.float(), target).detach())
            out.backward()
            return out.dtype == torch.float32 and close(float(out.detach()), expected, 1e-4) and bool(torch.isfinite(projection.grad).all())

        check(str(dtype).replace("torch.", ""), low_precision, "logits under autocast must be computed in float32 inside the loss (logits.float())")

    def seeded() -> bool:
        logits, target = _loss_batch(6, (2, 6, 6), device)
        torch.manual_seed(0)
        first = value(logits, target)
        torch.manual_seed(0)
        return first == value(logits, target)

    check("seed", seeded, "the same torch.manual_seed gave different values")

    meta = torch.device("meta")
    logits = torch.zeros(2, LOSS_CLASSES, 16, 16, device=meta, requires_grad=True)
    target = torch.zeros(2, 16, 16, dtype=torch.int64, device=meta)

    def forward_backward() -> None:
        build(meta)(logits, target).backward()

    error = raised_on_meta(forward_backward)
    if error is not None:
        failures.append(
            f"host reads: on the meta device, which holds no values, it raised {type(error).__name__}: {first_line(error)}; "
            "a value read back to the host (.item(), an if on a tensor, x[mask]) stalls a GPU at every step"
        )
    if failures:
        raise LossCheckError(f"loss '{label}' breaks {len(failures)} rule(s):\n  " + "\n  ".join(failures))
