"""Check a built dataset and its ``croissant.json``: collect every problem, then report them all.

mlcroissant's own validation is a weak bar (it checks neither keys, nor foreign keys, nor hashes of
files it does not load, nor that record sets load), so this adds the invariants of our layout: unique
keys, resolvable jobs and truth ids, splits disjoint by job and equal to the per-split files, manifest
hashes, tensor shapes and dtypes, and a first record from every record set.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant.dataset import integrity, schema
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.dataset.manifests import TENSOR_KINDS, sha256_file

__all__ = ["Problem", "check_croissant", "validate_dataset"]

log = logging.getLogger(__name__)

#: Examples named per problem before the rest are counted.
MAX_EXAMPLES = 5
_ARROW_CHECKS = {
    "sc:Text": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t),
    "sc:Integer": pa.types.is_integer,
    "sc:Float": pa.types.is_floating,
    "sc:Boolean": pa.types.is_boolean,
}
CANDIDATES, JOBS, TRUTH = names.CANDIDATES_PARQUET, names.JOBS_PARQUET, names.TRUTH_PARQUET


@dataclass(frozen=True)
class Problem:
    """One problem found: its kind (e.g. ``checksum``), the file concerned and what is wrong."""

    kind: str
    file: str
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.file}: {self.message}"


class _Problems(list):
    """The problems found so far."""

    def add(self, kind: str, file: str, message: str) -> None:
        self.append(Problem(kind, str(file), message))


def _examples(values) -> str:
    values = sorted(str(v) for v in values)
    more = f" and {len(values) - MAX_EXAMPLES} more" if len(values) > MAX_EXAMPLES else ""
    return ", ".join(values[:MAX_EXAMPLES]) + more


def _check_columns(path: Path, columns: dict[str, schema.Column], problems: _Problems) -> None:
    """Column names and Arrow types of a Parquet table against its schema."""
    arrow = pq.read_schema(path)
    if missing := [c for c in columns if c not in arrow.names]:
        problems.add("schema", path.name, f"missing column(s) {_examples(missing)}")
    if extra := [c for c in arrow.names if c not in columns]:
        problems.add("schema", path.name, f"unexpected column(s) {_examples(extra)}")
    for name in set(columns) & set(arrow.names):
        kind, arrow_type = columns[name].croissant, arrow.field(name).type
        if not _ARROW_CHECKS[kind](arrow_type) and not pa.types.is_null(arrow_type):
            problems.add("schema", path.name, f"column {name} is {arrow_type}, expected {kind}")


def _read_table(root: Path, name: str, columns: dict, problems: _Problems) -> pd.DataFrame | None:
    path = root / name
    if not path.is_file():
        problems.add("missing-file", name, "not found")
        return None
    before = len(problems)
    integrity.guarded(problems.add, name, _check_columns, path, columns, problems)
    if any(p.kind == "unreadable" and p.file == name for p in problems[before:]):
        return None
    return integrity.guarded(problems.add, name, pd.read_parquet, path)


def _check_keys(cands: pd.DataFrame, jobs: pd.DataFrame, truth: pd.DataFrame, problems: _Problems) -> None:
    """Unique keys, and every job and truth id resolvable."""
    if (dupes := cands.loc[cands["candidate_id"].duplicated(), "candidate_id"]).size:
        problems.add("duplicate-key", CANDIDATES, f"candidate_id not unique: {_examples(set(dupes))}")
    if (dupes := jobs.loc[jobs["jid"].duplicated(), "jid"]).size:
        problems.add("duplicate-key", JOBS, f"jid not unique: {_examples(set(dupes))}")
    if truth[["jid", "truth_id"]].duplicated().any():
        problems.add("duplicate-key", TRUTH, "(jid, truth_id) not unique")
    known = set(jobs["jid"].dropna())
    for name, table in ((CANDIDATES, cands), (TRUTH, truth)):
        unknown = set(table["jid"].dropna()) - known
        if unknown or table["jid"].isna().any():
            problems.add("unresolved-jid", name, f"jid not in {JOBS}: {_examples(unknown) or 'empty jid'}")
    truth_keys = set(zip(truth["jid"], truth["truth_id"], strict=True))
    for column in [c for c in cands.columns if c.endswith("truth_id")]:
        rows = cands[cands[column].notna() & (cands[column] != "")]
        pairs = zip(rows["jid"], rows[column], strict=True)
        if missing := {f"{j}/{t}" for j, t in pairs if (j, t) not in truth_keys}:
            problems.add(
                "unresolved-truth", CANDIDATES, f"{column} not in {TRUTH} for its job: {_examples(missing)}"
            )


def _check_split_files(root: Path, cands: pd.DataFrame, problems: _Problems) -> None:
    """Each ``candidates-<split>.parquet`` holds exactly the rows of that split."""
    for split in schema.SPLITS:
        name = names.candidates_split_name(split)
        part = _read_table(root, name, schema.CANDIDATE_SCHEMA, problems)
        if part is None or "candidate_id" not in part:
            continue
        expected = set(cands.loc[cands["split"] == split, "candidate_id"])
        got = set(part["candidate_id"])
        if got != expected:
            message = (
                f"{len(got - expected)} row(s) not of the {split} split in {CANDIDATES}, "
                f"{len(expected - got)} missing"
            )
            problems.add("split-file", name, message)
        if "split" in part and (part["split"] != split).any():
            problems.add("split-file", name, f"rows whose split column is not {split}")


def _check_splits(root: Path, cands: pd.DataFrame, jobs: pd.DataFrame, problems: _Problems) -> None:
    """Valid split names, one split per job, the same in jobs.parquet and the per-split files."""
    bad = set(cands["split"].dropna()) - set(schema.SPLITS)
    if bad or cands["split"].isna().any():
        problems.add("split", CANDIDATES, f"split not in {schema.SPLITS}: {_examples(bad) or 'empty'}")
    per_job = cands.groupby("jid")["split"].nunique()
    if (leaks := per_job[per_job > 1]).size:
        problems.add("split-leak", CANDIDATES, f"jobs in several splits: {_examples(leaks.index)}")
    job_split = dict(zip(jobs["jid"], jobs["split"], strict=True))
    pairs = zip(cands["jid"], cands["split"], strict=True)
    if differ := {j for j, s in pairs if j in job_split and job_split[j] != s}:
        problems.add("split", CANDIDATES, f"split differs from {JOBS} for {_examples(differ)}")
    _check_split_files(root, cands, problems)


def _check_tables(root: Path, problems: _Problems) -> None:
    cands = _read_table(root, CANDIDATES, schema.CANDIDATE_SCHEMA, problems)
    jobs = _read_table(root, JOBS, schema.JOB_SCHEMA, problems)
    truth = _read_table(root, TRUTH, schema.TRUTH_SCHEMA, problems)
    needed = (
        (cands, {"candidate_id", "jid", "split"}),
        (jobs, {"jid", "split"}),
        (truth, {"jid", "truth_id"}),
    )
    if any(table is None or not columns <= set(table.columns) for table, columns in needed):
        problems.add("skipped", root.name, "key and split checks skipped: tables or key columns missing")
        return
    integrity.guarded(problems.add, CANDIDATES, _check_keys, cands, jobs, truth, problems)
    integrity.guarded(problems.add, CANDIDATES, _check_splits, root, cands, jobs, problems)
    integrity.guarded(problems.add, CANDIDATES, integrity.check_split_contents, root, cands, problems.add)


def _check_file(root: Path, row: dict, check_hashes: bool, manifest: str, problems: _Problems) -> bool:
    """The listed file exists with the listed size and sha256 (True if so); never outside the dataset."""
    before = len(problems)
    path = integrity.safe_path(root, row.get("path"), problems.add, manifest)
    if path is None:
        return False
    if not path.is_file():
        problems.add("missing-file", row["path"], f"listed in {manifest} but not found")
    elif (size := path.stat().st_size) != row["size_bytes"]:
        problems.add("checksum", row["path"], f"size {size} B, {manifest} says {row['size_bytes']} B")
    elif check_hashes and sha256_file(path) != row["sha256"]:
        problems.add("checksum", row["path"], f"sha256 differs from {manifest} (file changed or corrupted)")
    return len(problems) == before


def _check_tensor(root: Path, row: dict, problems: _Problems) -> None:
    try:
        array = np.load(root / row["path"], mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as err:
        problems.add("tensor", row["path"], f"cannot be read by numpy: {err}")
        return
    shape = ",".join(str(n) for n in array.shape)
    if shape != row["shape"] or str(array.dtype) != row["dtype"]:
        problems.add(
            "tensor", row["path"], f"{shape} {array.dtype}, manifest says {row['shape']} {row['dtype']}"
        )
    if row["kind"] == "image" and (array.ndim != 3 or array.shape[-1] != len(schema.CHANNELS)):
        problems.add("tensor", row["path"], f"shape {shape}: expected (H, W, {len(schema.CHANNELS)})")


def _check_manifests(root: Path, check_hashes: bool, problems: _Problems) -> None:
    """Listed files exist with their size and sha256, tensors have their shape and dtype, none is unlisted."""
    listed = {
        names.IMAGES_MANIFEST: (
            [folder for folder, _, _ in TENSOR_KINDS.values()] + [names.CUTOUTS_DIR],
            "*.npy",
        ),
        names.CATALOGS_MANIFEST: ([names.CATALOGS_DIR], "*"),
    }
    for manifest, (folders, pattern) in listed.items():
        if not (root / manifest).is_file():
            problems.add("missing-file", manifest, "not found (run `rapid-croissant croissant`)")
            continue
        rows = integrity.guarded(
            problems.add, manifest, lambda m=manifest: pq.read_table(root / m).to_pylist()
        )
        if rows is None:
            continue
        for row in rows:
            ok = integrity.guarded(
                problems.add, manifest, _check_file, root, row, check_hashes, manifest, problems
            )
            if ok and manifest == names.IMAGES_MANIFEST:
                integrity.guarded(problems.add, str(row.get("path")), _check_tensor, root, row, problems)
        on_disk = {
            p.relative_to(root).as_posix() for f in folders for p in (root / f).glob(pattern) if p.is_file()
        }
        if unlisted := on_disk - {row.get("path") for row in rows}:
            problems.add("manifest", manifest, f"files not listed: {_examples(unlisted)}")


def _mlcroissant_issues(path: Path, problems: _Problems) -> None:
    """Errors and warnings of mlcroissant's static validation (what ``mlcroissant validate`` reports)."""
    import mlcroissant as mlc

    try:
        dataset = mlc.Dataset(jsonld=path)
    except mlc.ValidationError as err:
        lines = [ln.strip().lstrip("- ") for ln in str(err).splitlines() if ln.strip().startswith("-")]
        for line in lines or [str(err)]:
            problems.add("croissant-error", path.name, line)
        return
    except Exception as err:  # mlcroissant raises bare errors on some malformed files
        problems.add("croissant-error", path.name, f"{type(err).__name__}: {err}")
        return
    for warning in sorted(dataset.metadata.ctx.issues.warnings):
        problems.add("croissant-warning", path.name, warning)


