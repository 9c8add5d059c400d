"""What one training run produces: the record the store keeps and the report reads.

Plain dataclasses of plain values (floats, ints, strings, lists, dicts), so that a record
round-trips through JSON and SQLite unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RunStatus = Literal["running", "finished", "failed"]

BASELINE_AUGMENTATION = "none"
BASELINE_LOSS = "ce"
"""The baseline arm's plugin set: no augmentation, cross-entropy."""


def arm_name(augmentation: str, loss: str) -> str:
    """An arm's name, as the store, the report and every message write it: ``"elastic,grid | ce0.8+focal0.2"``."""
    return f"{augmentation} | {loss}"


@dataclass
class EpochRecord:
    """One epoch of one run: training loss and speed, then validation metrics."""

    epoch: int
    """0-based."""
    train_loss: float
    """Mean total loss over the epoch's steps."""
    loss_terms: dict[str, float]
    """Mean of each weighted loss term (unweighted value), by the term's spec text, e.g. ``{"ce": 0.71, "focal": 0.12}``."""
    val_miou: float
    val_pixel_accuracy: float
    val_per_image_miou: float
    seconds: float
    """Wall time of the training part of the epoch (validation excluded)."""
    images_per_second: float
    """Training images per second over the epoch."""
    data_ms_per_step: float
    """Batch gathering plus augmentation, milliseconds per step."""
    model_ms_per_step: float
    """Forward, loss, backward and optimizer step, milliseconds per step."""


