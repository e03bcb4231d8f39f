"""Tests of build/validate.py and ``rapid-croissant validate``: a clean dataset has no problem, and each
kind of damage is reported, naming the file, together with every other problem found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fake_dataset import JOBS, write_fake_dataset_with_croissant
from rapid_croissant.cli import validate as validate_cli
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import IMAGES_MANIFEST
from rapid_croissant.dataset.validate import Problem, validate_dataset


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root, _ = write_fake_dataset_with_croissant(tmp_path_factory.mktemp("fake") / "dataset")
    return root


@pytest.fixture
def dataset(pristine, tmp_path) -> Path:
    """A private copy each test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "dataset"))


def kinds(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.kind, p.file) for p in problems}


def quick(root: Path, **kwargs) -> list[Problem]:
    """Our own checks only (mlcroissant's loading is what makes a full run slow)."""
    return validate_dataset(root, run_mlcroissant=False, **kwargs)


def test_clean_dataset_has_no_problem(pristine):
    assert validate_dataset(pristine) == []


def test_flipped_byte_in_a_tensor_is_reported_naming_the_file(dataset):
    path = dataset / names.IMAGES_DIR / "jid002.npy"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # a pixel, not the header: numpy still reads the file
    path.write_bytes(bytes(data))
    problems = quick(dataset)
    assert kinds(problems) == {("checksum", "images/jid002.npy")}
    assert "images/jid002.npy" in str(problems[0])
    assert quick(dataset, check_hashes=False) == []  # same size: only the hash can tell


def test_tensor_shape_or_dtype_not_matching_the_manifest(dataset):
    manifest = pd.read_parquet(dataset / IMAGES_MANIFEST)
    manifest.loc[manifest["path"] == "masks/jid003.npy", "dtype"] = "float32"
    manifest.to_parquet(dataset / IMAGES_MANIFEST, index=False)
    problems = quick(dataset, check_hashes=False)
    assert kinds(problems) == {("tensor", "masks/jid003.npy")}
    assert "uint16" in problems[0].message


def test_duplicate_candidate_id_is_reported(dataset):
    cands = pd.read_parquet(dataset / names.CANDIDATES_PARQUET)
    cands.loc[1, "candidate_id"] = cands.loc[0, "candidate_id"]
    cands.to_parquet(dataset / names.CANDIDATES_PARQUET, index=False)
    problems = quick(dataset)
    duplicate = [p for p in problems if p.kind == "duplicate-key"]
    assert len(duplicate) == 1 and cands.loc[0, "candidate_id"] in duplicate[0].message
    # the stale croissant.json checksum is reported too: every problem, not the first one
    assert ("checksum", names.CANDIDATES_PARQUET) in kinds(problems)


def test_unresolved_jid_is_reported_for_candidates_and_truth(dataset):
    jobs = pd.read_parquet(dataset / names.JOBS_PARQUET)
    jobs[jobs["jid"] != "jid004"].to_parquet(dataset / names.JOBS_PARQUET, index=False)
    problems = [p for p in quick(dataset) if p.kind == "unresolved-jid"]
    assert {p.file for p in problems} == {names.CANDIDATES_PARQUET, names.TRUTH_PARQUET}
    assert all("jid004" in p.message for p in problems)


def test_truth_id_of_another_job_does_not_resolve(dataset):
    cands = pd.read_parquet(dataset / names.CANDIDATES_PARQUET)
    truth = pd.read_parquet(dataset / names.TRUTH_PARQUET)
    row = cands.index[cands["jid"] == "jid001"][0]
    cands.loc[row, "truth_id"] = "no_such_truth"
    cands.to_parquet(dataset / names.CANDIDATES_PARQUET, index=False)
    problems = [p for p in quick(dataset) if p.kind == "unresolved-truth"]
    assert len(problems) == 1 and "jid001/no_such_truth" in problems[0].message
    assert len(truth)  # the truth table itself was left alone


