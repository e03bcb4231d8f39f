"""The two baseline classifiers: a small CNN on cutouts plus features, and a gradient-boosted tree on
features.

The CNN is deliberately small (about 30k parameters at 64x64 with 7 input channels): ml_evaluation.md §5 G8
measured that tiny networks train at ~300 cutouts/s on the 2 CPU cores we have, and a 2 M parameter
network at 80/s without being better. torch is imported only when a CNN is built.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

__all__ = ["build_cnn", "count_parameters", "predict_logits", "train_gbt", "train_one_epoch"]

log = logging.getLogger(__name__)


@functools.cache
def _cnn_class():
    import torch
    from torch import nn

    def block(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )

    class RealBogusCNN(nn.Module):
        """Conv blocks 16/32/64 + global average pool, concatenated with an MLP on the features -> 1 logit."""

        def __init__(self, in_channels: int, n_features: int, *, widths=(16, 32, 64), dropout=0.2):
            super().__init__()
            chans = (in_channels, *widths)
            self.encoder = nn.Sequential(*(block(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)))
            self.pool = nn.AdaptiveAvgPool2d(1)
            n_feat_out = 32 if n_features else 0
            self.features = (
                nn.Sequential(nn.Linear(n_features, 32), nn.ReLU(inplace=True)) if n_features else None
            )
            self.head = nn.Sequential(
                nn.Linear(widths[-1] + n_feat_out, 64),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(64, 1),
            )

        def forward(self, cutout, features):
            z = self.pool(self.encoder(cutout)).flatten(1)
            if self.features is not None:
                z = torch.cat([z, self.features(features)], dim=1)
            return self.head(z).squeeze(1)

    return RealBogusCNN


def build_cnn(*, in_channels: int, n_features: int, widths=(16, 32, 64), dropout: float = 0.2):
    """A new :class:`RealBogusCNN`: ``forward(cutout (B, in_channels, H, W), features (B, n_features))`` ->
    logits (B,)."""
    if in_channels < 1:
        raise ValueError(f"in_channels must be positive, got {in_channels}")
    if n_features < 0:
        raise ValueError(f"n_features must be >= 0, got {n_features}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    return _cnn_class()(in_channels, n_features, widths=tuple(widths), dropout=dropout)


def count_parameters(model) -> int:
    """Number of trainable parameters of a torch module."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def _batch_input(cutout, valid, device):
    """The network input of a batch: the cutout channels plus the validity channel, on ``device``."""
    import torch

    from rapid_croissant.ml.device import memory_format

    x = torch.cat([cutout, valid], 1)
    if device is None or device.type == "cpu":
        return x
    return x.to(device, non_blocking=True).contiguous(memory_format=memory_format(device))


def train_one_epoch(
    model, loader, optimizer, loss_fn, *, generator, augment: bool, progress: bool = False, device=None
) -> float:
    """One pass over ``loader`` (cutout, valid, features, label); returns the mean training loss.

    With ``augment`` each cutout gets one of the 8 rotations/flips that keep its centre pixel in place
    (drawn on the CPU, so a seed gives the same draws on every device). ``device`` None means the CPU.
    """
    import torch
    from tqdm.auto import tqdm

    from rapid_croissant.ml.device import autocast
    from rapid_croissant.ml.loader import random_dihedral

    model.train()
    total, n = 0.0, 0
    for cutout, valid, feats, label in tqdm(loader, desc="batches", leave=False, disable=not progress):
        if augment:
            x = random_dihedral(torch.cat([cutout, valid], 1), generator)
            cutout, valid = x[:, :-1], x[:, -1:]
        x = _batch_input(cutout, valid, device)
        if device is not None and device.type != "cpu":
            feats, label = feats.to(device), label.to(device)
        optimizer.zero_grad()
        with autocast(device):
            loss = loss_fn(model(x, feats).float(), label)
        loss.backward()
        optimizer.step()
        total, n = total + loss.item() * len(label), n + len(label)
    return total / max(n, 1)


def predict_logits(model, loader, *, device=None) -> np.ndarray:
    """float64 logits of every item of ``loader`` in order (eval mode, no gradients), back on the CPU."""
    import torch

    from rapid_croissant.ml.device import autocast

    model.eval()
    out = []
    with torch.no_grad(), autocast(device):
        for c, v, f, _ in loader:
            feats = f if device is None or device.type == "cpu" else f.to(device)
            out.append(model(_batch_input(c, v, device), feats).float().cpu())
    return torch.cat(out).numpy().astype(np.float64) if out else np.empty(0)


def train_gbt(
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    max_iter: int = 300,
    learning_rate: float = 0.1,
):
    """Fit a class-balanced HistGradientBoostingClassifier, early-stopped on (X_val, y_val) when given.

    Without a validation set sklearn holds out 15 % of the rows at random, which shares jobs with the
    training rows; pass the validation split whenever there is one.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, f) and y (n,), got {X.shape} and {y.shape}")
    if np.unique(y).size < 2:
        raise ValueError("y must contain both real and bogus rows")
    has_val = X_val is not None and y_val is not None and np.unique(y_val).size == 2
    model = HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=learning_rate,
        class_weight="balanced",
        early_stopping=True,
        validation_fraction=None if has_val else 0.15,
        n_iter_no_change=20,
        random_state=seed,
    )
    if has_val:
        model.fit(X, y, X_val=np.asarray(X_val), y_val=np.asarray(y_val))
    else:
        log.warning("train_gbt: no usable validation set, early stopping on a random 15% of the rows")
        model.fit(X, y)
    log.info("GBT stopped after %d iterations", model.n_iter_)
    return model
