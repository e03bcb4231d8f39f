"""Where a CNN runs: ``--device auto|cpu|cuda|mps``, and the settings each device gets.

CUDA gets channels-last tensors and bfloat16 autocast (tensor cores use both; bfloat16 needs no loss
scaling), when the GPU supports bfloat16. The CPU and MPS keep float32 in the default layout: on this
project's 2-core CPU channels-last training of the small CNN was within the noise of the default layout
(BENCHMARKS.md), so it is not worth a second code path; no GPU was available to measure. The CPU is the
default and the tested path; torch is imported only when a device is resolved.
"""

from __future__ import annotations

import contextlib
import logging

from rapid_croissant.config import DEVICES
from rapid_croissant.errors import RapidCroissantError

__all__ = ["autocast", "memory_format", "resolve_device"]

log = logging.getLogger(__name__)


def _available(kind: str) -> bool:
    import torch

    if kind == "cuda":
        return bool(torch.cuda.is_available())
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return True


def resolve_device(name: str = "cpu"):
    """The torch.device for ``name``; a clear error when the requested accelerator is not there."""
    import torch

    if name not in DEVICES:
        raise RapidCroissantError(f"device must be one of {DEVICES}, got {name!r}")
    if name == "auto":
        name = next(k for k in ("cuda", "mps", "cpu") if _available(k))
        log.info("device auto: using %s", name)
    elif not _available(name):
        raise RapidCroissantError(
            f"device {name!r}: this torch build ({torch.__version__}) sees no {name.upper()} device; "
            "use --device cpu (or auto)"
        )
    return torch.device(name)


def memory_format(device):
    """channels_last on CUDA, the default contiguous layout elsewhere."""
    import torch

    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def autocast(device):
    """bfloat16 autocast on a CUDA device that supports it, else (CPU, MPS, None) a no-op context."""
    import torch

    if device is not None and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