def test_a_job_in_two_splits_and_stale_split_files_are_reported(dataset):
    cands = pd.read_parquet(dataset / names.CANDIDATES_PARQUET)
    jid = cands.loc[0, "jid"]
    other = next(s for s in schema.SPLITS if s != cands.loc[0, "split"])
    cands.loc[0, "split"] = other
    cands.to_parquet(dataset / names.CANDIDATES_PARQUET, index=False)
    found = kinds(quick(dataset))
    assert ("split-leak", names.CANDIDATES_PARQUET) in found
    assert ("split", names.CANDIDATES_PARQUET) in found  # differs from jobs.parquet
    assert ("split-file", f"candidates-{other}.parquet") in found
    assert jid in " ".join(str(p) for p in quick(dataset))


def test_missing_files_and_unlisted_tensors_are_all_reported(dataset):
    (dataset / names.TRUTH_PARQUET).unlink()
    (dataset / "catalogs-manifest.parquet").unlink()
    np.save(dataset / names.PSFS_DIR / "jid999.npy", np.zeros((3, 3), dtype=np.float32))
    found = kinds(quick(dataset))
    assert {("missing-file", names.TRUTH_PARQUET), ("missing-file", "catalogs-manifest.parquet")} <= found
    assert ("manifest", IMAGES_MANIFEST) in found
    truth_missing = [
        p for p in quick(dataset) if p == Problem("missing-file", names.TRUTH_PARQUET, p.message)
    ]
    assert len(truth_missing) == 2  # as a table and as a FileObject of croissant.json


def test_wrong_column_type_is_a_schema_problem(dataset):
    jobs = pd.read_parquet(dataset / names.JOBS_PARQUET)
    jobs["sca"] = jobs["sca"].astype("string")
    jobs.to_parquet(dataset / names.JOBS_PARQUET, index=False)
    problems = [p for p in quick(dataset) if p.kind == "schema"]
    assert len(problems) == 1 and problems[0].file == names.JOBS_PARQUET and "sca" in problems[0].message


def test_mlcroissant_errors_warnings_and_unloadable_record_sets_are_collected(dataset):
    path = dataset / names.CROISSANT_JSON
    jsonld = json.loads(path.read_text())
    del jsonld["license"]  # mlcroissant warns
    jobs = next(rs for rs in jsonld["recordSet"] if rs["@id"] == "jobs")
    jobs["field"][1]["source"]["extract"]["column"] = "no_such_column"  # loads no more
    path.write_text(json.dumps(jsonld))
    problems = validate_dataset(dataset, check_hashes=False)
    assert {p.kind for p in problems} == {"croissant-warning", "load"}
    assert any("license" in p.message for p in problems if p.kind == "croissant-warning")
    assert [p.message.split(":")[0] for p in problems if p.kind == "load"] == [
        "record set jobs does not load",
        "record set jobs (dict form) does not load",  # the online checker's call
    ]
    del jsonld["distribution"][0]["sha256"]  # an error: record sets are then not even tried
    path.write_text(json.dumps(jsonld))
    assert "croissant-error" in {p.kind for p in validate_dataset(dataset, check_hashes=False)}


def test_cli_exit_code_and_output(dataset):
    runner = CliRunner()
    ok = runner.invoke(validate_cli.command, [str(dataset), "--no-mlcroissant"])
    assert ok.exit_code == 0 and "no problems" in ok.output
    (dataset / names.MASKS_DIR / f"{JOBS[0]}.npy").write_bytes(b"not a tensor")
    bad = runner.invoke(validate_cli.command, [str(dataset), "--no-mlcroissant", "--no-hashes"])
    assert bad.exit_code == 1
    assert f"masks/{JOBS[0]}.npy" in bad.output and "1 checksum" in bad.output


def test_problem_reads_as_one_line():
    problem = Problem("checksum", "images/jid001.npy", "sha256 differs")
    assert str(problem) == "[checksum] images/jid001.npy: sha256 differs"


def test_not_a_dataset_folder(tmp_path):
    assert kinds(validate_dataset(tmp_path / "nowhere")) == {("missing-file", str(tmp_path / "nowhere"))}


def test_plain_arrow_string_columns_pass_the_type_checks(dataset):
    """pandas writes large_string, a pyarrow writer may write string: both are sc:Text."""
    table = pq.read_table(dataset / names.TRUTH_PARQUET)
    narrow = pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema]
    )
    assert narrow != table.schema
    pq.write_table(table.cast(narrow), dataset / names.TRUTH_PARQUET)
    assert [p for p in quick(dataset, check_hashes=False) if p.kind == "schema"] == []
