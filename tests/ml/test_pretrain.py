"""pretrain (ml/pretrain.py, ml/pretrain_data.py, ml/card.py, cli/pretrain.py): the plan of domains, a
reproducible run on a small dataset, the weights file and the model card."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from ml_fixtures import SPLIT_OF, write_ml_dataset
from rapid_croissant.cli import main as main_cli
from rapid_croissant.ml.pretrain import PretrainConfig, job_splits, pretrain
from rapid_croissant.ml.pretrain_data import group_of_jobs, plan_groups
from rapid_croissant.ml.weights import load_weights, sha256_of


@pytest.fixture(scope="module")
def ml_dataset(tmp_path_factory):
    return write_ml_dataset(tmp_path_factory.mktemp("pre") / "ds")


def test_plan_has_many_domains_both_eras_rapid_density_and_never_b():
    groups = plan_groups(n_domains=10, jobs_per_domain=8, n_heldout=2)
    train = [g for g in groups if not g.heldout]
    held = [g for g in groups if g.heldout]
    assert len(train) == 10 and len(held) == 2
    assert {g.era for g in train} == {"2025", "2026"}
    assert any(g.density == "rapid" for g in train) and any(g.density == "sim" for g in train)
    assert "B" not in {g.domain for g in groups}
    assert not {g.domain_seed for g in held} & {g.domain_seed for g in train}
    jids = [j for g in groups for j in g.jids()]
    assert len(jids) == len(set(jids)) == 96
    # more training domains keep the first groups and the held-out ones as they were (reuse on rerun)
    bigger = plan_groups(n_domains=12, jobs_per_domain=8, n_heldout=2)
    assert bigger[:10] == train and [g for g in bigger if g.heldout] == held


def test_job_splits_hold_out_whole_domains():
    groups = plan_groups(n_domains=2, jobs_per_domain=4, n_heldout=1)
    of = group_of_jobs(groups)
    jobs = pd.DataFrame({"jid": list(of), "split": ["train", "val", "test", "train"] * 3})
    splits, domain = job_splits(jobs, groups)
    for jid, split in splits.items():
        own = jobs.set_index("jid").loc[jid, "split"]
        if of[jid].heldout:
            assert split == "test"
        else:
            assert split == ("train" if own == "train" else "val")
        assert domain[jid] == of[jid].name
    # without a plan the dataset's own splits are used
    own, _ = job_splits(jobs, None)
    assert own == dict(zip(jobs["jid"], jobs["split"], strict=True))


def _run(ds, out, work, seed=0):
    cfg = PretrainConfig(out=out, work=work, dataset=ds, epochs=2, seed=seed, n_boot=50, command="test")
    return pretrain(cfg)


def test_pretrain_is_reproducible_and_writes_weights_and_card(ml_dataset, tmp_path):
    a = _run(ml_dataset, tmp_path / "a", tmp_path / "wa")
    b = _run(ml_dataset, tmp_path / "b", tmp_path / "wb")
    wa, wb = load_weights(tmp_path / "a" / "cnn_v1.pt"), load_weights(tmp_path / "b" / "cnn_v1.pt")
    assert wa.state_dict.keys() == wb.state_dict.keys()
    for k in wa.state_dict:
        assert torch.equal(wa.state_dict[k], wb.state_dict[k]), k
    assert a["held_out"]["all held-out"]["roc_auc"] == b["held_out"]["all held-out"]["roc_auc"]
    # the sha256 file and the card name the file's real hash; the metrics file matches the card
    sha = sha256_of(tmp_path / "a" / "cnn_v1.pt")
    assert (tmp_path / "a" / "cnn_v1.pt.sha256").read_text().split()[0] == sha == a["weights"]["sha256"]
    card = (tmp_path / "a" / "MODEL_CARD.md").read_text()
    assert sha in card and "Limits" in card and "simulated data only" in card.lower()
    auc = a["held_out"]["all held-out"]["roc_auc"]["value"]
    assert f"{auc:.3f}" in card
    assert json.loads((tmp_path / "a" / "pretrain_metrics.json").read_text())["weights"]["sha256"] == sha
    # held out: the dataset's test jobs only, never trained on
    test_jobs = {j for j, s in SPLIT_OF.items() if s == "test"}
    assert a["held_out"]["all held-out"]["n_jobs"] == len(test_jobs)
    assert wa.meta["channels"][-1] == "valid" and wa.meta["feature_names"]
    c = _run(ml_dataset, tmp_path / "c", tmp_path / "wc", seed=1)
    wc = load_weights(tmp_path / "c" / "cnn_v1.pt")
    assert any(not torch.equal(wa.state_dict[k], wc.state_dict[k]) for k in wa.state_dict)
    assert c["weights"]["sha256"] != sha


def test_pretrain_cli_help_and_run(ml_dataset, tmp_path):
    runner = CliRunner()
    help_text = runner.invoke(main_cli.cli, ["pretrain", "--help"]).output
    for option in ("--out", "--work", "--dataset", "--domains", "--heldout", "--epochs", "--seed"):
        assert option in help_text
    args = ["pretrain", "-d", str(ml_dataset), "-o", str(tmp_path / "o"), "--work", str(tmp_path / "w")]
    result = runner.invoke(main_cli.cli, [*args, "--epochs", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.output and (tmp_path / "o" / "MODEL_CARD.md").is_file()
