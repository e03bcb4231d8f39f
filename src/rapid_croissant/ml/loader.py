"""Cutouts for the CNN: the algorithm's channels around each candidate, the native PSF and a validity channel.

Cutouts are centred by rounding, with symmetric padding at the image edge (science.cutouts), so the candidate
pixel is always at index ``size // 2``. A pixel is invalid when it lies outside the image or when one of the
chosen channels was NaN there (the bits of ``masks/<jid>.npy``); invalid pixels hold 0 and the last channel
of every cutout is 1 where all chosen channels are valid. The PSF channel is replaced by the job's native
PSF stamp (``psfs/<jid>.npy``), centred on the candidate pixel: the full-frame resize of the seed carried
no information (rapid_formats.md §9 item 10).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.ml.data import ALGORITHMS, feature_matrix
from rapid_croissant.science.cutouts import job_cutouts

__all__ = [
    "ALGORITHM_CHANNELS",
    "CutoutDataset",
    "input_channels",
    "job_cutouts",
    "make_dataloader",
    "precompute_cutouts",
    "random_dihedral",
]

log = logging.getLogger(__name__)

#: Image channels the CNN of each algorithm sees, in this order (the validity channel is appended).
ALGORITHM_CHANNELS = schema.CUTOUT_CHANNELS


def input_channels(algorithm: str) -> tuple[str, ...]:
    """Names of the cutout channels of ``algorithm``, the trailing ``valid`` channel included."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    return (*ALGORITHM_CHANNELS[algorithm], "valid")


class _JobArrays:
    """Memmapped image, mask and PSF of each job, opened once and kept."""

    def __init__(self, dataset_dir: Path):
        self.root = dataset_dir
        self._cache: dict[str, tuple] = {}

    def __getstate__(self) -> dict:  # memmaps are reopened in a worker process, never pickled whole
        return {"root": self.root, "_cache": {}}

    def __call__(self, jid: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        if jid not in self._cache:
            layout = Layout(self.root)
            image_path = layout.image(jid)
            if not image_path.is_file():
                raise FileNotFoundError(
                    f"{image_path}: no image tensor for job {jid} (built without images?)"
                )
            mask_path, psf_path = layout.mask(jid), layout.psf(jid)
            mask = np.load(mask_path, mmap_mode="r") if mask_path.is_file() else None
            psf = np.load(psf_path) if psf_path.is_file() else None
            if psf is None:
                log.warning("%s: no PSF stamp, the PSF channel of job %s stays 0", psf_path, jid)
            self._cache[jid] = (np.load(image_path, mmap_mode="r"), mask, psf)
        return self._cache[jid]


def _from_store(
    dataset_dir: Path, rows: pd.DataFrame, out: np.ndarray, *, algorithm: str, size: int
) -> np.ndarray:
    """Fill ``out`` from the cutout store where a row's cutout centre is the store's; return the rows done."""
    from rapid_croissant.dataset.cutouts import CutoutStore

    done = np.zeros(len(rows), dtype=bool)
    if not CutoutStore.exists(dataset_dir) or "split" not in rows.columns:
        return done
    for split in pd.unique(rows["split"].astype(str)):
        store = CutoutStore(dataset_dir, split)
        if store.meta["size"] != size:
            continue
        where = np.flatnonzero((rows["split"].astype(str) == split).to_numpy())
        sub = rows.iloc[where]
        # the store is centred on (x, y); an algorithm's own position may round to another pixel
        same = (
            (np.floor(sub["cx"].to_numpy(float) + 0.5) == np.floor(sub["x"].to_numpy(float) + 0.5))
            & (np.floor(sub["cy"].to_numpy(float) + 0.5) == np.floor(sub["y"].to_numpy(float) + 0.5))
            & sub["candidate_id"].isin(store.index["candidate_id"]).to_numpy()
        )
        use = where[same]
        if len(use):
            out[use] = store.get(store.rows_of(rows["candidate_id"].iloc[use]), algorithm=algorithm)
            done[use] = True
    return done


def precompute_cutouts(
    dataset_dir: str | Path, rows: pd.DataFrame, *, algorithm: str, size: int = 64, use_store: bool = True
) -> np.ndarray:
    """All cutouts of ``rows`` (positions ``cx``, ``cy`` from select_candidates) in row order, job by job.

    Reads the cutout store (``cutouts/``) when the dataset has one, the full-frame tensors otherwise.
    """
    channels = input_channels(algorithm)[:-1]
    out = np.empty((len(rows), len(channels) + 1, size, size), dtype=np.float32)
    done = _from_store(Path(dataset_dir), rows, out, algorithm=algorithm, size=size) if use_store else None
    arrays = _JobArrays(Path(dataset_dir))
    jids = rows["jid"].astype(str).to_numpy()
    for jid in pd.unique(jids if done is None else jids[~done]):
        where = np.flatnonzero((jids == jid) & (True if done is None else ~done))
        image, mask, psf = arrays(jid)
        xs, ys = rows["cx"].to_numpy(float)[where], rows["cy"].to_numpy(float)[where]
        out[where] = job_cutouts(image, mask, psf, xs, ys, channels=channels, size=size)
    return out


class CutoutDataset(Dataset):
    """Map-style dataset of ``(cutout (C, size, size), valid (1, size, size), features (F,), label)`` float32 tensors.

    ``rows`` come from :func:`~rapid_croissant.ml.data.select_candidates`; ``feature_stats`` are the
    training statistics of :func:`~rapid_croissant.ml.data.feature_matrix`. ``valid`` is 1 where every
    channel of the cutout is valid; the CNN takes it as an extra input channel.
    """

    def __init__(
        self,
        dataset_dir: str | Path,
        rows: pd.DataFrame,
        *,
        algorithm: str,
        size: int = 64,
        feature_stats: dict,
    ):
        self.channels = input_channels(algorithm)
        self.size = size
        self.rows = rows.reset_index(drop=True)
        self.jids = self.rows["jid"].astype(str).to_numpy()
        self.candidate_ids = self.rows["candidate_id"].astype(str).to_numpy()
        features, self.feature_names, _ = feature_matrix(self.rows, algorithm=algorithm, stats=feature_stats)
        self.features = torch.from_numpy(features)
        self.labels = torch.from_numpy(self.rows["target"].to_numpy(dtype=np.float32, copy=True))
        self._xy = self.rows[["cx", "cy"]].to_numpy(float)
        self._arrays = _JobArrays(Path(dataset_dir))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int):
        image, mask, psf = self._arrays(self.jids[i])
        x, y = self._xy[i]
        cutout = job_cutouts(image, mask, psf, [x], [y], channels=self.channels[:-1], size=self.size)[0]
        cutout = torch.from_numpy(cutout)
        return cutout[:-1], cutout[-1:], self.features[i], self.labels[i]


