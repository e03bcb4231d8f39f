"""Initial CNN weights for ``train --init``: the pretrained weights shipped in the package, or a file.

A weights file (written by ``pretrain``) is a torch file holding ``{"state_dict": ..., "meta": ...}``;
``meta`` names the algorithm, the input channels, the feature columns in order, the cutout size and the
encoder widths. The feature *statistics* are not taken from it: fine-tuning recomputes the median/IQR
scaling on the new dataset's train rows for the same feature columns, so the network sees features on the
scale it learned, measured on the data at hand. A file is read with ``weights_only=True`` (no code runs).
Nothing is downloaded: the shipped file sits in ``rapid_croissant/ml/pretrained/``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from rapid_croissant.errors import RapidCroissantError

__all__ = [
    "INIT_CHOICES",
    "PRETRAINED_DIR",
    "InitWeights",
    "load_weights",
    "resolve_init",
    "save_weights",
    "sha256_of",
    "shipped_path",
]

log = logging.getLogger(__name__)

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
#: The shipped weights file of each candidate set (only ``both``, the seed's default, is pretrained).
SHIPPED = {"both": "cnn_v1.pt"}
#: auto: the shipped weights when there are some for the algorithm, else scratch.
INIT_CHOICES = ("auto", "pretrained", "scratch")
FORMAT = "rapid-croissant-cnn-weights/1"


@dataclass(frozen=True)
class InitWeights:
    """Weights to start from, where they came from and what layout they expect."""

    path: Path
    sha256: str
    meta: dict
    state_dict: dict

    def record(self, kind: str) -> dict:
        """What the run folder's config.json says about the initial weights."""
        return {"kind": kind, "path": str(self.path), "sha256": self.sha256, "name": self.meta.get("name")}


def sha256_of(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def shipped_path(algorithm: str) -> Path | None:
    """The shipped weights file of ``algorithm``, or None when there is none."""
    name = SHIPPED.get(algorithm)
    path = PRETRAINED_DIR / name if name else None
    return path if path is not None and path.is_file() else None


def save_weights(path: str | Path, state_dict: dict, meta: dict) -> str:
    """Write a weights file (tensors made contiguous, CPU) and return its sha256."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    torch.save({"format": FORMAT, "meta": dict(meta), "state_dict": state}, path)
    return sha256_of(path)


def load_weights(path: str | Path) -> InitWeights:
    """Read a weights file written by ``pretrain``; a one-line error when it is not one."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise RapidCroissantError(
            f"{path}: no such weights file (--init takes auto, pretrained, scratch or a file)"
        )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a foreign file
        raise RapidCroissantError(
            f"{path}: not a readable torch weights file ({type(err).__name__})"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise RapidCroissantError(
            f"{path}: not a rapid-croissant weights file (written by `rapid-croissant pretrain`)"
        )
    return InitWeights(path, sha256_of(path), blob["meta"], blob["state_dict"])


def resolve_init(init: str, *, algorithm: str, model: str) -> tuple[str, InitWeights | None]:
    """(kind, weights) for ``--init``: kind is scratch, pretrained or file; weights None for scratch."""
    if model != "cnn" or init == "scratch":
        return "scratch", None
    if init in ("auto", "pretrained"):
        path = shipped_path(algorithm)
        if path is None:
            if init == "auto":
                log.info("no shipped pretrained weights for -a %s: training from scratch", algorithm)
                return "scratch", None
            raise RapidCroissantError(
                f"{PRETRAINED_DIR}: no pretrained weights for algorithm {algorithm!r} (shipped: "
                f"{', '.join(SHIPPED)}); use --init scratch or --init FILE"
            )
        return "pretrained", load_weights(path)
    return "file", load_weights(init)


def check_layout(weights: InitWeights, *, channels: tuple[str, ...], cutout_size: int) -> None:
    """A one-line error when the weights were made for other input channels or another cutout size."""
    want = list(weights.meta.get("channels", []))
    if want != list(channels):
        raise RapidCroissantError(
            f"{weights.path}: weights expect channels {want}, the data gives {list(channels)} "
            "(another --algorithm?); use --init scratch"
        )
    size = weights.meta.get("cutout_size")
    if size != cutout_size:
        raise RapidCroissantError(
            f"{weights.path}: weights were trained on {size}x{size} cutouts, not {cutout_size}x{cutout_size}"
        )


def load_into(model, weights: InitWeights) -> None:
    """Copy the weights into ``model``; a one-line error naming the first layer whose shape differs."""
    own = model.state_dict()
    for name, tensor in weights.state_dict.items():
        if name not in own or tuple(own[name].shape) != tuple(tensor.shape):
            have = tuple(own[name].shape) if name in own else "absent"
            raise RapidCroissantError(
                f"{weights.path}: layer {name} has shape {tuple(tensor.shape)} in the weights but {have} "
                "in the network (another feature or channel layout); use --init scratch"
            )
    missing = sorted(set(own) - set(weights.state_dict))
    if missing:
        raise RapidCroissantError(
            f"{weights.path}: the weights lack layers {missing[:3]}; use --init scratch"
        )
    model.load_state_dict(weights.state_dict)
