"""Score every candidate of a dataset with a trained run: what a survey does after training.

``score_dataset(run, dataset)`` selects the candidates the run's model can see (its algorithm and protocol,
whatever their label: data without truth have label -1), checks that the dataset has every feature the
run was trained on, scores them with the saved model and writes one Parquet table: candidate_id, jid,
split, label, score, ``probability`` (calibrated on val by ``evaluate``) and ``predicted`` (1 when
score >= the run's threshold, chosen on val). With ``tta`` the CNN's score is its mean over the 8 dihedral
views. The file carries the run and threshold in its Parquet metadata; an existing file is replaced only
when an earlier ``score`` wrote it.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant.dataset import open_dataset
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.calibration import apply_calibration
from rapid_croissant.ml.data import feature_matrix, select_candidates
from rapid_croissant.ml.run import RunFolder

__all__ = ["METADATA_KEY", "required_columns", "score_dataset"]

log = logging.getLogger(__name__)

#: Parquet metadata key that marks a file as written by ``score`` (and records the run and threshold).
METADATA_KEY = b"rapid_croissant.score"


def required_columns(feature_names: list[str]) -> list[str]:
    """Candidate columns the scaled features come from (``<alg>_missing`` is derived from detected_by)."""
    return [n for n in feature_names if not n.endswith("_missing")]


def _check_features(candidates: pd.DataFrame, stats: dict, where: Path) -> None:
    missing = [c for c in required_columns(stats["names"]) if c not in candidates.columns]
    if missing:
        raise RapidCroissantError(
            f"{where}: the run was trained on features this dataset lacks: {', '.join(missing)}"
        )


def _predict_gbt(run: RunFolder, X: np.ndarray) -> np.ndarray:
    with open(run.model_file("gbt"), "rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - the project's own run folder
    return model.predict_proba(X)[:, 1] if len(X) else np.empty(0)


def predict_cnn(run: RunFolder, config: dict, rows, X, stats, dataset_dir: Path, *, device: str, tta: bool):
    """CNN probabilities of ``rows``; with ``tta`` the mean over the 8 dihedral views (ml/tta.py)."""
    import torch
    from scipy.special import expit

    from rapid_croissant.ml.device import resolve_device
    from rapid_croissant.ml.loader import input_channels, make_dataloader
    from rapid_croissant.ml.models import build_cnn, predict_logits
    from rapid_croissant.ml.train import check_images

    check_images(dataset_dir, rows)
    algorithm = config["algorithm"]
    model = build_cnn(in_channels=len(input_channels(algorithm)), n_features=X.shape[1])
    model.load_state_dict(torch.load(run.model_file("cnn"), map_location="cpu", weights_only=True))
    target = resolve_device(device)
    if target.type != "cpu":
        model = model.to(target)
    loader = make_dataloader(
        dataset_dir,
        rows,
        X,
        np.zeros(len(rows), dtype=np.float32),
        algorithm=algorithm,
        feature_stats=stats,
        size=config["cutout_size"],
        batch_size=config["batch_size"],
        max_in_memory_mb=config["max_precompute_mb"],
    )
    if tta:
        from rapid_croissant.ml.tta import predict_proba_dihedral

        return predict_proba_dihedral(model, loader, device=target)
    return expit(predict_logits(model, loader, device=target))


def _output_path(run: RunFolder, layout, output: str | Path | None) -> Path:
    path = Path(output) if output else layout.scores(run.path.name)
    if path.exists():
        try:
            ours = METADATA_KEY in (pq.read_schema(path).metadata or {})
        except (OSError, pa.ArrowInvalid):
            ours = False
        if not ours:
            raise RapidCroissantError(f"{path}: exists and was not written by `score`; not overwriting it")
    return path


def scoring_setup(run: RunFolder, tta: bool | None) -> tuple[bool, float, dict | None]:
    """(tta, threshold, calibration map) for scoring with ``run``: follow its evaluation when ``tta`` is None.

    The threshold of dihedral-averaged scores and every calibration map are chosen on val by ``evaluate``
    (evaluation.json's ``postprocess``); without an evaluation the raw scores use train's threshold.
    """
    post = run.evaluation().get("postprocess", {})
    tta = bool(post.get("tta", False)) if tta is None else bool(tta)
    if tta and run.config()["model"] != "cnn":
        raise RapidCroissantError(f"{run.path}: dihedral averaging (--tta) needs a CNN run")
    if tta and not post.get("tta"):
        raise RapidCroissantError(
            f"{run.path}: no threshold for dihedral-averaged scores; "
            "run `rapid-croissant evaluate --tta` first"
        )
    threshold = float(post["threshold"]) if tta else float(run.metrics()["threshold"])
    calibration = post.get("calibration") if bool(post.get("tta", False)) == tta else None
    return tta, threshold, calibration


def score_dataset(
    run_dir: str | Path,
    dataset_dir: str | Path,
    *,
    output: str | Path | None = None,
    device: str = "cpu",
    tta: bool | None = None,
) -> Path:
    """Score the dataset's candidates with the run's model; return the Parquet file written.

    ``tta`` None follows the run's evaluation (dihedral averaging when ``evaluate --tta`` chose it). The
    ``probability`` column is the calibrated P(real) from the evaluation's map (NaN without one).
    """
    run = RunFolder(run_dir)
    run.check_trained()
    config, stats = run.config(), run.feature_stats()
    tta, threshold, calibration = scoring_setup(run, tta)
    dataset = open_dataset(dataset_dir)
    path = _output_path(run, dataset.layout, output)
    candidates = dataset.candidates
    _check_features(candidates, stats, dataset.root)
    rows = select_candidates(
        candidates, algorithm=config["algorithm"], protocol=config["protocol"], labelled_only=False
    )
    X, _, _ = feature_matrix(rows, algorithm=config["algorithm"], stats=stats)
    if config["model"] == "gbt":
        score = _predict_gbt(run, X)
    else:
        score = predict_cnn(run, config, rows, X, stats, dataset.root, device=device, tta=tta)
    score = np.asarray(score, dtype=np.float64)
    if calibration is None:
        log.warning("%s: not evaluated with these scores: no calibrated probability (NaN)", run.path.name)
        probability = np.full(score.shape, np.nan)
    else:
        probability = apply_calibration(calibration, score)
    table = pd.DataFrame(
        {
            "candidate_id": rows["candidate_id"].astype(str).to_numpy(),
            "jid": rows["jid"].astype(str).to_numpy(),
            "split": rows["split"].astype(str).to_numpy(),
            "label": rows["target"].to_numpy(np.int64),
            "score": score,
            "probability": probability,
            "predicted": (score >= threshold).astype(np.int8),
        }
    )
    meta = {
        "run": str(run.path),
        "threshold": threshold,
        "tta": tta,
        "calibration": (calibration or {"method": "none"})["method"],
        **{k: config[k] for k in ("algorithm", "model", "protocol")},
    }
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), METADATA_KEY: json.dumps(meta)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:  # written whole under a temporary name, then renamed: a reader never sees half a file
        pq.write_table(arrow, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("%s: %d candidates scored, %d predicted real", path, len(table), int(table["predicted"].sum()))
    return path
