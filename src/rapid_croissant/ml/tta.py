"""Test-time dihedral averaging: score each cutout in the 8 rotations/flips of the square and average.

The CNN trains on randomly drawn dihedral views (``loader.random_dihedral``); at test time the mean of
its probabilities over all eight views removes the dependence on the cutout's orientation. The views keep
the candidate pixel at ``S // 2`` (transpose and the centre-keeping mirrors of the loader).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["N_VIEWS", "dihedral_views", "predict_proba_dihedral"]

#: Number of views: the dihedral group of the square.
N_VIEWS = 8


def dihedral_views(x):
    """The 8 views of a (B, C, S, S) tensor: identity first, then every transpose/mirror combination."""
    from rapid_croissant.ml.loader import _flip_about_centre

    views = []
    for transpose, flip_y, flip_x in itertools.product((False, True), repeat=3):
        v = x.transpose(2, 3) if transpose else x
        v = _flip_about_centre(v, 2) if flip_y else v
        views.append(_flip_about_centre(v, 3) if flip_x else v)
    return views


def predict_proba_dihedral(model, loader, *, device=None) -> np.ndarray:
    """float64 mean sigmoid probability over the 8 dihedral views of every item of ``loader``, in order."""
    import torch

    from rapid_croissant.ml.device import autocast
    from rapid_croissant.ml.models import _batch_input

    model.eval()
    out = []
    with torch.no_grad(), autocast(device):
        for cutout, valid, feats, _ in loader:
            f = feats if device is None or device.type == "cpu" else feats.to(device)
            x = torch.cat([cutout, valid], 1)
            probs = [
                torch.sigmoid(model(_batch_input(v[:, :-1], v[:, -1:], device), f).float()).cpu()
                for v in dihedral_views(x)
            ]
            out.append(torch.stack(probs).mean(0))
    return torch.cat(out).numpy().astype(np.float64) if out else np.empty(0)
