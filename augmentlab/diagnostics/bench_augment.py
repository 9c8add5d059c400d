"""`augmentlab bench augment`: images per second of each augmentation, next to stock kornia and albumentations.

Ours and stock kornia's equivalents run on whole batches on the chosen device. albumentations
runs as the reference study used it: on the CPU, in one process, one uint8 HWC image and its
mask at a time; its images per second is the batch size over the time to go through the batch.
Kornia's geometric equivalents transform images and masks together, through
``AugmentationSequential(data_keys=["input", "mask"])`` with the float [B,1,H,W] masks kornia
expects, so both sides do the same work; its photometric and mix equivalents transform the
images only (they leave the mask alone or cannot carry it), unless the transform cannot work
without the mask (RandomTransplantation).

The equivalents come from the family packages: ``KORNIA_EQUIVALENTS`` and
``ALBUMENTATIONS_EQUIVALENTS`` in ``augmentlab.augment.{geometric,photometric,mix}`` map a
built-in's name to a zero-argument factory of the closest stock transform with p=1.

The functions here are shared by the CLI table and the pytest-benchmark suite in ``benchmarks/``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import os
import statistics
import time
import warnings
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from rich.table import Table

from augmentlab.augment.pipeline import build_augmentation
from augmentlab.diagnostics import equivalents as stock
from augmentlab.errors import AugmentlabError, FieldError, Param
from augmentlab.registry.api import available_augmentations, resolve_augmentation_set
from augmentlab.registry.loading import BUILTIN_DISTRIBUTION, current_registry
from augmentlab.registry.spec import AugmentationSet, AugmentationTerm

IMPLEMENTATIONS = ("ours", "kornia", "albumentations")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
MASK_CLASSES = 6
MASK_BLOCK = 32

logger = logging.getLogger("augmentlab.diagnostics.bench_augment")


@dataclass(frozen=True)
class BenchCase:
    """One row of the bench: a label, its kind, and the terms applied one after another.

    ``kind`` is the augmentation's kind, or ``set`` for a whole set measured as one pipeline.
    """

    label: str
    kind: str
    terms: tuple[AugmentationTerm, ...]


@dataclass(frozen=True)
class BenchInputs:
    """One batch, in the forms each implementation takes.

    Attributes:
        images: float32 [B,3,S,S] in [0,1] on ``device``.
        masks: int64 [B,S,S] on ``device``, blocks of labels 0..5.
        arrays: the same B samples for albumentations: (image uint8 [S,S,3], mask uint8 [S,S]) numpy pairs.
    """

    images: torch.Tensor
    masks: torch.Tensor
    arrays: tuple[tuple[Any, Any], ...]

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def batch_size(self) -> int:
        return self.images.shape[0]


@dataclass(frozen=True)
class BenchRow:
    """Images per second of one case with each implementation (None: no equivalent, or it failed)."""

    label: str
    kind: str
    ours: float
    kornia: float | None
    albumentations: float | None

    @property
    def ours_vs_kornia(self) -> float | None:
        return None if self.kornia is None else self.ours / self.kornia

    @property
    def ours_vs_albumentations(self) -> float | None:
        return None if self.albumentations is None else self.ours / self.albumentations

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.label,
            "kind": self.kind,
            "ours": self.ours,
            "kornia": self.kornia,
            "albumentations": self.albumentations,
            "ours_vs_kornia": self.ours_vs_kornia,
            "ours_vs_albumentations": self.ours_vs_albumentations,
        }


def resolve_bench_device(name: str) -> torch.device:
    """``auto`` (CUDA when visible, else CPU), ``cpu`` or ``cuda`` as a torch device.

    Raises:
        AugmentlabError: an unknown name, or ``cuda`` without a visible CUDA device.
    """
    if name not in DEVICE_CHOICES:
        raise FieldError("device", f"{name!r} is not a device the bench knows; use {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise FieldError("device", "is cuda, but no CUDA device is visible; use cpu")
    return torch.device(name)


def import_albumentations() -> ModuleType | None:
    """albumentations, or None where it is not installed.

    Its import-time update check (a request to PyPI, up to 2 s) is skipped unless
    NO_ALBUMENTATIONS_UPDATE is set otherwise, so that a bench does not wait on the network.
    """
    if importlib.util.find_spec("albumentations") is None:
        return None
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    return importlib.import_module("albumentations")


def equivalents(library: str) -> dict[str, Callable[[], Any]]:
    """Built-in name -> zero-argument factory of ``library``'s closest transform (p=1); ``library`` is ``kornia`` or ``albumentations``."""
    return getattr(stock, f"{library.upper()}_EQUIVALENTS")


def builtin_augmentation_names() -> list[str]:
    """Every augmentation the augmentlab distribution itself registers, in registration order."""
    registry = current_registry()
    builtin_plugins = {plugin.name for plugin in registry.plugins if plugin.distribution == BUILTIN_DISTRIBUTION}
    return [name for name, info in registry.augmentations.items() if info.provider in builtin_plugins]


