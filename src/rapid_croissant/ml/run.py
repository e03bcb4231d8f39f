"""A training run's folder: the one place its file names are spelled.

``train`` writes config.json, the model, feature_stats.json, history.csv, predictions.parquet (val and test
scores) and metrics.json (validation numbers and the threshold only); ``evaluate`` adds evaluation.json and
the plots; ``score`` reads the model and writes nothing here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from rapid_croissant.errors import RapidCroissantError

__all__ = ["ComparisonFolder", "RunFolder"]

_MODEL_FILES = {"gbt": "model.pkl", "cnn": "model.pt"}


@dataclass(frozen=True)
class RunFolder:
    """Names and readers of the files of one run folder ``<runs>/<YYYYmmdd-HHMMSS>_<algorithm>_<model>/``."""

    path: Path

    CONFIG = "config.json"
    METRICS = "metrics.json"
    PREDICTIONS = "predictions.parquet"
    EVALUATION = "evaluation.json"
    FEATURE_STATS = "feature_stats.json"
    HISTORY = "history.csv"
    #: Plots written by ``evaluate``, by kind.
    PLOTS = {
        "roc": "roc.png",
        "scores": "score_hist.png",
        "gallery": "gallery.png",
        "completeness": "completeness.png",
        "reliability": "reliability.png",
    }
    #: What a finished training run must hold (the model file is checked by :meth:`model_file`).
    TRAINED = (CONFIG, METRICS, PREDICTIONS, FEATURE_STATS)

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def create(cls, run_root: str | Path, *, algorithm: str, model: str) -> RunFolder:
        """A new, empty, time-stamped run folder under ``run_root`` (``-2``, ``-3``... when the name is
        taken)."""
        root = Path(run_root)
        base = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}_{algorithm}_{model}"
        root.mkdir(parents=True, exist_ok=True)
        for k in range(1, 1000):
            path = root / (base if k == 1 else f"{base}-{k}")
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue
        raise RapidCroissantError(f"{root}: could not create a run folder named {base}*")

    def file(self, name: str) -> Path:
        return self.path / name

    def model_file(self, model: str) -> Path:
        if model not in _MODEL_FILES:
            raise RapidCroissantError(f"{self.path}: unknown model kind {model!r} in {self.CONFIG}")
        return self.path / _MODEL_FILES[model]

    def check_trained(self) -> None:
        """Raise a one-line error naming what a finished training run lacks."""
        if not self.path.is_dir():
            raise RapidCroissantError(f"{self.path}: no such run folder")
        missing = [n for n in self.TRAINED if not (self.path / n).is_file()]
        if missing:
            raise RapidCroissantError(f"{self.path}: not a finished training run (missing {missing})")

    def _json(self, name: str) -> dict:
        path = self.path / name
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise RapidCroissantError(f"{path}: cannot read: {err}") from None

    def config(self) -> dict:
        return self._json(self.CONFIG)

    def metrics(self) -> dict:
        return self._json(self.METRICS)

    def feature_stats(self) -> dict:
        return self._json(self.FEATURE_STATS)

    def evaluation(self) -> dict:
        """evaluation.json, or an empty dict when the run was not evaluated."""
        return self._json(self.EVALUATION) if (self.path / self.EVALUATION).is_file() else {}

    def predictions(self, split: str | None = None) -> pd.DataFrame:
        frame = pd.read_parquet(self.path / self.PREDICTIONS)
        return frame if split is None else frame[frame["split"] == split].reset_index(drop=True)

    def write_json(self, name: str, obj) -> Path:
        from rapid_croissant.ml.data import write_json

        write_json(self.path / name, obj)
        return self.path / name


@dataclass(frozen=True)
class ComparisonFolder:
    """Names of what ``compare`` writes: comparison.json, comparison.md, the figures and the run folders."""

    path: Path

    JSON = "comparison.json"
    MARKDOWN = "comparison.md"

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def of(cls, path: str | Path) -> ComparisonFolder:
        """The folder of ``path``, given as the folder itself or as its comparison.json."""
        path = Path(path)
        return cls(path.parent if path.name == cls.JSON else path)

    @property
    def json(self) -> Path:
        return self.path / self.JSON

    @property
    def markdown(self) -> Path:
        return self.path / self.MARKDOWN

    def runs(self, protocol: str) -> Path:
        """Where the run folders of one protocol are created."""
        return self.path / "runs" / f"protocol_{protocol}"

    def figure(self, model: str, protocol: str) -> Path:
        return self.path / f"completeness_{model}_{protocol}.png"
