"""Pure numpy/pandas science, no file access: normalisation, truth arithmetic, matching, labels, merging,
cutouts, sky fields, splits and folds."""
