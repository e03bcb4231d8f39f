"""BuildConfig from a dict, a TOML file and the build command's --config: a misspelled key is an error
that suggests the right name; defaults < file < command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from io_fixtures import make_job
from rapid_croissant.cli.main import cli
from rapid_croissant.config import BuildConfig, check_keys
from rapid_croissant.dataset import Layout
from rapid_croissant.errors import ConfigError


def test_check_keys_suggests_the_closest_name():
    check_keys(["a", "b"], ["a", "b", "c"], "here")
    with pytest.raises(
        ConfigError, match=r"here: unknown key\(s\) 'match_radus' \(did you mean 'match_radius'\?\)"
    ):
        check_keys(["match_radus"], ["match_radius", "merge_radius"], "here")
    with pytest.raises(ConfigError, match=r"'zzz'; known keys: a, b"):
        check_keys(["zzz"], ["a", "b"], "here")


def test_from_dict_accepts_dashes_and_rejects_misspellings(tmp_path):
    cfg = BuildConfig.from_dict({"input-dir": tmp_path / "i", "output_dir": tmp_path / "o", "mag-limit": 25})
    assert (cfg.input_dir, cfg.mag_limit) == (tmp_path / "i", 25)
    with pytest.raises(ConfigError, match=r"options: .*'merge_raduis' \(did you mean 'merge_radius'\?\)"):
        BuildConfig.from_dict({"input_dir": "i", "output_dir": "o", "merge_raduis": 2.0})


def test_from_toml_layers_defaults_file_and_overrides(tmp_path):
    path = tmp_path / "build.toml"
    path.write_text('[build]\nmatch_radius = 3.0\nmag_limit = 27.5\ninput_dir = "jobs"\n')
    cfg = BuildConfig.from_toml(
        path, defaults={"output_dir": "out", "match_radius": 4.0}, mag_limit=25.0, input_dir="other"
    )
    assert (cfg.match_radius, cfg.mag_limit, str(cfg.input_dir), str(cfg.output_dir)) == (
        3.0,
        25.0,
        "other",
        "out",
    )
    path.write_text('input_dir = "jobs"\noutput_dir = "out"\nmin_truth_snr = 3\n')  # top-level keys
    assert BuildConfig.from_toml(path).min_truth_snr == 3


def test_from_toml_names_the_file_and_the_right_key(tmp_path):
    path = tmp_path / "build.toml"
    path.write_text("[build]\ntruth_orgin = 0\n")
    with pytest.raises(
        ConfigError, match=r"build.toml: unknown key\(s\) 'truth_orgin' \(did you mean 'truth_origin'\?\)"
    ):
        BuildConfig.from_toml(path, defaults={"input_dir": "i", "output_dir": "o"})
    path.write_text("[build\n")
    with pytest.raises(ConfigError, match="cannot read"):
        BuildConfig.from_toml(path)


def test_build_command_reads_the_config_and_the_command_line_wins(tmp_path):
    make_job(tmp_path / "jobs", "jid1")
    config = tmp_path / "build.toml"
    config.write_text("[build]\nmatch_radius = 3.0\nmerge_radius = 2.0\nworkers = 1\n")
    out = tmp_path / "out"
    args = ["-q", "build", "-i", str(tmp_path / "jobs"), "-o", str(out), "--config", str(config)]
    result = CliRunner().invoke(cli, [*args, "--merge-radius", "1.0"])
    assert result.exit_code == 0, result.output
    info = json.loads(Layout(out).build_info.read_text())["config"]
    assert (info["match_radius"], info["merge_radius"], info["mag_limit"]) == (3.0, 1.0, 26.0)


def test_build_command_rejects_a_misspelled_config_key(tmp_path):
    config = tmp_path / "build.toml"
    config.write_text("mag_limt = 25\n")
    result = CliRunner().invoke(
        cli, ["build", "-i", str(tmp_path), "-o", str(tmp_path / "o"), "--config", str(config)]
    )
    assert result.exit_code == 1
    assert "did you mean 'mag_limit'?" in result.output
