"""Train a real/bogus classifier on the train split, early-stop and pick the threshold on val, save a run folder.

A run folder ``<run_root>/<YYYYmmdd-HHMMSS>_<algorithm>_<model>/`` holds the resolved ``config.json``,
the model (``model.pt`` state_dict or ``model.pkl``), ``feature_stats.json``, ``history.csv``,
``predictions.parquet`` (val and test scores) and ``metrics.json``. Nothing of the test split is used
before the final predictions.
"""

from __future__ import annotations

import logging
import pickle
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.errors import ConfigError, RapidCroissantError
from rapid_croissant.ml.data import (
    ALGORITHMS,
    PROTOCOLS,
    check_split_by_job,
    feature_matrix,
    hold_out_jobs,
    load_tables,
    select_candidates,
    split_rows,
    write_json,
)
from rapid_croissant.ml.metrics import choose_threshold, classification_metrics

__all__ = ["MODELS", "TrainConfig", "balanced_accuracy", "train"]

log = logging.getLogger(__name__)

MODELS = ("cnn", "gbt")
_CHOICES = {"algorithm": ALGORITHMS, "protocol": PROTOCOLS, "model": MODELS, "threshold_rule": ("f1", "fnr5")}
_CHOICES["monitor"] = ("val_loss", "val_ap")


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

    def __post_init__(self):
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ConfigError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        for name in ("epochs", "batch_size", "cutout_size", "gbt_max_iter", "num_threads", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be positive, got {self.lr!r}")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")


@dataclass
class Split:
    """One split's selected rows, scaled features and 0/1 targets."""

    rows: pd.DataFrame
    X: np.ndarray
    y: np.ndarray


def balanced_accuracy(y_true, score, *, threshold: float) -> float:
    """Mean of the true-positive and true-negative rates at ``threshold`` (0.5 for any constant classifier)."""
    y, pred = np.asarray(y_true).astype(bool), np.asarray(score) >= threshold
    if y.all() or not y.any():
        return float("nan")
    return float(0.5 * (pred[y].mean() + (~pred[~y]).mean()))


def _prepare(dataset_dir: Path, config: TrainConfig) -> tuple[dict[str, Split], dict, dict]:
    """Selected rows, scaled features and targets per split; validation jobs come from train when needed."""
    tables = load_tables(dataset_dir)
    check_split_by_job(tables.candidates)
    selected = select_candidates(tables.candidates, algorithm=config.algorithm, protocol=config.protocol)
    rows = {s: split_rows(selected, s) for s in ("train", "val", "test")}
    info = {"validation": "val split"}
    if not _has_both_classes(rows["val"]) and config.val_fallback:
        rows["train"], rows["val"] = hold_out_jobs(rows["train"], fraction=0.2, seed=config.seed)
        jobs = sorted(rows["val"]["jid"].astype(str).unique())
        info["validation"] = f"train jobs {jobs} (the val split lacks real or bogus labelled rows)"
        log.warning("%s/%s: validating on %s", config.algorithm, config.protocol, info["validation"])
    for s in ("train", "val"):
        if not _has_both_classes(rows[s]):
            y = rows[s]["target"].to_numpy()
            raise RapidCroissantError(
                f"{dataset_dir}: the {s} split needs real and bogus {config.algorithm} candidates under "
                f"protocol {config.protocol}, it has {int(y.sum())} real of {y.size} labelled rows"
            )
    _, _, stats = feature_matrix(rows["train"], algorithm=config.algorithm)
    parts = {}
    for s, r in rows.items():
        X, _, _ = feature_matrix(r, algorithm=config.algorithm, stats=stats)
        parts[s] = Split(r, X, np.array(r["target"], dtype=np.int64))  # a writable copy (torch needs one)
    return parts, stats, info


def _has_both_classes(rows: pd.DataFrame) -> bool:
    return rows["target"].nunique() == 2