@dataclass
class RunResult:
    """One (arm, seed) run, finished or failed.

    Metrics are those of the best epoch (highest validation mIoU). A failed run keeps the
    epochs it finished in ``history`` and has ``None`` metrics.
    """

    arm: str
    """The arm's name, ``"<augmentation> | <loss>"``."""
    augmentation: str
    loss: str
    seed: int
    status: RunStatus
    error: str | None = None
    """Why a failed run failed, one line (``"NaN loss at epoch 2, step 5"``, ``"CUDA out of memory ..."``)."""
    retryable: bool | None = None
    """For a failed run: whether running it again can succeed (a worker that was killed, CUDA out of memory),
    or it would fail the same way (a NaN loss, a plugin's exception). None where it was not recorded."""
    traceback: str | None = None
    """The full Python traceback of a failed run's exception, where it raised one (``augmentlab report DIR --run ARM:SEED``)."""
    best_epoch: int | None = None
    """Index into ``history`` (0 is the first epoch); messages count epochs from 1, as the progress lines do."""
    miou: float | None = None
    """Validation mIoU from the confusion matrix over the whole validation set."""
    pixel_accuracy: float | None = None
    per_image_miou: float | None = None
    """Mean over validation images of each image's mIoU (classes present in its prediction or truth)."""
    per_class_iou: list[float | None] = field(default_factory=list)
    """IoU of each class at the best epoch; None where the class is absent from both prediction and truth."""
    image_intersections: list[list[int]] = field(default_factory=list)
    """``[N_val][C]`` pixels of each validation image and class in both prediction and truth, at the best epoch."""
    image_unions: list[list[int]] = field(default_factory=list)
    """``[N_val][C]`` pixels in prediction or truth, at the best epoch. With the intersections, the
    paired bootstrap over validation images resamples exactly the dataset-level mIoU."""
    history: list[EpochRecord] = field(default_factory=list)
    train_seconds: float = 0.0
    """Wall time of training (all epochs, validation included)."""
    images_per_second: float = 0.0
    """Training images per second, over all epochs."""
    data_ms_per_step: float = 0.0
    model_ms_per_step: float = 0.0
    peak_memory_bytes: int | None = None
    """Peak CUDA memory allocated during the run; None on the CPU."""
    config: dict[str, Any] = field(default_factory=dict)
    """The resolved recipe, arm, seed, device and data of the run."""
    versions: dict[str, str] = field(default_factory=dict)
    """Versions of python, torch, augmentlab and the libraries and plugins that shaped the run."""

    @property
    def key(self) -> tuple[str, int]:
        return (self.arm, self.seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        values = dict(data)
        values["history"] = [EpochRecord(**epoch) for epoch in values.get("history", [])]
        return cls(**values)


@dataclass
class ArmInfo:
    """One arm as the store and the report see it."""

    name: str
    """``"<augmentation> | <loss>"``."""
    augmentation: str
    loss: str


RECIPE_ADDED_FIELDS: dict[str, Any] = {"arch": "deeplabv3plus", "schedule": "constant", "warmup_epochs": 0, "mirror_pairs": "none", "resize": "stretch", "eval_size": "train"}
"""Recipe fields added after 0.1, with the value every earlier ablation trained with: a stored recipe without one had it."""

ARCH_NAMES = {
    "deeplabv3plus": "DeepLabV3+", "deeplabv3": "DeepLabV3", "unet": "U-Net", "unetplusplus": "U-Net++", "fpn": "FPN",
    "pspnet": "PSPNet", "linknet": "LinkNet", "manet": "MAnet", "pan": "PAN", "upernet": "UPerNet",
}
"""How plans and reports name each recipe architecture."""


def size_text(image_size: Any) -> str:
    """``128px`` for a square size, ``96×128px`` (height × width) otherwise; a stored list reads the same."""
    if isinstance(image_size, (list, tuple)):
        return f"{image_size[0]}×{image_size[1]}px"
    return f"{image_size}px"


def recipe_words(recipe: dict[str, Any]) -> str:
    """``DeepLabV3+ resnet18 (weights none)``, then the schedule where it is not constant: the model line of plans and reports."""
    arch = recipe.get("arch", RECIPE_ADDED_FIELDS["arch"])
    text = f"{ARCH_NAMES.get(arch, arch)} {recipe.get('encoder', '?')} (weights {recipe.get('encoder_weights', '?')})"
    schedule, warmup = recipe.get("schedule", "constant"), recipe.get("warmup_epochs", 0)
    if schedule != "constant" or warmup:
        text += f", {schedule} lr" + (f" after {warmup} warm-up epoch{'s' if warmup != 1 else ''}" if warmup else "")
    native = recipe.get("eval_size", "train") == "native"
    text += ", scored at " + ("each image's own size" if native else "the training size")
    if recipe.get("resize", "stretch") == "fit":
        text += ", images fitted and padded"
    pairs = recipe.get("mirror_pairs", "none")
    if pairs not in ("none", "auto"):
        text += f", reflections swap {pairs.replace(':', '↔').replace(',', ', ')}"
    return text


DESIGNS = ("factorial", "each", "screen")
CORRECTIONS = ("holm", "bh", "none")
POOLINGS = ("pooled", "arm")


@dataclass
class AnalysisSettings:
    """How an ablation's runs are compared and, with sequential seeds, how many are trained.

    Stored with the ablation, so that ``augmentlab report DIR`` reaches the verdicts the
    ablation did. None of it changes what a run trains: it may change when a folder resumes.
    """

    design: str = "factorial"
    """``factorial`` (every augmentation level with every loss level), ``each`` (members of a set alone too) or ``screen``."""
    factors: list[str] = field(default_factory=list)
    """A screening design's factors: each ``--aug`` member, then the ``--loss`` spec if one was given."""
    levels: dict[str, list[int]] = field(default_factory=dict)
    """A screening design's runs: arm name → each factor's level, +1 present, −1 absent."""
    first_seeds: int | None = None
    """Seeds every arm trains first; None: every planned seed (a fixed design)."""
    max_seeds: int | None = None
    """With sequential seeds, the most seeds a comparison may get; None: fixed."""
    correction: str = "holm"
    """Multiplicity correction over the family of verdicts: ``holm``, ``bh`` or ``none``."""
    margin: float | None = None
    """Equivalence margin δ in mIoU: an interval inside ±δ is *no effect beyond ±δ*."""
    pooling: str = "pooled"
    """``pooled``: residual variance over all arms, seed as block; ``arm``: each comparison's own paired differences."""
    confidence: float = 0.95
    read_at_seeds: list[int] = field(default_factory=list)
    """Seed counts at which every run of a fixed design had ended, so its report could be read,
    before a later invocation added seeds. A verdict read after seeds were added because an
    earlier one was open is not covered by a fixed design's α, and the report says so."""

    @property
    def alpha(self) -> float:
        return 1 - self.confidence

    @property
    def looks(self) -> int:
        """Planned looks: one for a fixed design, ``max_seeds − first_seeds + 1`` for sequential seeds."""
        return 1 if self.max_seeds is None or self.first_seeds is None else self.max_seeds - self.first_seeds + 1


@dataclass
class AblationInfo:
    """What an output folder's runs share: the plan and the data, written once and checked on resume."""

    name: str
    """The output folder's name."""
    class_names: list[str]
    """Index 0 is background."""
    arms: list[ArmInfo]
    """In plan order; the baseline ``none | ce`` first."""
    seeds: list[int]
    recipe: dict[str, Any]
    """The fixed recipe (plan.Recipe as a dict)."""
    device: str
    preset: str
    data: str
    """Where the data came from, and its content key (two folders with different data never mix)."""
    ignore_index: int = 255
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)

    def __post_init__(self) -> None:
        if self.analysis.first_seeds is None:  # a fixed design, as every folder before sequential seeds was
            self.analysis.first_seeds = len(self.seeds)

    @property
    def baseline(self) -> ArmInfo:
        return self.arms[0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AblationInfo:
        values = dict(data)
        values["arms"] = [ArmInfo(**arm) for arm in values["arms"]]
        values["analysis"] = AnalysisSettings(**values.get("analysis", {}))
        return cls(**values)
