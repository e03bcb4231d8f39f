"""``pretrain``: train the CNN reproducibly on a simulated set of many domains; write weights + a model card.

The set is planned by ml/pretrain_data.py and simulated and built by cli/pretrain.py (or is a dataset
built beforehand, ``-d``). Training domains give the
train split (their own val and test splits validate: early stopping and the threshold); held-out domains
are never seen in training and give the card's metrics with 95 % intervals that resample held-out jobs.
Training is seeded, uses a fixed number of CPU threads and torch's deterministic algorithms, so a seed
gives the same weights on the same machine and torch build. The weights file keeps the feature columns
the network expects; their scaling is recomputed on the train rows of whatever dataset fine-tunes it.
"""

from __future__ import annotations

import json
import logging
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.ml.pretrain_data import Group, group_of_jobs

__all__ = ["PretrainConfig", "pretrain"]

log = logging.getLogger(__name__)

WEIGHTS_NAME = "cnn_v1.pt"
CARD_NAME = "MODEL_CARD.md"
METRICS_NAME = "pretrain_metrics.json"
_METRICS = ("roc_auc", "average_precision", "fpr_at_fnr_5pct")


@dataclass
class PretrainConfig:
    """Options of ``rapid-croissant pretrain``."""

    out: Path
    work: Path = Path("pretrain_work")
    dataset: Path | None = None  # a dataset built beforehand (its splits, or the plan next to it)
    n_domains: int = 10
    jobs_per_domain: int = 8
    n_heldout: int = 2
    algorithm: str = "both"
    epochs: int = 12
    patience: int = 4
    seed: int = 0
    num_threads: int = 2
    n_boot: int = 500
    workers: int = 2
    command: str = ""
    extra: dict = field(default_factory=dict)


def job_splits(jobs: pd.DataFrame, groups: list[Group] | None) -> tuple[dict, dict]:
    """(job -> split, job -> domain): held-out domains are test; a training domain's train split trains and
    its val and test splits validate. Without a plan the dataset's own splits are kept."""
    own = dict(zip(jobs["jid"].astype(str), jobs["split"].astype(str), strict=True))
    if not groups:
        return own, {j: "dataset" for j in own}
    of = group_of_jobs(groups)
    splits, domain = {}, {}
    for jid, split in own.items():
        g = of.get(jid)
        if g is None:
            continue
        splits[jid] = "test" if g.heldout else ("train" if split == "train" else "val")
        domain[jid] = g.name
    return splits, domain


def _held_out_metrics(pred: pd.DataFrame, domain: dict, n_boot: int, seed: int) -> dict:
    """Metrics with job-bootstrap intervals on every held-out domain and on all of them together."""
    from rapid_croissant.ml.metrics import group_bootstrap

    test = pred[pred["split"] == "test"].copy()
    test["domain"] = test["jid"].map(domain)
    out = {}
    for name, part in [("all held-out", test), *sorted(test.groupby("domain"))]:
        y, s = part["label"].to_numpy(np.int64), part["score"].to_numpy(float)
        if part.empty or len(np.unique(y)) < 2:
            continue
        boot = group_bootstrap(y, s, part["jid"].to_numpy(str), n_boot=n_boot, seed=seed, threshold=0.5)
        out[name] = {m: boot[m] for m in _METRICS}
        out[name].update(n=int(y.size), n_real=int(y.sum()), n_jobs=int(part["jid"].nunique()))
    return out


def _composition(cand: pd.DataFrame, splits: dict, domain: dict, algorithm: str) -> list[dict]:
    """Jobs, labelled candidates and the real fraction of each domain (the card's data table)."""
    from rapid_croissant.ml.data import select_candidates

    rows = select_candidates(cand, algorithm=algorithm)
    rows = rows[rows["jid"].astype(str).isin(splits)]
    rows = rows.assign(domain=rows["jid"].astype(str).map(domain), role=rows["jid"].astype(str).map(splits))
    table = []
    for (name, role), part in rows.groupby(["domain", "role"]):
        table.append(
            {
                "domain": name,
                "role": role,
                "jobs": int(part["jid"].nunique()),
                "candidates": int(len(part)),
                "real_fraction": float(part["target"].mean()),
            }
        )
    return table