def _check_distribution(path: Path, jsonld: dict, check_hashes: bool, problems: _Problems) -> None:
    """Local FileObjects exist and still have the sha256 written in croissant.json."""
    nodes = jsonld.get("distribution", [])
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            problems.add("croissant-error", path.name, "a distribution entry is not an object")
            continue
        url = node.get("contentUrl", "")
        if node.get("@type") != "cr:FileObject" or (isinstance(url, str) and "://" in url):
            continue
        file = integrity.safe_path(path.parent, url, problems.add, path.name)
        if file is None:
            continue
        if "git+https" in node.get("encodingFormat", ""):  # the dataset folder, container of the FileSets
            if not file.is_dir():
                problems.add("missing-file", url, f"folder {node.get('@id')} of {path.name} not found")
            continue
        if not file.is_file():
            problems.add("missing-file", url, f"FileObject {node.get('@id')} of {path.name} not found")
        elif check_hashes and node.get("sha256") and sha256_file(file) != node["sha256"]:
            problems.add("checksum", url, f"sha256 differs from {path.name} (stale metadata or changed file)")


def _local_mapping(path: Path, jsonld: dict) -> dict[str, str]:
    """FileObject id -> local path, for the dict form (relative URLs resolved from the file's folder)."""
    nodes = jsonld.get("distribution", [])
    return {
        n["@id"]: str(path.parent / n["contentUrl"])
        for n in (nodes if isinstance(nodes, list) else [])
        if isinstance(n, dict)
        and n.get("@type") == "cr:FileObject"
        and "://" not in n.get("contentUrl", "://")
    }


