"""``rapid-croissant train``: train a real/bogus classifier on a built dataset and save a run folder."""

from __future__ import annotations

import click

from rapid_croissant.cli.options import dataset_option, device_option
from rapid_croissant.config import CANDIDATE_SETS, MODELS, PROTOCOLS

#: ``--init``: the CNN's first weights.
init_option = click.option(
    "--init",
    default="auto",
    show_default=True,
    metavar="auto|pretrained|scratch|FILE",
    help="CNN start: the shipped pretrained weights (auto: when there are some for --algorithm, i.e. both), "
    "random weights (scratch) or a weights file written by `pretrain`. Recorded in the run folder.",
)

#: Validation numbers printed after training (test numbers belong to `evaluate`).
_SHOWN = ("roc_auc", "average_precision", "balanced_accuracy", "mcc", "fpr_at_fnr_5pct", "mdr_at_fpr_1pct")


def _overrides(ctx: click.Context, values: dict) -> dict:
    """The options given on the command line (not left at their default)."""
    default = click.core.ParameterSource.DEFAULT
    return {k: v for k, v in values.items() if ctx.get_parameter_source(k) != default}


def format_training(run, metrics: dict) -> str:
    """What train prints: the run folder, the threshold and the validation metrics it was chosen with."""
    from rapid_croissant.ml.formatting import fmt_number
    from rapid_croissant.ml.run import RunFolder

    val = metrics["val"]
    lines = [f"run folder: {run}", f"threshold (chosen on val): {metrics['threshold']:.4f}"]
    init = RunFolder(run).config().get("init_weights") or {}
    if init.get("sha256"):
        lines.append(f"initial weights: {init['kind']} {init.get('name')} (sha256 {init['sha256'][:16]}...)")
    elif init:
        lines.append(f"initial weights: {init['kind']}")
    lines.append(f"val: {val['n']} candidates ({val['n_pos']} real) in {val['n_jobs']} job(s)")
    lines += [f"  {key:<20} {fmt_number(val.get(key), '.4f')}" for key in _SHOWN]
    return "\n".join(lines)


@click.command("train")
@dataset_option
@click.option(
    "-a",
    "--algorithm",
    type=click.Choice(CANDIDATE_SETS),
    default="both",
    show_default=True,
    help="Candidates, channels and features of one algorithm, or both (the union).",
)
@click.option(
    "--model",
    type=click.Choice(MODELS),
    default="cnn",
    show_default=True,
    help="cnn: small CNN on cutouts + features; gbt: gradient-boosted trees on features.",
)
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOLS),
    default="A",
    show_default=True,
    help="A: each algorithm's own detections; B: only candidates detected by both.",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=30, show_default=True, help="CNN epochs (at most)."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--runs",
    "run_root",
    type=click.Path(file_okay=False),
    default="runs",
    show_default=True,
    help="Folder in which the time-stamped run folder is created.",
)
@click.option("--no-augment", is_flag=True, help="Train the CNN without random rotations/flips.")
@init_option
@device_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="JSON or TOML file of training options (TrainConfig names); options given here win.",
)
@click.pass_context
def command(
    ctx,
    dataset_dir,
    algorithm,
    model,
    protocol,
    epochs,
    seed,
    run_root,
    no_augment,
    init,
    device,
    config_file,
):
    """Train on the train split, early-stop and pick the threshold on val (test numbers: `evaluate`)."""
    from rapid_croissant.config import TrainConfig
    from rapid_croissant.ml.run import RunFolder
    from rapid_croissant.ml.train import train

    given = dict(
        algorithm=algorithm,
        model=model,
        protocol=protocol,
        epochs=epochs,
        seed=seed,
        device=device,
        init=init,
    )
    if config_file:  # the file's values, then the options given on the command line
        chosen = _overrides(ctx, {**given, "no_augment": no_augment})
        if "no_augment" in chosen:
            chosen["augment"] = not chosen.pop("no_augment")
        config = TrainConfig.from_file(config_file, **chosen)
    else:
        config = TrainConfig(**given, augment=not no_augment)
    run = train(dataset_dir, config, run_root=run_root)
    click.echo(format_training(run, RunFolder(run).metrics()))
    click.echo(f"test metrics, intervals and completeness: rapid-croissant evaluate {run} -d {dataset_dir}")
