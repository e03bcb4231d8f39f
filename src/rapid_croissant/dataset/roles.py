"""What each candidate column is for, machine-readable: features, the label, label-derived columns (never
features: they are non-null exactly when a candidate matched truth), identifiers and provenance.

The same table is written into croissant.json (the ``column_roles`` record set, and a ``role`` in each
transient_candidates field description) and the trainer takes its feature list from :func:`features`.
"""

from __future__ import annotations

from rapid_croissant.dataset import schema

__all__ = ["ROLES", "ROLE_DESCRIPTIONS", "check_roles", "features", "per_algorithm_features", "role_of"]

ROLE_DESCRIPTIONS = {
    "feature": "Measured by the pipeline on the images: may be used as a model input",
    "label": "The target: 1 real, 0 bogus, -1 unknown (see label_classes)",
    "label_derived": "Computed from the truth or from the label (match distance, truth magnitude, truth "
    "ids, per-algorithm labels, flags): never a model input, it leaks the label",
    "identifier": "Names a row or a file: not a model input",
    "provenance": "Where and when the candidate was observed (positions, sky coordinates, epoch, filter, "
    "zero point, split): context for analysis, not a model input by default",
}

_ALGS = schema.SUBTRACTIONS
_PER_ALG = (*schema.SEED_FEATURES, *schema.FIT_FEATURES)

#: Role of every column of the candidates tables, in schema order.
ROLES: dict[str, str] = {}
for _name in schema.CANDIDATE_SCHEMA:
    if _name == "label":
        _role = "label"
    elif _name in {
        "match_id",
        "truth_id",
        "injected",
        "zogy_label",
        "sfft_label",
        "zogy_truth_id",
        "sfft_truth_id",
        "match_dist",
        "truth_mag",
        "truth_snr",
        "label_flag",
        "has_truth",
    }:
        _role = "label_derived"
    elif _name in {"id", "candidate_id", "zogy_id", "sfft_id", "jid", "image_filename"}:
        _role = "identifier"
    elif _name == "detected_by" or any(_name == f"{a}_{f}" for a in _ALGS for f in _PER_ALG):
        _role = "feature"
    else:
        _role = "provenance"
    ROLES[_name] = _role
del _name, _role


def role_of(column: str) -> str:
    """The role of a candidates column (KeyError for an unknown column)."""
    return ROLES[column]


def features() -> tuple[str, ...]:
    """Every candidates column whose role is ``feature``, in schema order."""
    return tuple(n for n, r in ROLES.items() if r == "feature")


def per_algorithm_features() -> tuple[str, ...]:
    """The per-algorithm feature names (``sharpness``, ``snr``, ...): ``<alg>_<name>`` is a feature for
    every algorithm, in schema order."""
    names = []
    for col in features():
        for alg in _ALGS:
            if col.startswith(f"{alg}_") and col.removeprefix(f"{alg}_") not in names:
                names.append(col.removeprefix(f"{alg}_"))
    return tuple(n for n in names if all(f"{a}_{n}" in ROLES for a in _ALGS))


def check_roles(columns) -> list[str]:
    """Problems: a feature list that contains a label or label-derived column, or an unknown column."""
    problems = []
    for c in columns:
        role = ROLES.get(c)
        if role is None:
            problems.append(f"{c}: not a candidates column")
        elif role != "feature":
            problems.append(f"{c}: role {role}, not a feature")
    return problems
