"""Pure numpy/pandas science, no file access: ZOGY, normalisation, truth assembly, matching, merging."""
