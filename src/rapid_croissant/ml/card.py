"""The model card of a pretrained weights file (Markdown), written from ``pretrain``'s own summary."""

from __future__ import annotations

__all__ = ["model_card"]


def _ci(m: dict, pct: bool = False) -> str:
    f = (lambda v: f"{100 * v:.1f} %") if pct else (lambda v: f"{v:.3f}")
    return f"{f(m['value'])} [{f(m['low'])}, {f(m['high'])}]"


def _data_lines(s: dict) -> list[str]:
    lines = [
        "| domain | role | jobs | labelled candidates | real fraction |",
        "|---|---|---|---|---|",
    ]
    for r in s["composition"]:
        lines.append(
            f"| {r['domain']} | {r['role']} | {r['jobs']} | {r['candidates']} | {r['real_fraction']:.2f} |"
        )
    if s.get("groups"):
        lines += ["", "| domain | drawn as | density | era | jobs | held out |", "|---|---|---|---|---|---|"]
        for g in s["groups"]:
            drawn = f"named domain {g['domain']}" if g["domain"] else f"domain_from_seed({g['domain_seed']})"
            lines.append(
                f"| {g['name']} | {drawn} | {g['density']} | {g['era']} | {g['n_jobs']} | "
                f"{'yes' if g['heldout'] else 'no'} |"
            )
    return lines


def _metric_lines(s: dict) -> list[str]:
    lines = [
        "| held-out data | ROC AUC | AP | FPR at FNR 5 % | real/n | jobs |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in s["held_out"].items():
        lines.append(
            f"| {name} | {_ci(m['roc_auc'])} | {_ci(m['average_precision'])} | "
            f"{_ci(m['fpr_at_fnr_5pct'], True)} | {m['n_real']}/{m['n']} | {m['n_jobs']} |"
        )
    v = s["validation"]
    lines += [
        "",
        f"Validation (training domains' val and test splits; early stopping and the threshold): ROC AUC "
        f"{v.get('roc_auc', float('nan')):.3f}, AP {v.get('average_precision', float('nan')):.3f}, "
        f"{v.get('n', 0)} candidates in {v.get('n_jobs', 0)} jobs.",
    ]
    return lines


def model_card(s: dict) -> str:
    """Markdown: what the weights are, the data, the configuration, the held-out metrics and the limits."""
    w, c = s["weights"], s["config"]
    lines = [
        f"# Model card: {w['name']} (rapid-croissant pretrained real/bogus CNN)",
        "",
        f"- File: `{w['file']}`, {w['bytes']} bytes, sha256 `{w['sha256']}`",
        f"- Made {s['created']} by:",
        "",
        "```bash",
        s["command"] or "rapid-croissant pretrain",
        "```",
        "",
        "## Model",
        "",
        f"The project's small CNN (`ml/models.py`: conv blocks {w['widths']} + global average pool, an "
        f"MLP on the features, {w['n_parameters']} parameters) for candidate set `{w['algorithm']}`: "
        f"{w['cutout_size']}x{w['cutout_size']} cutouts of channels {', '.join(w['channels'])}, plus "
        f"{len(w['feature_names'])} per-algorithm features (median/IQR-scaled; the scaling is recomputed on "
        "the train rows of the dataset that fine-tunes it). Best epoch "
        f"{w['best_epoch']} of at most {c['epochs']} (early stopping on validation loss, patience "
        f"{c['patience']}), seed {c['seed']}, {c['num_threads']} CPU threads, torch deterministic "
        f"algorithms, torch {w['torch']}.",
        "",
        "## Intended use",
        "",
        "Initialisation for fine-tuning: `rapid-croissant train -d DATASET` (and "
        "`test_croissant_dataset.py`) start from these weights by default for `--algorithm both` and "
        "fine-tune on the dataset's train split; `--init scratch` turns this off. Not meant as a "
        "classifier of real RAPID data without fine-tuning on labelled jobs of that data.",
        "",
        "## Data",
        "",
        "Simulated RAPID jobs only (`rapid-croissant simulate`: real ZOGY and SFFT on simulated 512x512 "
        "pixels, photutils with RAPID's settings), two epochs per sky field, labels from the pipeline's own "
        "cross-matching. Training domains: train split trains, val+test splits validate; held-out domains "
        "are never seen in training. Domain B (simulate --domain B) is in no row: it is kept for "
        "benchmarks/bench_pretrain.py.",
        "",
        *_data_lines(s),
        "",
        "## Metrics on held-out domains",
        "",
        "95 % intervals from a bootstrap over held-out jobs.",
        "",
        *_metric_lines(s),
        "",
        "## Limits",
        "",
        "- Trained on simulated data only: the simulator's PSFs, noise and artefact populations, however "
        "varied, are not RAPID's; expect a drop on real images until fine-tuned.",
        "- The held-out domains are drawn from the same family of random domains as the training ones.",
        "- One cutout size (64) and one channel layout; other `--algorithm` choices train from scratch.",
        "- Scores are not calibrated probabilities; `train` chooses the threshold on the fine-tuning "
        "dataset's validation split.",
        "",
    ]
    return "\n".join(lines)
