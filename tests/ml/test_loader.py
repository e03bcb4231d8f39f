"""Cutouts for the CNN (ml/loader.py): centring, edge padding, masks, native PSF, split hygiene."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_fixtures import EDGE_XY, NAN_ROWS, PSF_SIZE, SIZE, write_ml_dataset
from rapid_croissant.dataset import schema
from rapid_croissant.ml.data import feature_matrix, load_tables, select_candidates, split_rows
from rapid_croissant.ml.loader import (
    CutoutDataset,
    input_channels,
    job_cutouts,
    precompute_cutouts,
    random_dihedral,
)


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("ml") / "ds")


def _coded_image(h=40, w=50) -> np.ndarray:
    """Channel k of pixel (row, col) holds 1000 k + w row + col (exact in float32)."""
    rows, cols = np.mgrid[:h, :w]
    return np.stack([1000.0 * k + 1.0 * rows * w + cols for k in range(len(schema.CHANNELS))], -1).astype(
        np.float32
    )


@pytest.mark.parametrize(("x", "col"), [(10.4, 10), (10.5, 11), (10.6, 11), (-0.4, 0)])
def test_cutout_centred_by_rounding(x, col):
    image = _coded_image()
    cut = job_cutouts(image, None, None, [x], [20.0], channels=("sci",), size=8)[0]
    assert cut[0, 4, 4] == 20 * 50 + col  # the candidate pixel sits at index size // 2


def test_channels_per_algorithm():
    assert input_channels("zogy") == ("sci", "ref", "zogy_diff", "zogy_scorr", "psf", "zogy_uncert", "valid")
    assert input_channels("sfft") == ("sci", "ref", "sfft_diff", "sfft_scorr", "psf", "sfft_uncert", "valid")
    assert input_channels("both") == (*schema.CHANNELS, "valid")


def test_edge_candidate_keeps_its_pixel_at_the_centre(ml_dataset):
    rows = select_candidates(load_tables(ml_dataset).candidates, algorithm="zogy")
    edge = rows[rows["candidate_id"].str.endswith("_0")].iloc[:1]
    cut = precompute_cutouts(ml_dataset, edge, algorithm="zogy")[0]
    image = np.load(ml_dataset / "images" / f"{edge['jid'].iloc[0]}.npy")
    col, row = int(np.floor(EDGE_XY[0] + 0.5)), int(np.floor(EDGE_XY[1] + 0.5))
    assert (col, row) == (0, SIZE - 1)
    assert cut[0, 32, 32] == image[row, col, schema.CHANNELS.index("sci")]
    valid = cut[-1]
    assert valid[32, 32] == 1 and valid[:, :32].sum() == 0 and valid[33:, :].sum() == 0  # padding is invalid
    assert valid[:33, 32:].all()  # everything inside the image is valid (no channel of zogy is masked there)
    assert (cut[0][valid == 0] == 0).all()


def test_mask_bits_of_chosen_channels_make_pixels_invalid(ml_dataset):
    rows = select_candidates(load_tables(ml_dataset).candidates, algorithm="both")
    low = rows[(rows["cy"] > 15) & (rows["cy"] < 30) & (rows["cx"] > 40) & (rows["cx"] < 60)].iloc[:1]
    assert len(low) == 1
    row0 = int(np.floor(low["cy"].iloc[0] + 0.5)) - 32  # image row at cutout row 0
    for alg, k in (("sfft", input_channels("sfft").index("sfft_diff")), ("zogy", None)):
        cut = precompute_cutouts(ml_dataset, low, algorithm=alg)[0]
        nan_rows = np.arange(64)[(np.arange(64) + row0 >= 0) & (np.arange(64) + row0 < NAN_ROWS)]
        assert nan_rows.size > 0
        if k is None:  # ZOGY channels are not masked there
            assert cut[-1][nan_rows].all()
        else:
            assert not cut[-1][nan_rows].any() and not cut[k][nan_rows].any()
            assert cut[-1][nan_rows.max() + 1 :].all()


def test_psf_channel_is_the_native_stamp_centred(ml_dataset):
    rows = select_candidates(load_tables(ml_dataset).candidates, algorithm="zogy").iloc[:5]
    cuts = precompute_cutouts(ml_dataset, rows, algorithm="zogy")
    k = input_channels("zogy").index("psf")
    half = PSF_SIZE // 2
    for cut, jid in zip(cuts, rows["jid"], strict=True):
        stamp = np.load(ml_dataset / "psfs" / f"{jid}.npy")
        np.testing.assert_array_equal(cut[k, 32 - half : 32 + half + 1, 32 - half : 32 + half + 1], stamp)
        assert cut[k].sum() == pytest.approx(stamp.sum())  # zero outside the stamp
        assert np.unravel_index(cut[k].argmax(), cut[k].shape) == (32, 32)


def test_psf_larger_than_cutout_is_cropped_around_its_centre():
    stamp = np.zeros((21, 21), np.float32)
    stamp[10, 10] = 1.0
    stamp[0, 0] = 2.0
    cut = job_cutouts(_coded_image(), None, stamp, [25.0], [20.0], channels=("psf",), size=8)[0]
    assert cut[0, 4, 4] == 1.0 and cut[0].sum() == 1.0


def test_dataset_items_match_the_fast_path_and_are_deterministic(ml_dataset):
    tables = load_tables(ml_dataset)
    rows = select_candidates(tables.candidates, algorithm="sfft")
    train = split_rows(rows, "train")
    _, names, stats = feature_matrix(train, algorithm="sfft")
    ds = CutoutDataset(ml_dataset, train, algorithm="sfft", feature_stats=stats)
    fast = precompute_cutouts(ml_dataset, train, algorithm="sfft")
    np.testing.assert_array_equal(fast, precompute_cutouts(ml_dataset, train, algorithm="sfft"))
    for i in (0, 7, len(ds) - 1):
        cutout, valid, feats, label = ds[i]
        assert cutout.shape == (6, 64, 64) and valid.shape == (1, 64, 64) and cutout.dtype == torch.float32
        np.testing.assert_array_equal(torch.cat([cutout, valid]).numpy(), fast[i])
        assert feats.shape == (len(names),) and label.item() == train["target"].iloc[i]


def test_no_job_in_two_splits_of_what_the_loader_yields(ml_dataset):
    rows = select_candidates(load_tables(ml_dataset).candidates, algorithm="both")
    _, _, stats = feature_matrix(split_rows(rows, "train"), algorithm="both")
    jobs = {
        s: set(CutoutDataset(ml_dataset, split_rows(rows, s), algorithm="both", feature_stats=stats).jids)
        for s in schema.SPLITS
    }
    assert all(jobs.values())
    assert not (jobs["train"] & jobs["val"] or jobs["train"] & jobs["test"] or jobs["val"] & jobs["test"])


def test_built_dataset_loader_keeps_splits_apart_and_centres(built_dataset):
    tables = load_tables(built_dataset)
    rows = select_candidates(tables.candidates, algorithm="both")
    split_of_job = dict(zip(tables.jobs["jid"], tables.jobs["split"], strict=True))
    seen = {}
    for s in schema.SPLITS:
        part = split_rows(rows, s)
        for jid in part["jid"]:
            assert split_of_job[jid] == s
            assert seen.setdefault(jid, s) == s
    sample = rows.groupby("jid").head(2)
    cuts = precompute_cutouts(built_dataset, sample, algorithm="both")
    k = input_channels("both").index("psf")
    for cut, jid in zip(cuts, sample["jid"], strict=True):
        stamp = np.load(built_dataset / "psfs" / f"{jid}.npy")
        half = stamp.shape[0] // 2
        np.testing.assert_array_equal(cut[k, 32 - half : 32 + half + 1, 32 - half : 32 + half + 1], stamp)


def test_random_dihedral_keeps_the_centre_and_reaches_all_eight():
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).reshape(1, 2, 8, 8).repeat(64, 1, 1, 1) + 1
    out = random_dihedral(x, torch.Generator().manual_seed(0))
    assert (out[:, :, 4, 4] == x[:, :, 4, 4]).all()
    # Neighbours of the centre are permuted among themselves: the 8 symmetries give distinct layouts.
    ring = out[:, 0, 3:6, 3:6].reshape(64, -1)
    assert len({tuple(r.tolist()) for r in ring}) == 8
    assert sorted(ring[0].tolist()) == sorted(x[0, 0, 3:6, 3:6].reshape(-1).tolist())
