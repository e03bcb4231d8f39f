"""--device: the CPU is the default and the tested path; a missing accelerator is a clean error."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from rapid_croissant.cli.main import cli
from rapid_croissant.config import TrainConfig
from rapid_croissant.errors import ConfigError, RapidCroissantError
from rapid_croissant.ml.device import autocast, memory_format, resolve_device


def test_cpu_is_the_default_and_keeps_float32_and_the_default_layout():
    assert TrainConfig().device == "cpu"
    device = resolve_device("cpu")
    assert device.type == "cpu" and memory_format(device) == torch.contiguous_format
    with autocast(device):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32


def test_auto_picks_an_available_device():
    expected = (
        "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_accelerator_is_a_clean_error(tmp_path):
    with pytest.raises(RapidCroissantError, match="sees no CUDA device; use --device cpu"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="device must be one of"):
        TrainConfig(device="gpu")
    out = CliRunner().invoke(cli, ["train", "-d", str(tmp_path), "--device", "tpu"])
    assert out.exit_code == 2 and "'tpu' is not one of" in out.output