def bench_cases(spec: str | None) -> list[BenchCase]:
    """The rows to measure: each term of ``spec`` (default: every built-in), then the whole set.

    A term that does not set ``p`` runs at p=1, so that every sample is transformed. A ``spec``
    of several terms also gets a row for the whole set, run as one pipeline; the default
    selection does not (every built-in at once is no pipeline anyone trains with).

    Raises:
        SpecError: ``spec`` is malformed or names an unknown augmentation or parameter.
        AugmentlabError: ``spec`` is ``none``.
    """
    parsed = resolve_augmentation_set(spec) if spec is not None else AugmentationSet(tuple(AugmentationTerm(name) for name in builtin_augmentation_names()))
    if not parsed.terms:
        what = (Param("aug"), " none: there is nothing to measure") if spec is not None else ("no built-in augmentation is loaded",)
        raise AugmentlabError(*what, "; name the augmentations to time, e.g. ", Param("aug"), " hflip,vflip")
    available = available_augmentations()
    cases = []
    for term in parsed:
        always = term if "p" not in available[term.name].defaults or "p" in term.kwargs else AugmentationTerm(term.name, (*term.params, ("p", 1.0)))
        cases.append(BenchCase(str(term), available[term.name].kind, (always,)))
    if spec is not None and len(cases) > 1:
        cases.append(BenchCase(str(parsed), "set", tuple(term for case in cases for term in case.terms)))
    return cases


def make_bench_inputs(batch_size: int, size: int, device: torch.device, seed: int = 0) -> BenchInputs:
    """A deterministic batch of noise images and blocky masks of ``size``×``size``."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(batch_size, 3, size, size, generator=generator)
    blocks = math.ceil(size / MASK_BLOCK)
    coarse = torch.randint(0, MASK_CLASSES, (batch_size, 1, blocks, blocks), generator=generator)
    masks = F.interpolate(coarse.float(), size=(size, size), mode="nearest")[:, 0].long()
    hwc = (images * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    arrays = tuple((hwc[index], masks[index].to(torch.uint8).numpy()) for index in range(batch_size))
    return BenchInputs(images.to(device), masks.to(device), arrays)


def synchronized(call: Callable[[], object], device: torch.device) -> Callable[[], None]:
    """``call`` followed by a wait for the device to finish, so that timing it measures the work."""

    def call_and_wait() -> None:
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return call_and_wait


def _probability(term: AugmentationTerm) -> float:
    return float(term.kwargs.get("p", 1.0))


def _with_probability(transform: Any, p: float) -> Any:
    """The stock transform with our term's probability, so that both skip the same share of samples."""
    if hasattr(transform, "p"):
        transform.p = p
    return transform


def _kornia_sequential() -> type:
    from kornia.augmentation import AugmentationSequential

    return AugmentationSequential


def _kornia_module(term: AugmentationTerm, module: Any) -> Any:
    """The stock transform at our term's probability; a geometric one moves a mask as ours does."""
    module = _with_probability(module, _probability(term))
    if available_augmentations()[term.name].kind == "geometric" and not _kornia_takes_masks(module):
        return _kornia_sequential()(module, data_keys=["input", "mask"])
    return module


def _kornia_takes_masks(module: Any) -> bool:
    """Whether a stock kornia transform needs the mask too (e.g. RandomTransplantation draws from it)."""
    from kornia.constants import DataKey

    return DataKey.MASK in (getattr(module, "data_keys", None) or ())


