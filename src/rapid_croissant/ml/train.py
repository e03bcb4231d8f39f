"""Train a real/bogus classifier on the train split, early-stop and pick the threshold on val, save a run
folder.

The run folder (:class:`~rapid_croissant.ml.run.RunFolder`) holds the resolved ``config.json``, the model,
``feature_stats.json``, ``history.csv``, ``predictions.parquet`` (val and test scores) and ``metrics.json``
(the threshold and validation metrics). No test metric is computed here: ``evaluate`` owns the test split.
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

from rapid_croissant.config import MODELS, TrainConfig
from rapid_croissant.dataset import open_dataset
from rapid_croissant.errors import RapidCroissantError
from rapid_croissant.ml.data import (
    check_split_by_job,
    feature_matrix,
    hold_out_jobs,
    load_tables,
    select_candidates,
    split_rows,
)
from rapid_croissant.ml.metrics import choose_threshold, classification_metrics
from rapid_croissant.ml.run import RunFolder

__all__ = ["MODELS", "TrainConfig", "train"]

log = logging.getLogger(__name__)


@dataclass
class Split:
    """One split's selected rows, scaled features and 0/1 targets."""

    rows: pd.DataFrame
    X: np.ndarray
    y: np.ndarray


def _prepare(
    dataset_dir: Path, config: TrainConfig, *, splits: dict | None = None, feature_names: list | None = None
) -> tuple[dict[str, Split], dict, dict]:
    """Selected rows, scaled features and targets per split; validation jobs come from train when needed.

    ``splits`` (job -> split) replaces the dataset's split column (jobs it leaves out are not used);
    ``feature_names`` fixes the feature columns (a pretrained network's layout).
    """
    candidates = load_tables(dataset_dir).candidates
    if splits is not None:
        candidates = candidates.assign(split=candidates["jid"].astype(str).map(splits).astype("string"))
        candidates = candidates[candidates["split"].notna().to_numpy(dtype=bool)]
    check_split_by_job(candidates)
    selected = select_candidates(candidates, algorithm=config.algorithm, protocol=config.protocol)
    rows = {s: split_rows(selected, s) for s in ("train", "val", "test")}
    info = {"validation": "val split", **({"splits": "given by the caller"} if splits is not None else {})}
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
    _, _, stats = feature_matrix(
        rows["train"], algorithm=config.algorithm, names=feature_names, cross=config.cross_features
    )
    parts = {}
    for s, r in rows.items():
        X, _, _ = feature_matrix(r, algorithm=config.algorithm, stats=stats)
        parts[s] = Split(r, X, np.array(r["target"], dtype=np.int64))  # a writable copy (torch needs one)
    return parts, stats, info


def _has_both_classes(rows: pd.DataFrame) -> bool:
    return rows["target"].nunique() == 2


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


def check_images(dataset_dir: Path, rows: pd.DataFrame) -> None:
    """A clean error when the CNN's jobs have neither an image tensor nor cutouts (``--no-full-images``)."""
    dataset = open_dataset(dataset_dir)
    if dataset.has_cutouts:
        return
    jids = sorted(set(rows["jid"].astype(str)))
    missing = [j for j in jids if not dataset.layout.image(j).is_file()]
    if missing:
        raise RapidCroissantError(
            f"{dataset_dir}: no image tensor for {len(missing)} of {len(jids)} jobs (e.g. "
            f"{dataset.layout.relative(dataset.layout.image(missing[0]))}; built with --no-full-images?): "
            "the CNN needs cutouts, use --model gbt (features only) or rebuild with images"
        )


def _fit_cnn(
    dataset_dir: Path, parts: dict[str, Split], stats: dict, config: TrainConfig, *, progress: bool, init=None
):
    """Weighted BCE (pos_weight = n_neg / n_pos on train), AdamW, early stopping on ``config.monitor``.

    With ``init`` (:class:`~rapid_croissant.ml.weights.InitWeights`) the network starts from those weights,
    trains at ``config.finetune_lr`` and keeps them unless an epoch improves on their validation score.
    """
    import torch
    from scipy.special import expit

    from rapid_croissant.ml.device import resolve_device
    from rapid_croissant.ml.loader import input_channels, make_dataloader
    from rapid_croissant.ml.models import build_cnn, count_parameters, predict_logits

    device = resolve_device(config.device)
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
        if init is not None:
            from rapid_croissant.ml.weights import load_into

            load_into(model, init)
        model = _to_device(model, device)
        y_tr = parts["train"].y
        pos_weight = float((y_tr == 0).sum() / max(int(y_tr.sum()), 1))
        history, best_epoch = _early_stopped(
            model, loaders, parts["val"].y, pos_weight, config, device, progress, start=init is not None
        )
        scores = {s: expit(predict_logits(model, loaders[s], device=device)) for s in ("val", "test")}
    finally:
        torch.set_num_threads(threads)
    extra = {"best_epoch": best_epoch, "n_parameters": count_parameters(model), "pos_weight": pos_weight}
    return model.cpu(), scores, history, {**extra, "device_used": device.type}


def _to_device(model, device):
    from rapid_croissant.ml.device import memory_format

    return model if device.type == "cpu" else model.to(device, memory_format=memory_format(device))


def _val_score(model, loader, y_val, loss_fn, config: TrainConfig, device) -> tuple[float, float, float]:
    """(validation loss, validation AP, the early-stopping criterion: higher is better)."""
    import torch
    from sklearn.metrics import average_precision_score

    from rapid_croissant.ml.models import predict_logits

    logits = predict_logits(model, loader, device=device)
    val_loss = loss_fn(torch.from_numpy(logits).float(), torch.tensor(y_val, dtype=torch.float32)).item()
    val_ap = float(average_precision_score(y_val, logits))
    return val_loss, val_ap, (-val_loss if config.monitor == "val_loss" else val_ap)


