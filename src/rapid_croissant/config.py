"""Typed, validated configuration of a dataset build."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rapid_croissant.errors import ConfigError

EXECUTORS = ("serial", "process", "dask")


@dataclass(frozen=True)
class BuildConfig:
    """Options of ``create_dataset.py`` / ``rapid-croissant build`` (defaults follow the seed where it has one).

    match_radius: pixels within which a detection matches a truth source (seed: 4.0).
    merge_radius: pixels within which a ZOGY and an SFFT detection are the same candidate (mutual nearest).
    mag_limit: only truth brighter than this AB magnitude can make a detection real (prototype's MAG_LIM 26).
    min_truth_snr: also require this expected S/N of the truth source in the algorithm's difference (0: off).
    truth_origin: pixel origin of the truth files (RAPID/galsim: 1); subtracted to get 0-based positions.
    """

    input_dir: Path
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
    cutout_dtype: str = "float32"
    low_snr_flag: float = 5.0
    include_fading: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "input_dir", Path(self.input_dir))
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
        if self.cutout_dtype not in ("float32", "float16", "uint8"):
            raise ConfigError(f"cutout_dtype must be float32, float16 or uint8, got {self.cutout_dtype!r}")
        if self.cutouts and not self.full_images:
            raise ConfigError("cutouts need the full images: drop --no-full-images")
        if self.jobs is not None:
            object.__setattr__(self, "jobs", tuple(self.jobs))
        if self.input_dir.resolve() == self.output_dir.resolve():
            raise ConfigError("output_dir must differ from input_dir")

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def science_dict(self) -> dict:
        """The options that change the science of a job's outputs (part of each job's fingerprint)."""
        extra = {"include_fading": True} if self.include_fading else {}  # earlier fingerprints stay valid
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
            )
        }

    def to_json_dict(self) -> dict:
        d = asdict(self)
        d["input_dir"], d["output_dir"] = str(self.input_dir), str(self.output_dir)
        return d
