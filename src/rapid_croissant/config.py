"""Typed, validated configuration of a dataset build and of a training run."""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from rapid_croissant.dataset import schema
from rapid_croissant.errors import ConfigError

EXECUTORS = ("serial", "process", "dask")
#: Build profiles: ``full`` (the seed's full-frame tensors) or ``cutouts`` (tables + cutout store only).
PROFILES = ("full", "cutouts")
#: The cutout store's dtype unless one is given: float32 beside the full profile's tensors (the seed's
#: values); uint8 ([0, 1] x 255, rounded) for the cutout-first profile, whose store is its product: 4x
#: smaller, and its rounding (1/255/sqrt(12) of the ZScale range, RMS) far below the pixel noise
#: (BENCHMARKS.md, section Scale).
PROFILE_CUTOUT_DTYPE = {"full": "float32", "cutouts": "uint8"}
#: storage_options keys recorded in build_info.json by name only (their values may be secrets).
_SECRET_HINTS = ("key", "secret", "token", "password", "credential", "session")


def is_remote(location: str | Path) -> bool:
    """True for an fsspec URL with a non-local protocol (``s3://``, ``gs://``, ``https://``, ...)."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def parse_storage_options(value) -> dict:
    """``storage_options`` as a dict: a mapping (TOML table) or JSON text (``--storage-options``)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ConfigError(f"storage_options is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"storage_options must be a JSON object (a TOML table), got {value!r}")
    return dict(value)


def check_keys(keys: Iterable[str], known: Iterable[str], where: str) -> None:
    """ConfigError naming every key of ``keys`` not in ``known``, each with the closest known name."""
    known = tuple(known)
    problems = []
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            problems.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if problems:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(problems)}; known keys: {', '.join(known)}")


def read_toml(path: str | Path) -> dict:
    """A TOML file as a dict; ConfigError naming the file when it cannot be read or parsed."""
    try:
        return tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"config_path: cannot read {path}: {err}") from err