def implementation_call(implementation: str, terms: Sequence[AugmentationTerm], inputs: BenchInputs) -> Callable[[], None] | None:
    """A zero-argument call that runs ``terms`` once over the whole batch with ``implementation``.

    The call waits for the device, so timing it measures the work. Returns None where the
    implementation has no equivalent of every term, or albumentations is not installed.

    Raises:
        ValueError: ``implementation`` is not one of :data:`IMPLEMENTATIONS`.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {', '.join(IMPLEMENTATIONS)}, got {implementation!r}")
    if implementation == "ours":
        pipeline = build_augmentation(AugmentationSet(tuple(terms), ",".join(map(str, terms)))).to(inputs.device)

        def run_ours() -> None:
            with torch.no_grad():
                pipeline(inputs.images, inputs.masks)

        return synchronized(run_ours, inputs.device)
    factories = equivalents(implementation)
    if not all(term.name in factories for term in terms):
        return None
    if implementation == "kornia":
        modules = [_kornia_module(term, factories[term.name]()).to(inputs.device) for term in terms]
        float_masks = inputs.masks[:, None].float()

        def run_kornia() -> None:
            images, masks, moved_masks = inputs.images, inputs.masks, float_masks
            # Stock kornia warns about grid_sample's align_corners default on every elastic call.
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                for module in modules:
                    if isinstance(module, _kornia_sequential()):
                        images, moved_masks = module(images, moved_masks)
                    elif _kornia_takes_masks(module):
                        images, masks = module(images, masks)
                    else:
                        images = module(images)

        return synchronized(run_kornia, inputs.device)
    albumentations = import_albumentations()
    if albumentations is None:
        return None
    transforms = [_with_probability(factories[term.name](), _probability(term)) for term in terms]
    transform = transforms[0] if len(transforms) == 1 else albumentations.Compose(transforms)

    def run_albumentations() -> None:
        for image, mask in inputs.arrays:
            transform(image=image, mask=mask)

    return run_albumentations


def median_seconds(call: Callable[[], None], repeats: int, warmup: int = 2) -> float:
    """Median wall-clock seconds of ``repeats`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def measure_case(case: BenchCase, inputs: BenchInputs, repeats: int, warmup: int = 2, progress: Callable[[str], None] | None = None) -> BenchRow:
    """Images per second of one case with each implementation.

    A stock equivalent that fails is reported as a warning and left out of the row; ours failing
    is an error in augmentlab or a plugin and propagates.

    Raises:
        AugmentlabError: ours rejects the batch's size with a ValueError (a parameter the images do not fit).
    """
    speeds: dict[str, float | None] = {}
    for implementation in IMPLEMENTATIONS:
        if progress is not None:
            progress(f"{case.label}: {implementation}")
        try:
            call = implementation_call(implementation, case.terms, inputs)
            speeds[implementation] = None if call is None else inputs.batch_size / median_seconds(call, repeats, warmup)
        except Exception as error:  # noqa: BLE001 - a third-party equivalent breaking must not hide our figures
            if implementation == "ours":
                if isinstance(error, ValueError) and not isinstance(error, AugmentlabError):
                    # A parameter that the bench's images do not fit (grid_dropout's unit_size_range beyond --size) is bad input.
                    size = "×".join(map(str, inputs.images.shape[-2:]))
                    raise AugmentlabError(Param("aug"), f" {case.label}: {' '.join(str(error).split())}, on the bench's {size} images (--size)") from error
                raise
            logger.warning("%s's equivalent of '%s' failed and is left out: %s: %s", implementation, case.label, type(error).__name__, " ".join(str(error).split()))
            speeds[implementation] = None
    return BenchRow(case.label, case.kind, speeds["ours"], speeds["kornia"], speeds["albumentations"])


def run_bench(cases: Iterable[BenchCase], inputs: BenchInputs, repeats: int, warmup: int = 2, progress: Callable[[str], None] | None = None) -> list[BenchRow]:
    """Measure every case; see :func:`measure_case`."""
    return [measure_case(case, inputs, repeats, warmup, progress) for case in cases]


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cpu_threads() -> str:
    threads = torch.get_num_threads()
    return f"{threads} torch thread{'' if threads == 1 else 's'}"


def bench_environment(device: torch.device) -> dict[str, Any]:
    """What the figures depend on besides the settings: the device and the library versions."""
    return {
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_threads(),
        "versions": {"augmentlab": _installed_version("augmentlab"), "torch": torch.__version__, "kornia": _installed_version("kornia"), "albumentations": _installed_version("albumentations")},
    }


def _format_speed(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _format_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"[{'green' if value >= 1 else 'red'}]{value:.2f}×[/]"


def bench_table(rows: Sequence[BenchRow], environment: dict[str, Any], size: int, batch_size: int, repeats: int) -> Table:
    """The rows as a rich table whose title and caption say what was measured and how."""
    device = f"{environment['device']} ({environment['device_name']})"
    table = Table(
        title=f"Images per second at {size}×{size}, batch {batch_size}, on {device}; median of {repeats}",
        title_justify="left",
        caption=(
            f"kornia: stock kornia on {environment['device']}; geometric ones move the mask too, the others take images only. "
            + ("albumentations: CPU, one process, one uint8 image and mask at a time. " if environment["versions"]["albumentations"] else "albumentations is not installed. ")
            + "—: no equivalent."
        ),
        caption_justify="left",
    )
    table.add_column("augmentation", overflow="fold")
    table.add_column("kind")
    for column in ("ours", "kornia", "albumentations", "ours ÷ kornia", "ours ÷ albumentations"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.label,
            row.kind,
            _format_speed(row.ours),
            _format_speed(row.kornia),
            _format_speed(row.albumentations),
            _format_ratio(row.ours_vs_kornia),
            _format_ratio(row.ours_vs_albumentations),
        )
    return table


def bench_json(rows: Sequence[BenchRow], environment: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The rows, settings and environment as a JSON-ready dict; speeds are images per second."""
    return {"settings": settings, "environment": environment, "rows": [row.as_json() for row in rows]}
