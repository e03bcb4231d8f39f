"""The values the science assigns: label classes, label flags and split names (no imports, no logic).

``dataset/schema.py`` describes the columns that carry them; ``science/labels.py`` and
``science/splits.py`` assign them.
"""

from __future__ import annotations

#: Label values: 1 real (matched truth), 0 bogus, -1 unknown (the job has no truth files).
LABEL_REAL, LABEL_BOGUS, LABEL_UNKNOWN = 1, 0, -1

#: Values of ``label_flag`` (empty when the label is confident), with what each means.
LABEL_FLAGS = {
    "low_snr_match": "matched truth whose expected S/N in the difference is below 5",
    "near_faint_truth": "bogus, but within the match radius of truth fainter than the magnitude limit",
    "duplicate_of_real": "bogus by the one-to-one rule: a second detection within 1 px of a matched one",
}
LOW_SNR_MATCH, NEAR_FAINT_TRUTH, DUPLICATE_OF_REAL = LABEL_FLAGS

#: The dataset's splits, in order (whole jobs are assigned to one split).
SPLITS = ("train", "val", "test")
