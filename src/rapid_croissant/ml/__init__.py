"""Real/bogus classifiers on a built dataset (read through dataset/): run folders, training, evaluation,
figure of merit, scoring, comparison, plots and the PyTorch entry point."""