def make_dataloader(
    dataset_dir: str | Path,
    rows: pd.DataFrame,
    X: np.ndarray,
    y: np.ndarray,
    *,
    algorithm: str,
    feature_stats: dict,
    size: int = 64,
    batch_size: int = 128,
    shuffle: bool = False,
    seed: int = 0,
    max_in_memory_mb: float = 4096,
) -> DataLoader:
    """A DataLoader of (cutout, valid, features, label) batches in a seeded order (num_workers=0).

    Cutouts are precomputed in memory when they fit in ``max_in_memory_mb``, else read lazily through
    :class:`CutoutDataset`; both give identical batches. ``X`` are the already scaled features of ``rows``.
    """
    n_bytes = len(rows) * len(input_channels(algorithm)) * size**2 * 4
    if n_bytes <= max_in_memory_mb * 2**20:
        cut = torch.from_numpy(precompute_cutouts(dataset_dir, rows, algorithm=algorithm, size=size))
        labels = torch.from_numpy(np.asarray(y, dtype=np.float32).copy())
        data = TensorDataset(
            cut[:, :-1], cut[:, -1:], torch.from_numpy(np.array(X, dtype=np.float32)), labels
        )
    else:
        data = CutoutDataset(dataset_dir, rows, algorithm=algorithm, size=size, feature_stats=feature_stats)
    drop_last = shuffle and len(data) % batch_size == 1  # BatchNorm cannot train on a batch of one
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last)


def _flip_about_centre(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Mirror along ``dim`` keeping index ``size // 2`` in place (a plain flip moves it by one for even sizes)."""
    y = x.flip(dim).roll(1, dim)
    y.select(dim, 0).zero_()  # the wrapped-around line lies outside the mirrored window: 0 and invalid
    return y


def random_dihedral(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply one of the 8 rotations/flips of the square, drawn per sample, to a (B, C, S, S) batch.

    Transpose and the two centre-keeping mirrors generate all eight; the candidate pixel and the PSF
    centre stay at ``S // 2``.
    """
    draws = torch.randint(0, 2, (3, x.shape[0]), generator=generator).bool()
    out = x.clone()
    if draws[0].any():
        out[draws[0]] = out[draws[0]].transpose(2, 3)
    for k, dim in ((1, 2), (2, 3)):
        if draws[k].any():
            out[draws[k]] = _flip_about_centre(out[draws[k]], dim)
    return out
