"""Score a built dataset's labels against the simulator's answer key (tests and closing notes only).

A detection is truly real when the answer key says a transient caused it and that transient is brighter
than the build's magnitude limit. Precision and recall are computed for each algorithm's own labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import open_dataset
from rapid_croissant.simulate.core import load_answer_key


def _truly_real(key, mag_limit: float) -> pd.DataFrame:
    det = key.detections.copy()
    ab = key.truth.set_index(["jid", "truth_id"])["ab"]
    idx = pd.MultiIndex.from_arrays([det.jid, det.truth_id.fillna("")])
    det["true_mag"] = ab.reindex(idx).to_numpy()
    det["true_real"] = (det.cause == "transient") & (det.true_mag < mag_limit)
    return det


def score_labels(dataset_dir: str | Path, sim_dir: str | Path, *, mag_limit: float = 26.0) -> dict:
    """Precision/recall of zogy_label and sfft_label, and the same-source rate of 'both' candidates."""
    cand = open_dataset(dataset_dir).candidates
    cand = cand[cand.label != -1]
    det = _truly_real(load_answer_key(sim_dir), mag_limit).set_index(["jid", "algorithm", "id"])
    out = {}
    for alg in ("zogy", "sfft"):
        part = cand[cand[f"{alg}_id"].notna()]
        key = pd.MultiIndex.from_arrays([part.jid, np.full(len(part), alg), part[f"{alg}_id"].astype(int)])
        truth = det.reindex(key)["true_real"].fillna(False).to_numpy(bool)
        pred = part[f"{alg}_label"].to_numpy() == 1
        tp = int((truth & pred).sum())
        out[alg] = {
            "n": len(part),
            "precision": tp / max(int(pred.sum()), 1),
            "recall": tp / max(int(truth.sum()), 1),
            "false_positives": int((pred & ~truth).sum()),
            "false_negatives": int((~pred & truth).sum()),
        }
    both = cand[cand.detected_by == "both"]
    zk = pd.MultiIndex.from_arrays([both.jid, np.full(len(both), "zogy"), both.zogy_id.astype(int)])
    sk = pd.MultiIndex.from_arrays([both.jid, np.full(len(both), "sfft"), both.sfft_id.astype(int)])
    z, s = det.reindex(zk), det.reindex(sk)
    dist = np.hypot(z.x_fit.to_numpy() - s.x_fit.to_numpy(), z.y_fit.to_numpy() - s.y_fit.to_numpy())
    same_transient = (z.cause.to_numpy() == "transient") & (z.truth_id.to_numpy() == s.truth_id.to_numpy())
    same_other = (z.cause.to_numpy() != "transient") & (s.cause.to_numpy() != "transient") & (dist <= 1.5)
    out["both"] = {
        "n": len(both),
        "same_source": float(np.mean(same_transient | same_other)) if len(both) else 1.0,
        "median_distance": float(np.median(dist)) if len(both) else 0.0,
    }
    return out
