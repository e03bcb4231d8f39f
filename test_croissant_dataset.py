#!/usr/bin/env python
"""Seed-compatible entry point: ``python test_croissant_dataset.py -d ./my_dataset --algorithm zogy``.

Prints the dataset composition, trains a real/bogus classifier on the train split (early stopping and
threshold on val), evaluates it on the held-out test split with 95 % job-bootstrap intervals, and prints
where the run folder is. The same as ``rapid-croissant composition``, ``train`` and ``evaluate``.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Analyse a dataset's composition, then train and evaluate a real/bogus classifier."
    )
    parser.add_argument(
        "-d",
        "--dataset_dir",
        default="./hackathon_dataset",
        help="dataset folder (default: ./hackathon_dataset)",
    )
    parser.add_argument(
        "-a",
        "--algorithm",
        choices=("zogy", "sfft", "both"),
        default="both",
        help="candidates, channels and features of ZOGY, SFFT or both (default: both)",
    )
    parser.add_argument("--model", choices=("cnn", "gbt"), default="cnn", help="classifier (default: cnn)")
    parser.add_argument(
        "--protocol", choices=("A", "B"), default="A", help="A native, B matched (default: A)"
    )
    parser.add_argument("--epochs", type=int, default=30, help="CNN epochs at most (default: 30)")
    parser.add_argument(
        "--init",
        default="auto",
        help="CNN start: auto (the shipped pretrained weights for -a both), pretrained, scratch or a weights "
        "file (default: auto)",
    )
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    parser.add_argument("--runs", default="runs", help="folder for the run folder (default: runs)")
    args = parser.parse_args(argv)

    from rapid_croissant.cli.errors import report_and_exit, verbosity_from_env
    from rapid_croissant.cli.evaluate import format_evaluation
    from rapid_croissant.cli.main import setup_logging
    from rapid_croissant.cli.train import format_training
    from rapid_croissant.config import TrainConfig
    from rapid_croissant.ml.composition import composition, format_composition
    from rapid_croissant.ml.evaluate import evaluate_run
    from rapid_croissant.ml.run import RunFolder
    from rapid_croissant.ml.train import train

    setup_logging(0)
    try:
        config = TrainConfig(
            algorithm=args.algorithm,
            model=args.model,
            protocol=args.protocol,
            epochs=args.epochs,
            init=args.init,
        )
        print("Dataset composition")
        print(format_composition(composition(args.dataset_dir)))
        print(f"\nTraining {args.model} on {args.algorithm} candidates (protocol {args.protocol}) ...")
        run = train(args.dataset_dir, config, run_root=args.runs)
        print(format_training(run, RunFolder(run).metrics()))
        print("\nTest-split evaluation (95 % intervals over test jobs)")
        print(format_evaluation(evaluate_run(run, args.dataset_dir, n_boot=args.n_boot)))
    except (Exception, KeyboardInterrupt) as err:  # noqa: BLE001 - one clean line, traceback with DEBUG
        report_and_exit(err, verbose=verbosity_from_env())
    print(f"\nRun folder (model, predictions, metrics, plots): {run}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