def _check_records(path: Path, jsonld: dict, problems: _Problems) -> None:
    """The first record of every record set, each from a fresh ``mlc.Dataset`` (join-order bug): from the
    file, then as the online checker calls it (the JSON-LD as a dict, local files through ``mapping``)."""
    import mlcroissant as mlc

    forms = {
        "": lambda: mlc.Dataset(jsonld=path),
        " (dict form)": lambda: mlc.Dataset(
            jsonld=json.loads(path.read_text()), mapping=_local_mapping(path, jsonld)
        ),
    }
    record_sets = jsonld.get("recordSet", [])
    record_sets = [r for r in record_sets if isinstance(r, dict)] if isinstance(record_sets, list) else []
    for (form, make), record_set in itertools.product(forms.items(), record_sets):
        rs = str(record_set.get("@id") or record_set.get("name")) + form
        try:
            next(iter(make().records(rs.removesuffix(form))))
        except StopIteration:
            problems.add("load", path.name, f"record set {rs} has no records")
        except Exception as err:  # whatever makes loading fail is the problem to report
            cause = f" ({type(err.__cause__).__name__}: {err.__cause__})" if err.__cause__ else ""
            problems.add("load", path.name, f"record set {rs} does not load: {err}{cause}"[:500])


def check_croissant(
    path: str | Path, *, check_hashes: bool = True, run_mlcroissant: bool = True
) -> list[Problem]:
    """Problems of a Croissant file: mlcroissant issues, stale checksums, record sets that do not load."""
    path, problems = Path(path), _Problems()
    try:
        jsonld = json.loads(path.read_text())
    except FileNotFoundError:
        return [Problem("missing-file", path.name, "not found (run `rapid-croissant croissant`)")]
    except (OSError, ValueError) as err:
        return [Problem("croissant-error", path.name, f"cannot be read as JSON: {err}")]
    if not isinstance(jsonld, dict):
        return [Problem("croissant-error", path.name, "not a JSON-LD object")]
    integrity.guarded(problems.add, path.name, _check_distribution, path, jsonld, check_hashes, problems)
    if any(p.kind == "unsafe-path" for p in problems):
        return list(problems)  # mlcroissant would read the file outside the dataset: not run
    if run_mlcroissant:
        _mlcroissant_issues(path, problems)
        if not any(p.kind == "croissant-error" for p in problems):
            _check_records(path, jsonld, problems)
    return list(problems)


def validate_dataset(
    dataset_dir: str | Path,
    *,
    croissant_path: str | Path | None = None,
    check_hashes: bool = True,
    run_mlcroissant: bool = True,
) -> list[Problem]:
    """Every problem of a built dataset and its Croissant file (an empty list: all good).

    ``check_hashes=False`` skips hashing (sizes are still compared); ``run_mlcroissant=False`` skips
    mlcroissant's validation and loading, the slow part.
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        return [Problem("missing-file", str(root), "dataset folder not found")]
    problems = _Problems()
    add = problems.add
    integrity.guarded(add, root.name, _check_tables, root, problems)
    integrity.guarded(add, root.name, integrity.check_csv_matches_parquet, root, add)
    integrity.guarded(add, root.name, _check_manifests, root, check_hashes, problems)
    integrity.guarded(add, root.name, integrity.check_cutout_store, root, add)
    path = Path(croissant_path) if croissant_path is not None else Layout(root).croissant_json
    found = integrity.guarded(
        add, path.name, check_croissant, path, check_hashes=check_hashes, run_mlcroissant=run_mlcroissant
    )
    problems.extend(found or [])
    log.info("%s: %d problem(s)", root, len(problems))
    return list(problems)
