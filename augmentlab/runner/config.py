"""Every setting of an ablation, once: :class:`AblationConfig`.

A setting is a field with its type, default and one-line help. The command line parses its
options into a config (``augmentlab ablate --epochs 2`` is ``with_overrides(epochs=2)``), a TOML
file reads into one (:meth:`AblationConfig.from_toml`), and the resolved ablation is written back
as ``config.toml`` (:meth:`AblationConfig.to_toml`), which reads into the same config again.

In a config file the recipe fields sit in a ``[recipe]`` table and explicit arms in
``[[arms]]`` tables; every other field is a top-level key. Errors name the field; a value read
from a file is named by the file and its key there, so the message points at what to edit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from augmentlab.errors import AugmentlabError, FieldError, Param, SpecError
from augmentlab.registry.spec import suggest
from augmentlab.results.records import CORRECTIONS, DESIGNS, POOLINGS, AnalysisSettings
from augmentlab.runner.executors.base import DataRequest
from augmentlab.runner.plan import (
    Arm,
    ScreeningDesign,
    check_run_name,
    explicit_arms,
    factorial_arms,
    screening_design,
)
from augmentlab.runner.recipe import (
    AUTOTUNED_PRESETS,
    RECIPE_FIELDS,
    Recipe,
    build_recipe,
    resolve_device,
)
from augmentlab.tracking.base import Sink, build_sinks

RECIPE_SECTION = "recipe"
ARM_KEYS = ("aug", "loss")


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_size(value: Any) -> Any:
    """``128`` or ``"128"`` → 128; ``"96x128"``, ``"96×128"`` or ``[96, 128]`` → (96, 128), height first, and
    a square H×H → H; anything else is returned as given, for the check to name."""
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
        if all(part.strip().isdigit() for part in parts) and len(parts) in (1, 2):
            value = tuple(int(part) for part in parts)
    if isinstance(value, (list, tuple)) and all(_is_whole(item) for item in value):
        if len(value) == 1 or (len(value) == 2 and value[0] == value[1]):
            return value[0]
        return tuple(value)
    return value


def setting(default: Any, help: str, kind: str, *, section: str | None = None) -> Any:
    """A field of :class:`AblationConfig`: its default, its help (the CLI shows it), its kind (what values it takes) and its TOML table."""
    return field(default=default, metadata={"help": help, "kind": kind, "section": section})


_KINDS: dict[str, tuple[str, Any]] = {
    # kind: (what the message says it must be, predicate)
    "int": ("a whole number", _is_whole),
    "number": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "text": ("text", lambda v: isinstance(v, str)),
    "path": ("a path", lambda v: isinstance(v, Path)),
    "texts": ("a list of text", lambda v: isinstance(v, tuple) and all(isinstance(item, str) for item in v)),
    "size": ("a training size N or H×W (e.g. 128 or 96x128)", lambda v: _is_whole(v) or (isinstance(v, tuple) and len(v) == 2 and all(_is_whole(i) for i in v))),
    "ints": ("a list of whole numbers", lambda v: isinstance(v, tuple) and all(isinstance(i, int) and not isinstance(i, bool) for i in v)),
    "arms": ("a list of tables with keys aug and loss", lambda v: isinstance(v, tuple) and all(isinstance(i, Mapping) for i in v)),
    "track": ("a table of sink tables, such as [track.mlflow] with its options", lambda v: isinstance(v, Mapping) and all(
        isinstance(name, str) and isinstance(options, Mapping) and all(isinstance(key, str) for key in options) for name, options in v.items())),
}


@dataclass(frozen=True)
class AblationConfig:
    """Every setting of one ablation: which arms, which seeds, the recipe, the data, and where and how it runs.

    ``None`` means "from the preset" for the recipe fields, and "not given" elsewhere. Lists may
    be given as lists or tuples; paths as ``str`` or :class:`~pathlib.Path`. Nothing is checked
    at construction: :meth:`validate` checks everything (and :func:`augmentlab.run_ablation`
    calls it), naming the field of each problem.
    """

    # What is compared.
    aug: tuple[str, ...] = setting((), "Augmentation sets such as 'elastic,grid' or 'elastic(alpha=2),hflip'; `none` is always an arm.", "texts")
    loss: tuple[str, ...] = setting((), "Loss specs such as 'ce0.8+focal0.2'; `ce` is always an arm.", "texts")
    each: bool = setting(False, "Also try each member of a comma set alone (the same as design each).", "bool")
    arms: tuple[Mapping[str, str], ...] = setting((), "Arms listed one by one, each with aug and loss (instead of aug and loss lists).", "arms")
    design: str = setting(
        "factorial",
        "factorial: every augmentation level with every loss level; each: also each member of a comma set alone; "
        "screen: every member of the one aug set (and the one loss spec) as a factor of a Plackett–Burman screening design.",
        "text",
    )
    foldover: bool = setting(False, "With design screen, add every run's mirror, so that main effects are free of two-factor interactions.", "bool")
    seeds: int = setting(2, "Train every arm with seeds 0..N-1 (with max_seeds: the first look's seeds).", "int")
    max_seeds: int | None = setting(
        None, "Sequential seeds: after each look, a comparison still undecided gets one more seed, up to this many.", "int"
    )
    margin: float | None = setting(None, "Equivalence margin in mIoU: an interval inside ±margin is 'no effect beyond ±margin'.", "number")
    correction: str = setting("holm", "Multiplicity correction over the report's verdicts: holm, bh (Benjamini–Hochberg) or none.", "text")
    pooling: str = setting("pooled", "pooled: residual variance over all arms, seed as block; arm: each comparison's own paired seeds.", "text")
    # The recipe: None takes the preset's value.
    preset: str | None = setting(None, "Recipe defaults: demo or standard (default: demo on CPU, standard on CUDA).", "text")
    epochs: int | None = setting(None, "Training epochs per run (default: from the preset).", "int", section=RECIPE_SECTION)
    image_size: int | tuple[int, int] | None = setting(
        None, "Training size: N or H×W (height first), multiples of 16 (default: from the preset).", "size", section=RECIPE_SECTION
    )
    eval_size: str | None = setting(None, "Where validation is scored: native (each image's own size, as published numbers are) or train (the training size) (default: native).", "text", section=RECIPE_SECTION)
    resize: str | None = setting(None, "How images reach the training size: stretch, or fit (keep the aspect ratio, pad with ignore_index) (default: stretch).", "text", section=RECIPE_SECTION)
    batch_size: int | None = setting(None, "Images per step (default: from the preset).", "int", section=RECIPE_SECTION)
    lr: float | None = setting(None, "Adam learning rate (default: from the preset).", "number", section=RECIPE_SECTION)
    encoder: str | None = setting(None, "segmentation_models_pytorch encoder (default: from the preset).", "text", section=RECIPE_SECTION)
    encoder_weights: str | None = setting(None, "Encoder initialisation: imagenet, none or a weights file (default: from the preset).", "text", section=RECIPE_SECTION)
    weight_decay: float | None = setting(None, "Adam weight decay (default: from the preset).", "number", section=RECIPE_SECTION)
    autocast: str | None = setting(None, "Mixed precision on CUDA: none, bf16 or fp16 (default: from the preset).", "text", section=RECIPE_SECTION)
    arch: str | None = setting(None, "segmentation_models_pytorch architecture: deeplabv3plus, deeplabv3, unet, unetplusplus, fpn, … (default: deeplabv3plus).", "text", section=RECIPE_SECTION)
    schedule: str | None = setting(None, "Learning rate schedule, per step: constant, poly or cosine (default: constant).", "text", section=RECIPE_SECTION)
    warmup_epochs: int | None = setting(None, "Epochs of linear learning-rate warm-up before the schedule (default: 0).", "int", section=RECIPE_SECTION)
    mirror_pairs: str | None = setting(None, "Class pairs a reflection swaps: auto (names that differ by left/right), none, or A:B,C:D (default: auto).", "text", section=RECIPE_SECTION)
    # The data.
    data: Path | None = setting(None, "A COCO json, or an image folder with masks (default: the built-in demo data).", "path")
    val: Path | None = setting(None, "Validation data: a COCO json, or an image folder with val_masks.", "path")
    images: Path | None = setting(None, "Folder of a COCO json's images (default: beside the json).", "path")
    val_images: Path | None = setting(None, "Folder of the val COCO json's images, when they are not with the train images (default: images).", "path")
    masks: Path | None = setting(None, "Folder of index-PNG masks matching data's images by file stem.", "path")
    val_masks: Path | None = setting(None, "Masks of the val image folder.", "path")
    # 0.2 is augmentlab.data.loading.DEFAULT_VAL_SPLIT (not imported: this module reads without torch).
    val_split: float = setting(0.2, "Without val: the seeded share of data held out for validation.", "number")
    ignore_index: int = setting(255, "Mask value of pixels without a label (void).", "int")
    classes: tuple[str, ...] | None = setting(None, "Class names of a folder dataset, background first; with mask_colours, the rows of its table to keep (the others are void).", "texts")
    mask_colours: Path | None = setting(
        None, "Colour table of a folder dataset whose masks are RGB pictures: a CSV name,r,g,b, one row per class in index order (CamVid's class_dict.csv).", "path"
    )
    strict: bool = setting(False, "Treat skippable data problems (degenerate polygons, unmatched files) as errors.", "bool")
    # Where and how it runs: these change how fast runs train, never what they train.
    device: str = setting("auto", "Training device: auto, cpu or cuda.", "text")
    out: Path = setting(Path("runs"), "Folder that holds one sub-folder per ablation.", "path")
    name: str | None = setting(None, "Sub-folder name (default: derived from the plan, so the same command resumes).", "text")
    compile: bool = setting(False, "torch.compile the model (slower start, faster steps on a GPU).", "bool")
    cudnn_benchmark: bool | None = setting(
        None,
        "On CUDA, have cuDNN time its algorithms for each convolution once per process and keep the fastest "
        "(default: on for the standard preset, off for demo, whose runs train for less time than the timing takes).",
        "bool",
    )
    parallel: int = setting(1, "Train K runs at once in separate processes on each device (small models leave a large GPU idle).", "int")
    devices: tuple[int, ...] | None = setting(None, "CUDA devices to spread runs over, one run per device at a time (times parallel).", "ints")
    executor: str = setting("local", "local: this machine (sequential, or parallel/devices); ray: a Ray cluster (pip install 'augmentlab[ray]').", "text")
    address: str | None = setting(None, "Ray cluster to join with executor ray (default: auto, or a local Ray if none runs).", "text")
    gpus_per_run: float | None = setting(None, "GPUs each run asks Ray for (default: 1 with device cuda, else 0).", "number")
    cpus_per_run: float | None = setting(None, "CPUs each run asks Ray for (default: 1).", "number")
    cache_memory: float | None = setting(
        None, "Most device memory in GiB the decoded dataset may take; over it, batches come from pinned host memory (default on CUDA: half the free memory).", "number"
    )
    host_memory: float | None = setting(
        None, "Most host memory in GiB the decoded dataset may take in each training process; over it, a split is streamed from disk "
        "(default: half the memory this process may still take, within its cgroup's limit, shared by the parallel workers).", "number"
    )
    track: Mapping[str, Mapping[str, Any]] | None = setting(
        None, "Result sinks the runs also go to, by name, each with its options: ['mlflow'] or {'mlflow': {'experiment': 'waste'}} ([track.mlflow] in a file).", "track"
    )
    sources: Mapping[str, tuple[str, str]] = field(default_factory=dict, compare=False, repr=False)
    """Where each value read from a file came from: field name → (file, key as the file spells it)."""

    def __post_init__(self) -> None:
        coerced: dict[str, Any] = {}
        for spec in _fields():
            value = getattr(self, spec.name)
            kind = spec.metadata["kind"]
            if kind == "path" and isinstance(value, str):
                coerced[spec.name] = Path(value)
            elif kind in ("texts", "ints", "arms") and isinstance(value, list):
                coerced[spec.name] = tuple(value)
            elif kind == "texts" and spec.name in ("aug", "loss") and isinstance(value, str):
                coerced[spec.name] = (value,)
            elif kind == "size" and value is not None:
                coerced[spec.name] = parse_size(value)
            elif kind == "track" and isinstance(value, (str, list, tuple)):
                names = (value,) if isinstance(value, str) else value  # track=["mlflow"]: sinks at their defaults
                coerced[spec.name] = {name: {} for name in names} if all(isinstance(name, str) for name in names) else value
        for name, value in coerced.items():
            object.__setattr__(self, name, value)

    # --- in and out ---------------------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path) -> AblationConfig:
        """Read a config file: top-level settings, a ``[recipe]`` table, ``[[arms]]`` tables.

        Raises:
            AugmentlabError: the file is missing or not TOML, or holds an unknown key or a value of the wrong kind.
        """
        path = Path(path)
        if path.is_dir():
            raise AugmentlabError(f"config file {path} is a folder; give the path of a .toml file")
        if not path.is_file():
            raise AugmentlabError(f"config file {path} does not exist")
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise AugmentlabError(f"config file {path} is not valid TOML: {error}") from None
        except OSError as error:
            raise AugmentlabError(f"config file {path} cannot be read: {error.strerror or error}") from None
        return cls._from_document(document, str(path))

    @classmethod
    def _from_document(cls, document: dict[str, Any], source: str) -> AblationConfig:
        top_level = [spec.name for spec in _fields() if spec.metadata["section"] is None]
        values: dict[str, Any] = {}
        sources: dict[str, tuple[str, str]] = {}
        for key, value in document.items():
            if key == RECIPE_SECTION:
                if not isinstance(value, dict):
                    raise AugmentlabError(f"{source}: recipe must be a table, [recipe], got {value!r}")
                for recipe_key, recipe_value in value.items():
                    if recipe_key in top_level:
                        raise AugmentlabError(f"{source}: {recipe_key!r} is not a recipe field; set it at the top of the file, before [recipe]")
                    if recipe_key not in RECIPE_FIELDS:
                        hint = suggest(recipe_key, list(RECIPE_FIELDS)) or ";"
                        raise AugmentlabError(f"{source}: unknown recipe field {recipe_key!r}{hint} valid fields: {', '.join(RECIPE_FIELDS)}")
                    values[recipe_key] = recipe_value
                    sources[recipe_key] = (source, f"[recipe] {recipe_key}")
            elif key in top_level:
                values[key] = value
                sources[key] = (source, key)
            elif key in RECIPE_FIELDS:
                raise AugmentlabError(f"{source}: {key!r} is a recipe field; set it under [recipe]")
            else:
                hint = suggest(key, top_level + [RECIPE_SECTION]) or ";"
                raise AugmentlabError(f"{source}: unknown key {key!r}{hint} valid keys: {', '.join(sorted(top_level + [RECIPE_SECTION]))}")
        # Kinds are checked by validate(), after the command line's overrides: a value it replaces is never used.
        return cls(**values, sources=sources)

    def to_toml(self, comment: str | None = None, *, explicit: Sequence[str] = ()) -> str:
        """The config as a TOML document that :meth:`from_toml` reads back into an equal config.

        Settings that differ from their defaults are written, and those named in ``explicit``
        even at their defaults, each where a config file keeps it; ``comment`` becomes a first
        ``#`` line.
        """
        document: dict[str, Any] = {}
        recipe: dict[str, Any] = {}
        for spec in _fields():
            value = getattr(self, spec.name)
            if value is None or spec.name == "arms" or (value == spec.default and spec.name not in explicit):
                continue
            plain = _toml_value(value)
            (recipe if spec.metadata["section"] == RECIPE_SECTION else document)[spec.name] = plain
        if recipe:
            document[RECIPE_SECTION] = recipe
        if self.arms:
            document["arms"] = [dict(arm) for arm in self.arms]
        text = tomli_w.dumps(document)
        return (f"# {comment}\n" if comment else "") + text

    def with_overrides(self, **values: Any) -> AblationConfig:
        """A copy with ``values`` set; a value of ``None`` leaves the setting as it is.

        Raises:
            AugmentlabError: a name that is no setting, with the closest ones.
        """
        known = [spec.name for spec in _fields()]
        for name in values:
            if name not in known:
                raise AugmentlabError(f"AblationConfig has no setting {name!r}{suggest(name, known) or ';'} settings: {', '.join(known)}")
        given = {name: value for name, value in values.items() if value is not None}
        sources = {name: where for name, where in self.sources.items() if name not in given}
        return dataclasses.replace(self, **given, sources=sources)

    def help(self, name: str) -> str:
        """The one-line help of setting ``name``."""
        return _field(name).metadata["help"]

    # --- checks -------------------------------------------------------------------------------

    def validate(self) -> None:
        """Check every setting that can be checked before any data is read or anything trains.

        The arms' specs are resolved against the loaded plugins, the recipe against the preset,
        and the device, executor and worker settings against this machine.

        Raises:
            AugmentlabError: the first problem found, naming its setting (a :class:`FieldError`),
                or the spec and the part of it that is wrong.
        """
        self.check_kinds()
        with self.located():
            self._check_values()
        self.worker_slots()
        self.ray_options()
        recipe = self.recipe()
        self.planned_arms()
        self.check_augmentations(recipe.size)
        self.result_sinks()

    def check_kinds(self) -> None:
        """Every setting holds a value of its kind (a whole number, a list of text, …) or None where None is allowed."""
        with self.located():
            for spec in _fields():
                value = getattr(self, spec.name)
                if value is None and (spec.default is None):
                    continue
                what, accepts = _KINDS[spec.metadata["kind"]]
                if not accepts(value):
                    raise FieldError(spec.name, f"must be {what}, got {value!r}")

    def validate_data(self) -> None:
        """Check the data settings only, for commands that read data and train nothing (``data stats``, ``preview``)."""
        self.check_kinds()
        with self.located():
            self._check_data_values()

    def _check_data_values(self) -> None:
        checks = [
            ("val_split", 0 < self.val_split < 1, "must be between 0 and 1 (exclusive)"),
            ("ignore_index", self.ignore_index >= 0, "must be ≥ 0"),
            ("classes", self.classes is None or (len(self.classes) > 0 and all(n.strip() and "," not in n for n in self.classes)),
             "must be class names without commas, background first"),
        ]
        for name, ok, problem in checks:
            if not ok:
                raise FieldError(name, f"{problem}, got {getattr(self, name)!r}")

    def _check_values(self) -> None:
        self._check_data_values()
        checks = [
            ("seeds", self.seeds >= 1, "must be ≥ 1"),
            ("parallel", self.parallel >= 1, "must be ≥ 1"),
            ("executor", self.executor in ("local", "ray"), "must be local or ray"),
            ("gpus_per_run", self.gpus_per_run is None or self.gpus_per_run >= 0, "must be ≥ 0"),
            ("cpus_per_run", self.cpus_per_run is None or self.cpus_per_run >= 0, "must be ≥ 0"),
            ("cache_memory", self.cache_memory is None or self.cache_memory >= 0, "must be ≥ 0 GiB"),
            ("host_memory", self.host_memory is None or self.host_memory >= 0, "must be ≥ 0 GiB"),
        ]
        choices = {"executor": ("local", "ray")}
        for name, ok, problem in checks:
            if not ok:
                value = getattr(self, name)
                close = suggest(str(value), list(choices[name])) if name in choices else ""
                raise FieldError(name, f"{problem}, got {value!r}{close}")
        if self.name is not None:
            check_run_name(self.name)
        if self.arms and (self.aug or self.loss):
            raise FieldError("arms", "are listed, and so are aug or loss lists; give one or the other")
        self._check_design()
        for index, entry in enumerate(self.arms):
            if set(entry) - set(ARM_KEYS) or not all(isinstance(value, str) for value in entry.values()):
                raise FieldError("arms", f"entry {index} must be a table with text keys aug and loss, got {dict(entry)!r}")

    def _check_design(self) -> None:
        choices = [
            ("design", self.design, DESIGNS),
            ("correction", self.correction, CORRECTIONS),
            ("pooling", self.pooling, POOLINGS),
        ]
        for name, value, allowed in choices:
            if value not in allowed:
                raise FieldError(name, f"must be one of {', '.join(allowed)}, got {value!r}{suggest(str(value), list(allowed))}")
        if self.each and self.design not in ("factorial", "each"):
            raise FieldError("each", f"is design each; it does not go with design {self.design}")
        if self.margin is not None and not 0 < self.margin < 1:
            # mIoU lies in [0, 1]: a margin of 1 or more makes every interval 'no effect beyond ±margin'.
            raise FieldError("margin", f"must be a number between 0 and 1 (an mIoU difference, such as 0.01), got {self.margin!r}")
        if self.max_seeds is not None:
            if self.seeds < 2:
                raise FieldError("seeds", f"must be 2 or more for sequential seeds (the first look measures the spread from seed to seed), got {self.seeds}")
            if self.max_seeds < self.seeds:
                raise FieldError("max_seeds", f"must be at least the first look's seeds ({self.seeds}), got {self.max_seeds}")
        if self.foldover and self.design != "screen":
            raise FieldError("foldover", f"only applies to a screening design (design screen), not design {self.effective_design()}")
        if self.design == "screen":
            if self.arms:
                raise FieldError("arms", "are listed one by one; design screen builds its runs from one aug set (and one loss spec)")
            if len(self.aug) != 1:
                raise FieldError("aug", f"must be one comma set with design screen, whose members are the factors, got {len(self.aug)} sets")
            if len(self.loss) > 1:
                raise FieldError("loss", f"takes one spec with design screen (it becomes one more factor, against ce), got {len(self.loss)}")

    def analysis_settings(self) -> AnalysisSettings:
        """How the runs will be compared: the design (with a screening design's factors and levels), seeds, correction, margin, pooling.

        Raises:
            AugmentlabError: a screening design that cannot be built (see :meth:`planned_arms`).
        """
        factors: list[str] = []
        levels: dict[str, list[int]] = {}
        if self.design == "screen":
            screen = self._screening_design()
            factors, levels = screen.factors, screen.levels
        return AnalysisSettings(
            design=self.effective_design(), factors=factors, levels=levels, first_seeds=self.seeds, max_seeds=self.max_seeds,
            correction=self.correction, margin=self.margin, pooling=self.pooling,
        )

    def _screening_design(self) -> ScreeningDesign:
        with self.located():
            return screening_design(self.aug[0], self.loss[0] if self.loss else None, self.foldover)

    def effective_design(self) -> str:
        """The design, ``each`` standing for ``design each``."""
        return "each" if self.each and self.design == "factorial" else self.design

    def seed_count(self) -> int:
        """The seeds a run may have: max_seeds with sequential seeds, else seeds."""
        return self.max_seeds or self.seeds

    @contextlib.contextmanager
    def located(self) -> Iterator[None]:
        """Name a value read from a file by its file and key there, in the errors raised inside.

        A :class:`FieldError` of a setting from a file is rewritten as that file's; so is a plain
        :class:`AugmentlabError` that names such a setting (the data loaders' ``classes names the
        classes of a folder dataset …``): its settings from the file read as their keys there,
        after the file's name, and the others stay parameters.
        """
        try:
            yield
        except FieldError as error:
            where = self.sources.get(error.field)
            if where is None or error.source is not None:
                raise
            raise error.located(*where) from None
        except AugmentlabError as error:
            named = [part.name for part in error.parts if isinstance(part, Param) and part.name in self.sources]
            if type(error) is not AugmentlabError or not named:
                raise
            source = self.sources[named[0]][0]
            parts = tuple(self.sources[part.name][1] if isinstance(part, Param) and part.name in self.sources else part for part in error.parts)
            raise AugmentlabError(f"{source}: ", *parts) from None

    # --- resolved settings --------------------------------------------------------------------

    def resolved_device(self) -> tuple[str, str]:
        """``(device, default preset)``: ``auto`` resolved, and ``cuda`` checked to exist.

        With the Ray executor and CUDA asked for (``device=cuda`` or ``gpus_per_run > 0``) the
        GPUs are the cluster's, not necessarily this machine's, so nothing is checked here.
        """
        if self.executor == "ray" and (self.device == "cuda" or (self.gpus_per_run or 0) > 0):
            return "cuda", "standard"
        with self.located():
            return resolve_device(self.device)

    def preset_name(self) -> str:
        return self.preset or self.resolved_device()[1]

    def recipe(self) -> Recipe:
        """The preset's recipe with the recipe fields that are set, checked.

        Raises:
            FieldError: an unknown preset, or a recipe value out of range.
        """
        with self.located():
            return build_recipe(self.preset_name(), {name: getattr(self, name) for name in RECIPE_FIELDS})

    def cudnn_benchmark_on(self) -> bool:
        return self.cudnn_benchmark if self.cudnn_benchmark is not None else self.preset_name() in AUTOTUNED_PRESETS

    def planned_arms(self) -> list[Arm]:
        """The arms, the baseline first: the factorial of aug and loss levels, or the listed arms.

        Raises:
            AugmentlabError: a spec that does not parse or names an unknown augmentation, loss or parameter.
        """
        from augmentlab.registry.api import resolve_augmentation_set, resolve_loss_spec

        for label, field_name, kind, spec in self._specs():
            with self._spec_errors(label, field_name):
                (resolve_augmentation_set if kind == "aug" else resolve_loss_spec)(spec)
        if self.arms:
            return explicit_arms(self.arms)
        if self.design == "screen":
            return self._screening_design().arms
        return factorial_arms(self.aug, self.loss, each=self.effective_design() == "each")

    def check_augmentations(self, size: tuple[int, int] | None = None) -> None:
        """Build every augmentation set once, so that every parameter check runs before any work.

        ``hflip(p=2)`` fails here, as it would at the first step of its arm's first run hours
        later. Building allocates nothing worth mentioning and runs no plugin code but constructors.
        With ``size`` (the training size; :meth:`validate` passes the recipe's) each set also runs once
        on a batch of that size on PyTorch's ``meta`` device, shapes without values, at no cost: a
        parameter the images cannot hold (``grid_dropout(unit_size_range=[2, 100])`` at 64 px)
        fails here too.

        Raises:
            AugmentlabError: a parameter value a transform rejects, naming the setting and the spec.
        """
        from augmentlab.augment.pipeline import build_augmentation

        for label, field_name, kind, spec in self._specs():
            if kind == "aug":
                with self._spec_errors(label, field_name):
                    augmentation = build_augmentation(spec, ignore_index=self.ignore_index)
                    if size is not None:
                        _check_fits(augmentation, spec, size)

    def check_losses(self, num_classes: int) -> None:
        """Build every loss spec once for ``num_classes``, so that every parameter check runs before any work.

        Raises:
            AugmentlabError: a parameter value a loss rejects (``focal(gamma=abc)``, a class weight
                list of the wrong length), naming the setting and the spec.
        """
        from augmentlab.losses.combo import build_loss

        frequencies = [1.0] * num_classes  # the training set's counts only change the values of auto weights
        for label, field_name, kind, spec in self._specs():
            if kind == "loss":
                with self._spec_errors(label, field_name):
                    build_loss(spec, num_classes, self.ignore_index, frequencies)

    def _specs(self) -> list[tuple[str, str, str, str]]:
        """``(label, setting, kind, spec)`` of every spec the user wrote: ``aug``/``loss`` lists, or each ``[[arms]]`` entry's."""
        if self.arms:
            return [(f"arms[{index}].{key}", "arms", key, entry[key]) for index, entry in enumerate(self.arms) for key in ARM_KEYS if key in entry]
        return [("aug", "aug", "aug", spec) for spec in self.aug] + [("loss", "loss", "loss", spec) for spec in self.loss]

    @contextlib.contextmanager
    def _spec_errors(self, label: str, field_name: str) -> Iterator[None]:
        """A SpecError as the error of the setting that holds the spec, and of the file it came from."""
        try:
            yield
        except SpecError as error:
            where = self.sources.get(field_name)
            raise (error.for_setting(field_name) if where is None else error.for_setting(label, where[0])) from None

    def result_sinks(self) -> list[tuple[str, Sink]]:
        """A sink for each entry of ``track``, built (so checked: its name, options and package) but not yet told anything.

        Raises:
            FieldError: an unknown sink or option, a bad value, or a sink whose package is not installed.
        """
        with self.located():
            return build_sinks(self.track)

    def worker_slots(self) -> list[str]:
        """The device of each run at once: ``parallel`` copies of each of ``devices`` (or of the training device)."""
        device = self.resolved_device()[0]
        if self.devices is None:
            return [device] * self.parallel
        with self.located():
            if device != "cuda":
                raise FieldError("devices", f"need CUDA devices, but the training device is {device}; drop devices or set device to cuda")
            import torch

            count = torch.cuda.device_count()
            wrong = [index for index in self.devices if not 0 <= index < count]
            if wrong or len(set(self.devices)) != len(self.devices):
                raise FieldError("devices", f"{list(self.devices)}: this machine has CUDA devices 0..{count - 1}; list each once")
        return [f"cuda:{index}" for index in self.devices for _ in range(self.parallel)]

    def ray_options(self) -> dict[str, Any] | None:
        """The Ray executor's settings, or None for the local executor; Ray settings without the Ray executor are an error."""
        with self.located():
            if self.executor == "local":
                for name in ("address", "gpus_per_run", "cpus_per_run"):
                    if getattr(self, name) is not None:
                        raise FieldError(name, "goes with executor ray")
                return None
            import importlib.util

            if importlib.util.find_spec("ray") is None:
                raise FieldError("executor", "is ray, which is not installed; pip install 'augmentlab[ray]'")
            if self.parallel > 1 or self.devices is not None:
                raise FieldError("parallel", "and devices are for the local executor; with executor ray, Ray places runs by gpus_per_run and cpus_per_run")
        device = self.resolved_device()[0]
        gpus = (1.0 if device == "cuda" else 0.0) if self.gpus_per_run is None else float(self.gpus_per_run)
        return {"address": self.address, "gpus_per_run": gpus, "cpus_per_run": 1.0 if self.cpus_per_run is None else float(self.cpus_per_run)}

    def dataset_arguments(self, *, absolute: bool = False) -> dict[str, Any]:
        """The keyword arguments of :func:`augmentlab.load_dataset` (and ``load_splits``) besides the data paths and size."""
        where = _absolute if absolute else (lambda path: path)
        return {
            "images": where(self.images), "masks": where(self.masks), "ignore_index": self.ignore_index,
            "classes": None if self.classes is None else list(self.classes), "strict": self.strict,
            "mask_colours": where(self.mask_colours),
        }

    def split_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`augmentlab.data.load_splits`, paths as given."""
        return {"val": self.val, "val_images": self.val_images, "val_masks": self.val_masks, "val_split": self.val_split, **self.dataset_arguments()}

    def data_request(self, plugin_options: Mapping[str, Any] | None = None) -> DataRequest:
        """How any process loads this ablation's data, with absolute paths (workers on a cluster need them on a shared filesystem).

        Args:
            plugin_options: the driver's ``load_plugins`` keyword arguments, for workers to load the same plugins.
        """
        recipe = self.recipe()
        budget = None if self.cache_memory is None else int(self.cache_memory * 2**30)
        # Each local worker decodes its own copy, so the automatic budgets are shared among those on
        # one device and on this machine; a Ray worker's machine is its own, with one copy each.
        slots = [self.resolved_device()[0]] if self.ray_options() is not None else self.worker_slots()
        return DataRequest(
            data=_absolute(self.data),
            val=_absolute(self.val),
            val_images=_absolute(self.val_images),
            val_masks=_absolute(self.val_masks),
            val_split=self.val_split,
            options={**self.dataset_arguments(absolute=True), "resize": recipe.resize},
            size=recipe.size,
            plugin_options=dict(plugin_options or {}),
            memory_budget_bytes=budget,
            host_memory_bytes=None if self.host_memory is None else int(self.host_memory * 2**30),
            device_copies=max(slots.count(slot) for slot in slots),
            host_copies=len(slots),
            native_eval=recipe.eval_size == "native",
        )


def _fields() -> tuple[dataclasses.Field, ...]:
    return tuple(spec for spec in dataclasses.fields(AblationConfig) if spec.name != "sources")


def _field(name: str) -> dataclasses.Field:
    return next(spec for spec in _fields() if spec.name == name)


def _check_fits(augmentation: Any, spec: str, size: tuple[int, int]) -> None:
    """Raise SpecError where ``augmentation`` rejects a batch of ``size`` with a ValueError (a parameter check),
    and the TransformOutputError of a transform that returns the wrong dtypes or shapes.

    Anything else it raises on ``meta`` (an operator without a meta kernel, a value read on the
    host) says nothing about the parameters, and is left to the real run.
    """
    import torch

    from augmentlab.augment.pipeline import TransformOutputError, rejected_batch
    from augmentlab.tensors import raised_on_meta

    images = torch.zeros(2, 3, *size, device="meta")
    masks = torch.zeros(2, *size, dtype=torch.int64, device="meta")
    with torch.no_grad():
        error = raised_on_meta(lambda: augmentation(images, masks))
    if isinstance(error, TransformOutputError):  # names the transform that broke the contract, as the run would
        raise error from None
    if isinstance(error, ValueError):
        raise rejected_batch(error, spec, f", at the training size {size[0]}×{size[1]}") from None


def _absolute(path: Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def _toml_value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _toml_value(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_toml_value(item) for item in value]
    return value


def _settings_doc() -> str:
    """The settings and their help, as ``help(AblationConfig)`` shows them: the same words as the options' help."""
    lines = ["", "", "Settings (``AblationConfig().help(name)`` gives one):", ""]
    for spec in _fields():
        lines.append(f"    {spec.name}: {spec.metadata['help']}")
    return "\n".join(lines)


AblationConfig.__doc__ = (AblationConfig.__doc__ or "") + _settings_doc()