def _run_dir(run_root: Path, config: TrainConfig) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}_{config.algorithm}_{config.model}"
    run_root.mkdir(parents=True, exist_ok=True)
    for k in range(1, 1000):
        path = run_root / (base if k == 1 else f"{base}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RapidCroissantError(f"{run_root}: could not create a run folder named {base}*")


def _fit_gbt(parts: dict[str, Split], config: TrainConfig):
    from rapid_croissant.ml.models import train_gbt

    tr, va = parts["train"], parts["val"]
    model = train_gbt(tr.X, tr.y, seed=config.seed, X_val=va.X, y_val=va.y, max_iter=config.gbt_max_iter)
    history = pd.DataFrame(
        {
            "iteration": np.arange(len(model.train_score_)),
            "train_loss": -model.train_score_,
            "val_loss": -model.validation_score_,
        }
    )
    scores = {
        s: model.predict_proba(parts[s].X)[:, 1] if len(parts[s].y) else np.empty(0) for s in ("val", "test")
    }
    return model, scores, history, {"n_iter": int(model.n_iter_)}


def _fit_cnn(dataset_dir: Path, parts: dict[str, Split], stats: dict, config: TrainConfig, *, progress: bool):
    """Weighted BCE (pos_weight = n_neg / n_pos on train), AdamW, early stopping on ``config.monitor``."""
    import torch
    from scipy.special import expit

    from rapid_croissant.ml.loader import input_channels, make_dataloader
    from rapid_croissant.ml.models import build_cnn, count_parameters, predict_logits

    threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    try:
        loaders = {
            s: make_dataloader(
                dataset_dir,
                p.rows,
                p.X,
                p.y,
                algorithm=config.algorithm,
                size=config.cutout_size,
                batch_size=config.batch_size,
                shuffle=s == "train",
                seed=config.seed,
                feature_stats=stats,
                max_in_memory_mb=config.max_precompute_mb,
            )
            for s, p in parts.items()
        }
        n_features = parts["train"].X.shape[1]
        model = build_cnn(in_channels=len(input_channels(config.algorithm)), n_features=n_features)
        y_tr = parts["train"].y
        pos_weight = float((y_tr == 0).sum() / max(int(y_tr.sum()), 1))
        history, best_epoch = _early_stopped(model, loaders, parts["val"].y, pos_weight, config, progress)
        scores = {s: expit(predict_logits(model, loaders[s])) for s in ("val", "test")}
    finally:
        torch.set_num_threads(threads)
    extra = {"best_epoch": best_epoch, "n_parameters": count_parameters(model), "pos_weight": pos_weight}
    return model, scores, history, extra


def _early_stopped(model, loaders, y_val, pos_weight: float, config: TrainConfig, progress: bool):
    """Train epoch by epoch, keep the best weights on validation; return (history, best epoch)."""
    import copy

    import torch
    from sklearn.metrics import average_precision_score
    from tqdm.auto import tqdm

    from rapid_croissant.ml.models import predict_logits, train_one_epoch

    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, dtype=torch.float32))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed + 1)  # augmentation draws
    y_val_t = torch.tensor(y_val, dtype=torch.float32)
    rows, best, best_state, best_epoch = [], -np.inf, None, -1
    epochs = tqdm(range(config.epochs), desc=f"{config.algorithm} cnn", disable=not progress)
    for epoch in epochs:
        t0 = time.perf_counter()
        train_loss = train_one_epoch(
            model,
            loaders["train"],
            optimizer,
            loss_fn,
            generator=generator,
            augment=config.augment,
            progress=progress,
        )
        logits = predict_logits(model, loaders["val"])
        val_loss = loss_fn(torch.from_numpy(logits).float(), y_val_t).item()
        val_ap = float(average_precision_score(y_val, logits))
        rows.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_ap": val_ap,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        epochs.set_postfix(train_loss=f"{train_loss:.3f}", val_loss=f"{val_loss:.3f}", val_ap=f"{val_ap:.3f}")
        log.info("epoch %d: train loss %.4f, val loss %.4f, val AP %.4f", epoch, train_loss, val_loss, val_ap)
        current = -val_loss if config.monitor == "val_loss" else val_ap
        if current > best:
            best, best_state, best_epoch = current, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is not None:  # None only when every validation loss was NaN: keep the last weights
        model.load_state_dict(best_state)
    return pd.DataFrame(rows), best_epoch


def _progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


def _save(run: Path, model, config: TrainConfig) -> None:
    if config.model == "gbt":
        with open(run / "model.pkl", "wb") as fh:
            pickle.dump(model, fh)
    else:
        import torch

        torch.save(model.state_dict(), run / "model.pt")


def _predictions(parts: dict[str, Split], scores: dict[str, np.ndarray]) -> pd.DataFrame:
    frames = []
    for s in ("val", "test"):
        rows = parts[s].rows
        frames.append(
            pd.DataFrame(
                {
                    "candidate_id": rows["candidate_id"].astype(str).to_numpy(),
                    "jid": rows["jid"].astype(str).to_numpy(),
                    "split": s,
                    "label": parts[s].y,
                    "score": np.asarray(scores[s], dtype=np.float64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _metrics(parts, scores, threshold: float) -> dict:
    out = {"threshold": threshold}
    for s in ("val", "test"):
        y, score = parts[s].y, np.clip(scores[s], 0.0, 1.0)
        m = classification_metrics(y, score, threshold=threshold)
        m["balanced_accuracy"] = balanced_accuracy(y, score, threshold=threshold)
        m["n_jobs"] = int(parts[s].rows["jid"].nunique())
        out[s] = m
    return out


def train(
    dataset_dir: str | Path,
    config: TrainConfig,
    *,
    run_root: str | Path = "runs",
    progress: bool | None = None,
) -> Path:
    """Train ``config.model`` on ``dataset_dir`` and return the new run folder (see the module docstring)."""
    dataset_dir = Path(dataset_dir).resolve()
    started = time.perf_counter()
    parts, stats, info = _prepare(dataset_dir, config)
    counts = {s: {"n": int(p.y.size), "n_real": int(p.y.sum())} for s, p in parts.items()}
    if not 0 < counts["test"]["n_real"] < counts["test"]["n"]:
        log.warning(
            "%s/%s: the test split lacks real or bogus labelled rows %s",
            config.algorithm,
            config.protocol,
            counts["test"],
        )
    log.info("training %s/%s protocol %s on %s", config.algorithm, config.model, config.protocol, counts)
    if config.model == "gbt":
        model, scores, history, extra = _fit_gbt(parts, config)
    else:
        model, scores, history, extra = _fit_cnn(
            dataset_dir, parts, stats, config, progress=_progress(progress)
        )
    threshold = choose_threshold(parts["val"].y, scores["val"], rule=config.threshold_rule)
    run = _run_dir(Path(run_root), config)
    _save(run, model, config)
    resolved = {
        **asdict(config),
        "dataset_dir": str(dataset_dir),
        "feature_names": stats["names"],
        "counts": counts,
        **info,
        "created": datetime.now().isoformat(timespec="seconds"),
        **extra,
    }
    write_json(run / "config.json", resolved)
    write_json(run / "feature_stats.json", stats)
    history.to_csv(run / "history.csv", index=False)
    _predictions(parts, scores).to_parquet(run / "predictions.parquet", index=False)
    metrics = _metrics(parts, scores, threshold)
    metrics["train_seconds"] = round(time.perf_counter() - started, 2)
    write_json(run / "metrics.json", metrics)
    log.info("run saved in %s (test ROC AUC %.3f)", run, metrics["test"]["roc_auc"])
    return run
