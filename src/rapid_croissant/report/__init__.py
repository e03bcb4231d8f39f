"""Human-facing outputs of a built dataset: the dataset card and the HTML report (they read datasets, like
ml/)."""