@dataclass(frozen=True)
class BuildConfig:
    """Options of ``rapid-croissant build`` and ``create_dataset.py`` (defaults follow the seed).

    match_radius: pixels within which a detection matches a truth source (seed: 4.0).
    merge_radius: pixels within which a ZOGY and an SFFT detection are the same candidate (mutual nearest).
    mag_limit: only truth brighter than this AB magnitude can make a detection real (prototype's MAG_LIM 26).
    min_truth_snr: also require this expected S/N of the truth source in the algorithm's difference (0: off).
    truth_origin: pixel origin of the truth files (RAPID/galsim: 1); subtracted to get 0-based positions.
    """

    input_dir: Path | str  # a local folder (Path) or an fsspec URL (str), see is_remote
    output_dir: Path
    match_radius: float = 4.0
    merge_radius: float = 1.5
    mag_limit: float = 26.0
    min_truth_snr: float = 0.0
    truth_origin: float = 1.0
    workers: int | None = None
    jobs: tuple[str, ...] | None = None
    full_images: bool = True
    overwrite: bool = False
    executor: str = "process"
    scheduler: str | None = None
    split_seed: int = 0
    cutouts: bool = False
    cutout_dtype: str | None = None  # None: the profile's default (PROFILE_CUTOUT_DTYPE)
    low_snr_flag: float = 5.0
    profile: str = "full"
    storage_options: dict = field(default_factory=dict)
    anon: bool = False
    follow_symlinks: bool = False
    prune: bool = False
    include_fading: bool = False

    @classmethod
    def from_dict(cls, values: Mapping, *, where: str = "options") -> BuildConfig:
        """A config from a mapping of option names (``match-radius`` or ``match_radius``); a misspelled
        name is a ConfigError that suggests the right one."""
        options = {str(k).replace("-", "_"): v for k, v in values.items()}
        check_keys(options, [f.name for f in fields(cls)], where)
        return cls(**options)

    @classmethod
    def from_toml(cls, path: str | Path, *, defaults: Mapping | None = None, **overrides) -> BuildConfig:
        """A config from a TOML file (keys at the top level or in a ``[build]`` table): ``defaults``, then
        the file's values, then ``overrides``."""
        data = read_toml(path)
        table = data["build"] if isinstance(data.get("build"), dict) else data
        check_keys([str(k).replace("-", "_") for k in table], [f.name for f in fields(cls)], str(path))
        return cls.from_dict({**(defaults or {}), **table, **overrides})

    def __post_init__(self):
        if str(self.input_dir).startswith("file://"):  # a local folder written as a URL
            object.__setattr__(self, "input_dir", str(self.input_dir)[len("file://") :])
        remote = is_remote(self.input_dir)
        object.__setattr__(self, "input_dir", str(self.input_dir) if remote else Path(self.input_dir))
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        for name in ("match_radius", "merge_radius"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0 pixels, got {getattr(self, name)}")
        if self.min_truth_snr < 0:
            raise ConfigError(f"min_truth_snr must be >= 0, got {self.min_truth_snr}")
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.executor not in EXECUTORS:
            raise ConfigError(f"executor must be one of {EXECUTORS}, got {self.executor!r}")
        if self.cutout_dtype is None:  # recorded as resolved (build_info.json, store.json, croissant.json)
            object.__setattr__(self, "cutout_dtype", PROFILE_CUTOUT_DTYPE.get(self.profile, "float32"))
        if self.cutout_dtype not in ("float32", "float16", "uint8"):
            raise ConfigError(f"cutout_dtype must be float32, float16 or uint8, got {self.cutout_dtype!r}")
        if self.profile not in PROFILES:
            raise ConfigError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if self.profile == "cutouts":  # the cutout store is made from the FITS planes, no tensor
            object.__setattr__(self, "full_images", False)
            object.__setattr__(self, "cutouts", True)
        if self.cutouts and not self.full_images and self.profile == "full":
            raise ConfigError(
                "cutouts need the full images: drop --no-full-images (or use --profile cutouts)"
            )
        object.__setattr__(self, "storage_options", parse_storage_options(self.storage_options))
        if self.jobs is not None:
            object.__setattr__(self, "jobs", tuple(self.jobs))
        if not remote and self.input_dir.resolve() == self.output_dir.resolve():
            raise ConfigError("output_dir must differ from input_dir")

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def remote(self) -> bool:
        return is_remote(self.input_dir)

    def science_dict(self) -> dict:
        """The options that change the science of a job's outputs (part of each job's fingerprint)."""
        extra = {"profile": self.profile, "cutout_dtype": self.cutout_dtype} if self.profile != "full" else {}
        if self.include_fading:  # only when set: earlier fingerprints stay valid
            extra["include_fading"] = True
        return extra | {
            k: v
            for k, v in asdict(self).items()
            if k
            in (
                "match_radius",
                "merge_radius",
                "mag_limit",
                "min_truth_snr",
                "truth_origin",
                "full_images",
                "low_snr_flag",
                "follow_symlinks",
            )
        }

    def to_json_dict(self) -> dict:
        d = asdict(self)
        d["input_dir"], d["output_dir"] = str(self.input_dir), str(self.output_dir)
        d["storage_options"] = {
            k: ("<not recorded>" if any(h in k.lower() for h in _SECRET_HINTS) else v)
            for k, v in self.storage_options.items()
        }
        return d


# ------------------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------------------

#: Candidate sets a classifier can be trained on: one algorithm's detections, or their union ("both").
CANDIDATE_SETS = schema.CANDIDATE_SETS
#: Evaluation protocols (ml_evaluation.md §4.5): A native detections, B only candidates detected by both.
PROTOCOLS = ("A", "B")
MODELS = ("cnn", "gbt")
THRESHOLD_RULES = ("f1", "fnr5")
MONITORS = ("val_loss", "val_ap")
#: Where a CNN trains and scores; "auto" takes CUDA, then Apple's MPS, then the CPU.
DEVICES = ("auto", "cpu", "cuda", "mps")


def did_you_mean(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string when none is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved resolved in the run's ``config.json``."""

    algorithm: str = "both"
    protocol: str = "A"
    model: str = "cnn"
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    seed: int = 0
    augment: bool = True  # random rotations/flips of the training cutouts
    threshold_rule: str = "f1"  # 'f1' (max F1 on val) or 'fnr5' (FNR = 5 % on val)
    monitor: str = "val_loss"  # early-stopping criterion of the CNN
    cutout_size: int = 64
    gbt_max_iter: int = 300
    num_threads: int = 2
    max_precompute_mb: int = 4096  # larger cutout sets are read lazily through CutoutDataset
    val_fallback: bool = True  # validate on held-out train jobs when the val split cannot be used
    device: str = "cpu"  # auto | cpu | cuda | mps (the CNN only; trees always run on the CPU)
    init: str = "auto"  # CNN start: auto | pretrained | scratch | a weights file (ml/weights.py)
    finetune_lr: float = 3e-4  # learning rate when starting from pretrained weights
    cross_features: bool = False  # zogy/sfft: also the other algorithm's features of each candidate

    def __post_init__(self):
        choices = {
            "algorithm": CANDIDATE_SETS,
            "protocol": PROTOCOLS,
            "model": MODELS,
            "threshold_rule": THRESHOLD_RULES,
            "monitor": MONITORS,
            "device": DEVICES,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(
                    f"{name} must be one of {allowed}, got {value!r}{did_you_mean(value, allowed)}"
                )
        for name in ("epochs", "batch_size", "cutout_size", "gbt_max_iter", "num_threads", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not self.lr > 0 or not self.finetune_lr > 0:
            raise ConfigError(f"lr and finetune_lr must be positive, got {self.lr!r}, {self.finetune_lr!r}")
        if not isinstance(self.init, str) or not self.init:
            raise ConfigError(f"init must be auto, pretrained, scratch or a weights file, got {self.init!r}")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")

    @classmethod
    def from_mapping(cls, values: dict, *, source: str = "config") -> TrainConfig:
        """A config from a dict (e.g. a JSON/TOML file); an unknown key is an error naming the closest key."""
        check_keys(values, [f.name for f in fields(cls)], source)
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> TrainConfig:
        """Read a JSON or TOML file of training options; ``overrides`` win over the file's values."""
        import json

        path = Path(path)
        if path.suffix == ".toml":
            values = read_toml(path)
        else:
            try:
                values = json.loads(path.read_text())
            except (OSError, ValueError) as err:
                raise ConfigError(f"{path}: cannot read training options: {err}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: training options must be a table/object of name = value")
        return cls.from_mapping({**values, **overrides}, source=str(path))
