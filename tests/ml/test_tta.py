"""Test-time dihedral averaging (ml/tta.py): the 8 views keep the centre, the average is over all 8."""

from __future__ import annotations

import numpy as np
import torch

from rapid_croissant.ml.tta import N_VIEWS, dihedral_views, predict_proba_dihedral


def test_eight_distinct_views_keep_the_centre_pixel():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    views = dihedral_views(x)
    assert len(views) == N_VIEWS and torch.equal(views[0], x)
    flat = {tuple(v[0, 0].flatten().tolist()) for v in views}
    assert len(flat) == N_VIEWS
    for v in views:
        assert v.shape == x.shape and torch.equal(v[:, :, 4, 4], x[:, :, 4, 4])


class _FirstRowSum(torch.nn.Module):
    """Not rotation invariant: the logit is the sum of the cutout's first row (minus a feature)."""

    def forward(self, x, feats):
        return x[:, 0, 0, :].sum(1) - feats[:, 0]


def test_average_is_the_mean_probability_over_the_views():
    gen = torch.Generator().manual_seed(0)
    cutout = torch.randn(5, 2, 8, 8, generator=gen)
    valid = torch.ones(5, 1, 8, 8)
    feats = torch.randn(5, 1, generator=gen)
    loader = [(cutout[:3], valid[:3], feats[:3], None), (cutout[3:], valid[3:], feats[3:], None)]
    got = predict_proba_dihedral(_FirstRowSum(), loader)
    x = torch.cat([cutout, valid], 1)
    expected = torch.stack([torch.sigmoid(v[:, 0, 0, :].sum(1) - feats[:, 0]) for v in dihedral_views(x)])
    np.testing.assert_allclose(got, expected.mean(0).numpy(), rtol=1e-6)
    plain = torch.sigmoid(cutout[:, 0, 0, :].sum(1) - feats[:, 0]).numpy()
    assert not np.allclose(got, plain)  # the views do change this model's output