def _early_stopped(
    model, loaders, y_val, pos_weight: float, config: TrainConfig, device, progress: bool, *, start=False
):
    """Train epoch by epoch, keep the best weights on validation; return (history, best epoch).

    ``start``: the initial (pretrained) weights compete too, as epoch -1 in the history.
    """
    import copy

    import torch
    from tqdm.auto import tqdm

    from rapid_croissant.ml.models import train_one_epoch

    weight = torch.tensor(pos_weight, dtype=torch.float32, device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
    lr = config.finetune_lr if start else config.lr
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed + 1)  # augmentation draws
    cpu_loss = torch.nn.BCEWithLogitsLoss(pos_weight=weight.cpu())
    rows, best, best_state, best_epoch = [], -np.inf, None, -1
    if start:
        val_loss, val_ap, best = _val_score(model, loaders["val"], y_val, cpu_loss, config, device)
        best_state = copy.deepcopy(model.state_dict())
        rows.append(
            {"epoch": -1, "train_loss": np.nan, "val_loss": val_loss, "val_ap": val_ap, "seconds": 0.0}
        )
        log.info("initial weights: val loss %.4f, val AP %.4f", val_loss, val_ap)
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
            device=device,
        )
        val_loss, val_ap, current = _val_score(model, loaders["val"], y_val, cpu_loss, config, device)
        seconds = round(time.perf_counter() - t0, 2)
        rows.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_ap": val_ap,
                "seconds": seconds,
            }
        )
        epochs.set_postfix(train_loss=f"{train_loss:.3f}", val_loss=f"{val_loss:.3f}", val_ap=f"{val_ap:.3f}")
        log.info("epoch %d: train loss %.4f, val loss %.4f, val AP %.4f", epoch, train_loss, val_loss, val_ap)
        if current > best:
            best, best_state, best_epoch = current, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is not None:  # None only when every validation loss was NaN: keep the last weights
        model.load_state_dict(best_state)
    return pd.DataFrame(rows), best_epoch


def _progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


def _save(run: RunFolder, model, config: TrainConfig) -> None:
    path = run.model_file(config.model)
    if config.model == "gbt":
        with open(path, "wb") as fh:
            pickle.dump(model, fh)
    else:
        import torch

        torch.save(model.state_dict(), path)


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


def _val_metrics(val: Split, score: np.ndarray, threshold: float) -> dict:
    """Validation metrics at the chosen threshold (what the threshold and early stopping saw)."""
    out = classification_metrics(val.y, np.clip(score, 0.0, 1.0), threshold=threshold)
    out["n_jobs"] = int(val.rows["jid"].nunique())
    return out


def train(
    dataset_dir: str | Path,
    config: TrainConfig,
    *,
    run_root: str | Path = "runs",
    progress: bool | None = None,
    splits: dict | None = None,
) -> Path:
    """Train ``config.model`` on ``dataset_dir`` and return the new run folder (see the module docstring).

    ``config.init`` chooses the CNN's first weights (ml/weights.py); the run's config.json records which
    (``init_weights``: kind, file and sha256). ``splits`` (job -> split) replaces the dataset's splits.
    """
    from rapid_croissant.ml.loader import input_channels
    from rapid_croissant.ml.weights import check_layout, resolve_init

    dataset_dir = Path(dataset_dir).resolve()
    started = time.perf_counter()
    kind, init = resolve_init(config.init, algorithm=config.algorithm, model=config.model)
    names = None
    if init is not None:
        check_layout(init, channels=input_channels(config.algorithm), cutout_size=config.cutout_size)
        names = list(init.meta["feature_names"])
    parts, stats, info = _prepare(dataset_dir, config, splits=splits, feature_names=names)
    if config.model == "cnn":
        check_images(dataset_dir, pd.concat([p.rows[["jid"]] for p in parts.values()]))
    counts = {s: {"n": int(p.y.size), "n_real": int(p.y.sum())} for s, p in parts.items()}
    log.info("training %s/%s protocol %s on %s", config.algorithm, config.model, config.protocol, counts)
    if config.model == "gbt":
        model, scores, history, extra = _fit_gbt(parts, config)
    else:
        model, scores, history, extra = _fit_cnn(
            dataset_dir, parts, stats, config, progress=_progress(progress), init=init
        )
    threshold = choose_threshold(parts["val"].y, scores["val"], rule=config.threshold_rule)
    run = RunFolder.create(run_root, algorithm=config.algorithm, model=config.model)
    _save(run, model, config)
    resolved = {
        **asdict(config),
        "dataset_dir": str(dataset_dir),
        "feature_names": stats["names"],
        "counts": counts,
        **info,
        "created": datetime.now().isoformat(timespec="seconds"),
        **extra,
        "init_weights": init.record(kind) if init is not None else {"kind": kind},
    }
    run.write_json(RunFolder.CONFIG, resolved)
    run.write_json(RunFolder.FEATURE_STATS, stats)
    history.to_csv(run.file(RunFolder.HISTORY), index=False)
    _predictions(parts, scores).to_parquet(run.file(RunFolder.PREDICTIONS), index=False)
    metrics = {
        "threshold": threshold,
        "threshold_rule": config.threshold_rule,
        "val": _val_metrics(parts["val"], scores["val"], threshold),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    run.write_json(RunFolder.METRICS, metrics)
    log.info("run saved in %s (threshold %.4f chosen on val)", run.path, threshold)
    return run.path
