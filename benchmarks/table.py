"""The short Markdown table of BENCHMARKS.md, from the JSON results of ``run_benchmarks.py``.

``figures(results)`` gives one dict per figure (name, value at 4089² and at 513², goal, verdict);
``markdown(results)`` renders them. Every number comes from ``results``; nothing is measured here.
"""

from __future__ import annotations

import math

LARGE, SMALL = "4089", "513"
DTYPES = ("float32", "float16", "uint8")


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _fmt(x, fmt: str, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, fmt) + unit


def _build(size: dict, workers: int) -> dict:
    builds = _get(size, "builds") or {}
    return builds.get(str(workers), builds.get(workers)) or {}


def _values(size: dict | None) -> dict:
    """The quantities the goals are stated in, for one image size."""
    if not size:
        return {}
    b1, b2 = _build(size, 1), _build(size, 2)
    floor = _get(size, "floor", "floor_s")
    out = {
        "per_job": b1.get("per_job_s"),
        "ratio": b1["per_job_s"] / floor if b1.get("per_job_s") and floor else None,
        "rss": max((m for m in (b1.get("peak_rss_worker"), b2.get("peak_rss_worker")) if m), default=None),
        "speedup": b1["best_wall_s"] / b2["best_wall_s"]
        if b1.get("best_wall_s") and b2.get("best_wall_s")
        else None,
        "tensor": _get(size, "bytes", "images"),
        "loader_full": _get(size, "loader_full_frame", "per_s"),
        "records": _get(size, "records", "pyarrow", "per_s"),
    }
    for dtype in DTYPES:
        out[f"store_{dtype}"] = _get(size, "stores", dtype, "size", "total_bytes_per_candidate")
        out[f"loader_{dtype}"] = _get(size, "stores", dtype, "loader", "per_s")
    out["loader_best"] = max((out[f"loader_{t}"] or 0 for t in DTYPES), default=0) or None
    return out


def _verdict(value, limit, *, at_most: bool) -> str:
    if value is None:
        return "n/a"
    return "met" if (value <= limit if at_most else value >= limit) else "not met"


# (figure, key, format, scale, unit, goal text, limit, at_most)
_ROWS = (
    (
        "Build time per job, 1 worker, / read+write floor",
        "ratio",
        ".2f",
        1,
        "x",
        "≤ 1.3x the floor",
        1.3,
        True,
    ),
    ("Peak RSS per build worker", "rss", ".2f", 1e-9, " GB", "≤ 1.5 GB", 1.5, True),
    ("Speed-up of 2 build workers over 1", "speedup", ".2f", 1, "x", "≥ 1.7x", 1.7, False),
    ("Full-frame tensor per job (float32)", "tensor", ".3f", 1e-9, " GB", "≤ 0.61 GB", 0.61, True),
    ("Cutout store per candidate, float16", "store_float16", ".1f", 1e-3, " kB", "≤ 40 kB", 40, True),
    ("Cutout store per candidate, uint8", "store_uint8", ".1f", 1e-3, " kB", "≤ 40 kB", 40, True),
    (
        "Loader from the cutout store (best dtype)",
        "loader_best",
        ",.0f",
        1,
        "/s",
        "≥ 20,000 cutouts/s",
        2e4,
        False,
    ),
    ("Loader from full-frame tensors", "loader_full", ",.0f", 1, "/s", "≥ 5,000 cutouts/s", 5e3, False),
    ("Records read (pyarrow)", "records", ",.0f", 1, " rows/s", "≥ 500,000 rows/s", 5e5, False),
)


def figures(results: dict) -> list[dict]:
    """One entry per figure; the verdict is on the 4089² value (the CNN's on its own measurement)."""
    sizes = results.get("sizes", {})
    large, small = _values(sizes.get(LARGE)), _values(sizes.get(SMALL))
    rows = []
    for name, key, fmt, scale, unit, goal, limit, at_most in _ROWS:
        big = None if large.get(key) is None else large[key] * scale
        little = None if small.get(key) is None else small[key] * scale
        verdict = _verdict(big, limit, at_most=at_most)
        rows.append(
            {
                "figure": name,
                LARGE: _fmt(big, fmt, unit),
                SMALL: _fmt(little, fmt, unit),
                "goal": goal,
                "verdict": verdict,
            }
        )
    cnn = results.get("cnn") if isinstance(results.get("cnn"), dict) else {}
    rate = cnn.get("train_per_s")
    rows.append(
        {
            "figure": "CNN training, 2 threads, batch 128",
            LARGE: "—",
            SMALL: _fmt(rate, ",.0f", " cutouts/s"),
            "goal": "≥ 500 cutouts/s",
            "verdict": _verdict(rate, 500, at_most=False),
        }
    )
    if cnn.get("train_channels_last_per_s"):
        rows.append(
            {
                "figure": "CNN training, channels-last on the CPU",
                LARGE: "—",
                SMALL: _fmt(cnn["train_channels_last_per_s"], ",.0f", " cutouts/s"),
                "goal": "faster than the default layout to be used",
                "verdict": "used" if cnn["train_channels_last_per_s"] > rate else "not used",
            }
        )
    return rows


def markdown(results: dict) -> str:
    rows = figures(results)
    head = ["figure", f"{LARGE}²", f"{SMALL}²", "goal", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [
        "| " + " | ".join(r[k] for k in ("figure", LARGE, SMALL, "goal", "verdict")) + " |" for r in rows
    ]
    return "\n".join(lines) + "\n"