def _train(cfg: PretrainConfig, dataset: Path, splits: dict) -> Path:
    """The seeded, deterministic training run (a normal run folder under WORK/runs)."""
    import torch

    from rapid_croissant.config import TrainConfig
    from rapid_croissant.ml.train import train

    tc = TrainConfig(
        algorithm=cfg.algorithm,
        model="cnn",
        epochs=cfg.epochs,
        patience=cfg.patience,
        seed=cfg.seed,
        num_threads=cfg.num_threads,
        init="scratch",
    )
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return train(dataset, tc, run_root=Path(cfg.work) / "runs", splits=splits, progress=None)
    finally:
        torch.use_deterministic_algorithms(previous)


def _weights_meta(run: Path, cfg: PretrainConfig) -> dict:
    from rapid_croissant.ml.loader import input_channels
    from rapid_croissant.ml.run import RunFolder

    conf = RunFolder(run).config()
    return {
        "name": Path(WEIGHTS_NAME).stem,
        "algorithm": cfg.algorithm,
        "channels": list(input_channels(cfg.algorithm)),
        "feature_names": list(conf["feature_names"]),
        "cutout_size": int(conf["cutout_size"]),
        "widths": [16, 32, 64],
        "n_parameters": int(conf["n_parameters"]),
        "best_epoch": int(conf["best_epoch"]),
        "seed": cfg.seed,
        "torch": str(__import__("torch").__version__),
    }


def pretrain(cfg: PretrainConfig, groups: list[Group] | None = None) -> dict:
    """Train on ``cfg.dataset`` (held out: the ``groups`` marked so, or without groups the dataset's test
    split) and write the weights, their sha256, the metrics and the model card into ``cfg.out``; returns
    the summary written to pretrain_metrics.json. cli/pretrain.py simulates and builds the dataset."""
    import torch

    from rapid_croissant.dataset import open_dataset
    from rapid_croissant.ml.card import model_card
    from rapid_croissant.ml.run import RunFolder
    from rapid_croissant.ml.weights import save_weights

    if cfg.dataset is None:
        raise ValueError("cfg.dataset: pretrain needs a built dataset")
    dataset, out = Path(cfg.dataset), Path(cfg.out)
    tables = open_dataset(dataset).tables
    splits, domain = job_splits(tables.jobs, groups)
    run = _train(cfg, dataset, splits)
    state = torch.load(RunFolder(run).model_file("cnn"), map_location="cpu", weights_only=True)
    meta = _weights_meta(run, cfg)
    sha = save_weights(out / WEIGHTS_NAME, state, meta)
    (out / f"{WEIGHTS_NAME}.sha256").write_text(f"{sha}  {WEIGHTS_NAME}\n")
    summary = {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": cfg.command,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "weights": {
            "file": WEIGHTS_NAME,
            "sha256": sha,
            "bytes": (out / WEIGHTS_NAME).stat().st_size,
            **meta,
        },
        "groups": [asdict(g) for g in groups] if groups else None,
        "composition": _composition(tables.candidates, splits, domain, cfg.algorithm),
        "validation": RunFolder(run).metrics()["val"],
        "held_out": _held_out_metrics(RunFolder(run).predictions(), domain, cfg.n_boot, cfg.seed),
        "history": pd.read_csv(RunFolder(run).file(RunFolder.HISTORY)).to_dict("records"),
        "run": str(run),
        "machine": {"python": platform.python_version(), "threads": cfg.num_threads},
    }
    (out / METRICS_NAME).write_text(json.dumps(summary, indent=1, default=float) + "\n")
    (out / CARD_NAME).write_text(model_card(summary))
    log.info("weights %s (sha256 %s) and model card written to %s", WEIGHTS_NAME, sha[:12], out)
    return summary
