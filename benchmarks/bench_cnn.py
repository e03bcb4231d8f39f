"""CNN figures: training and inference cutouts per second of the project's CNN on this machine's cores.

Data loading is excluded: real cutouts of the 'both' candidates (9 channels + validity) are computed once,
kept in memory as batches, and the timed loop does what ``ml.train._train_epoch`` does per batch
(concatenate the validity channel, random rotation/flip, forward, weighted BCE, backward, AdamW step).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from bench_build import _busy_cpu_seconds


def _log(msg: str) -> None:
    print(f"[cnn] {msg}", flush=True)


def _batches(dataset: Path, *, batch_size: int, n_batches: int):
    import torch

    from rapid_croissant.ml.data import feature_matrix, load_tables, select_candidates
    from rapid_croissant.ml.loader import precompute_cutouts

    rows = select_candidates(load_tables(dataset).candidates, algorithm="both", protocol="A")
    want = batch_size * n_batches
    rows = rows.sample(n=want, replace=len(rows) < want, random_state=0).reset_index(drop=True)
    X, _, _ = feature_matrix(rows, algorithm="both")
    cut = torch.from_numpy(precompute_cutouts(dataset, rows, algorithm="both"))
    feats = torch.from_numpy(X)
    y = torch.from_numpy(rows["target"].to_numpy(dtype=np.float32))
    out = []
    for b in range(n_batches):
        s = slice(b * batch_size, (b + 1) * batch_size)
        out.append((cut[s, :-1].contiguous(), cut[s, -1:].contiguous(), feats[s], y[s]))
    return out, X.shape[1], len(rows)


def measure_cnn(
    dataset: Path,
    *,
    threads: int = 2,
    batch_size: int = 128,
    steps: int = 20,
    repeats: int = 3,
    warmup: int = 5,
) -> dict:
    import torch

    from rapid_croissant.ml.loader import input_channels
    from rapid_croissant.ml.models import build_cnn, count_parameters, train_one_epoch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        batches, n_features, _ = _batches(dataset, batch_size=batch_size, n_batches=steps)
        in_channels = len(input_channels("both"))
        model = build_cnn(in_channels=in_channels, n_features=n_features)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(1.0))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
        generator = torch.Generator().manual_seed(1)

        def train_pass(n: int, *, augment: bool = True) -> float:
            """n training steps through the project's own train_one_epoch (the batches cycled)."""
            steps_batches = [batches[i % len(batches)] for i in range(n)]
            t0 = time.perf_counter()
            train_one_epoch(model, steps_batches, optimizer, loss_fn, generator=generator, augment=augment)
            return time.perf_counter() - t0

        def infer_pass(n: int) -> float:
            model.eval()
            t0 = time.perf_counter()
            with torch.no_grad():
                for i in range(n):
                    cutout, valid, feats, _ = batches[i % len(batches)]
                    model(torch.cat([cutout, valid], 1), feats)
            return time.perf_counter() - t0

        def channels_last_pass(n: int) -> float:
            """n training steps with the model and the inputs in channels-last layout (what CUDA gets)."""
            cl = torch.channels_last
            model.to(memory_format=cl)
            model.train()
            t0 = time.perf_counter()
            for i in range(n):
                cutout, valid, feats, label = batches[i % len(batches)]
                optimizer.zero_grad()
                loss = loss_fn(
                    model(torch.cat([cutout, valid], 1).contiguous(memory_format=cl), feats), label
                )
                loss.backward()
                optimizer.step()
            seconds = time.perf_counter() - t0
            model.to(memory_format=torch.contiguous_format)
            return seconds

        train_pass(warmup)
        busy0, own0, wall0 = _busy_cpu_seconds(), time.process_time(), time.perf_counter()
        train = [steps * batch_size / train_pass(steps) for _ in range(repeats)]
        train_noaug = [steps * batch_size / train_pass(steps, augment=False) for _ in range(repeats)]
        channels_last_pass(2)
        train_cl = [steps * batch_size / channels_last_pass(steps) for _ in range(repeats)]
        torch.set_num_threads(1)
        train_pass(2)
        train_1 = [steps * batch_size / train_pass(steps) for _ in range(repeats)]
        torch.set_num_threads(threads)
        infer_pass(warmup)
        infer = [steps * batch_size / infer_pass(steps) for _ in range(repeats)]
        busy1, own1, wall1 = _busy_cpu_seconds(), time.process_time(), time.perf_counter()
        others = None
        if busy0 is not None and busy1 is not None:
            others = max(0.0, (busy1 - busy0 - (own1 - own0)) / (wall1 - wall0))
        res = {
            "threads": threads,
            "interop_threads": torch.get_num_interop_threads(),
            "batch_size": batch_size,
            "steps": steps,
            "repeats": repeats,
            "in_channels": in_channels,
            "cutout_shape": list(batches[0][0].shape[1:]),
            "n_features": n_features,
            "n_parameters": count_parameters(model),
            "train_per_s": max(train),
            "train_runs": train,
            "train_noaug_per_s": max(train_noaug),
            "train_channels_last_per_s": max(train_cl),  # no augmentation, as train_noaug_per_s
            "train_1thread_per_s": max(train_1),
            "infer_per_s": max(infer),
            "infer_runs": infer,
            "others_cores": others,  # mean CPU cores other processes used during the timed passes
        }
    finally:
        torch.set_num_threads(before)
    _log(
        f"CNN ({res['n_parameters']:,} parameters, {in_channels} channels 64x64, batch {batch_size}, "
        f"{threads} threads): train {res['train_per_s']:,.0f} cutouts/s (no augmentation "
        f"{res['train_noaug_per_s']:,.0f}/s, channels-last {res['train_channels_last_per_s']:,.0f}/s), "
        f"inference {res['infer_per_s']:,.0f}/s; other processes used "
        f"{others or 0:.2f} cores meanwhile"
    )
    return res
