"""Tests of writers/croissant.py and writers/manifest.py on the fake dataset: validity, loading, equality
with a pyarrow read, split filtering, metadata content, manifests, CLI and the golden file.

Regenerate the golden file after an intended change with:
    REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/writers/test_croissant.py -k golden
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlcroissant as mlc
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fake_dataset import BUILD_CONFIG, CREATED, JOBS, write_fake_dataset_with_croissant
from rapid_croissant import __version__
from rapid_croissant.cli import croissant as croissant_cli
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import IMAGES_MANIFEST
from rapid_croissant.dataset.manifests import sha256_file
from rapid_croissant.errors import ConfigError, RapidCroissantError
from rapid_croissant.writers.croissant import build_metadata, load_publisher_config, write_croissant
from rapid_croissant.writers.croissant_records import RECORD_SETS

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parents[1] / "golden" / "croissant_tiny.json"
REGEN_COMMAND = "REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/writers/test_croissant.py -k golden"
GOLDEN_VALUES = {"date_published": "2026-01-15", "version": "1.0.0"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """(dataset folder, croissant.json) of the fake dataset; fresh folder, so no stale mlcroissant cache."""
    return write_fake_dataset_with_croissant(tmp_path_factory.mktemp("fake") / "dataset")


@pytest.fixture(scope="module")
def jsonld(dataset):
    return json.loads(dataset[1].read_text())


def plain(value):
    """A value as mlcroissant returns it, made comparable: bytes decoded, NaN and NA as None."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def records(path, record_set, **kwargs) -> list[dict]:
    prefix = f"{record_set}/"
    return [
        {k.removeprefix(prefix): plain(v) for k, v in r.items()}
        for r in mlc.Dataset(jsonld=path).records(record_set, **kwargs)
    ]


# ------------------------------------------------------------------------------------------------
# Validity
# ------------------------------------------------------------------------------------------------


def test_mlcroissant_validate_reports_no_error_and_no_warning(dataset):
    script = Path(sys.executable).with_name("mlcroissant")
    run = subprocess.run(
        [script, "validate", "--jsonld", dataset[1]], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    issues = [ln for ln in (run.stdout + run.stderr).splitlines() if re.match(r"^[WEF]\d{4} ", ln)]
    assert issues == []  # absl prefixes warnings and errors with W/E/F and the date
    ctx = mlc.Context()
    mlc.Metadata.from_file(ctx, dataset[1])
    assert not ctx.issues.errors and not ctx.issues.warnings


def test_every_file_object_has_a_matching_sha256_and_size(dataset, jsonld):
    root = dataset[0]
    files = [d for d in jsonld["distribution"] if d["@type"] == "cr:FileObject"]
    objects = [d for d in files if d["encodingFormat"] != "git+https"]  # the dataset folder is no file
    assert {o["contentUrl"] for o in objects} >= {
        names.CANDIDATES_PARQUET,
        names.JOBS_PARQUET,
        IMAGES_MANIFEST,
    }
    for obj in objects:
        assert obj["sha256"] == sha256_file(root / obj["contentUrl"])
        assert obj["contentSize"] == f"{(root / obj['contentUrl']).stat().st_size} B"


# ------------------------------------------------------------------------------------------------
# Loading through mlcroissant
# ------------------------------------------------------------------------------------------------


def test_record_sets_are_in_the_order_that_avoids_the_join_bug(jsonld):
    ids = [rs["@id"] for rs in jsonld["recordSet"]]
    assert tuple(ids) == tuple(r for r in RECORD_SETS if r != "cutouts")  # no cutouts in the fake dataset
    assert ids.index("transient_candidates") < ids.index("jobs")


def test_every_record_set_loads_in_document_order_from_one_dataset(dataset, jsonld):
    """What the NeurIPS checker does: one mlc.Dataset, record sets in document order."""
    root, path = dataset
    expected = {
        "splits": 3,
        "label_classes": 3,
        "image_channels": len(schema.CHANNELS),
        "transient_candidates": pq.read_metadata(root / names.CANDIDATES_PARQUET).num_rows,
        "jobs": len(JOBS) + 1,
        "truth": pq.read_metadata(root / names.TRUTH_PARQUET).num_rows,
        "images": 3 * len(JOBS),
        "catalogs": pq.read_metadata(root / "catalogs-manifest.parquet").num_rows,
        "column_roles": len(pq.read_schema(root / names.CANDIDATES_PARQUET).names),
        "physical": len(JOBS),
    }
    ds = mlc.Dataset(jsonld=path)
    counts = {rs["@id"]: sum(1 for _ in ds.records(rs["@id"])) for rs in jsonld["recordSet"]}
    assert counts == expected


def test_every_candidate_equals_the_pyarrow_read(dataset):
    root, path = dataset
    table = pq.read_table(root / names.CANDIDATES_PARQUET).to_pylist()
    expected = {row["candidate_id"]: {k: plain(v) for k, v in row.items()} for row in table}
    got = {r["candidate_id"]: r for r in records(path, "transient_candidates")}
    assert got.keys() == expected.keys()
    for cid, row in expected.items():
        assert got[cid] == row, cid


@pytest.mark.parametrize("split", schema.SPLITS)
def test_split_filter_returns_exactly_that_split(dataset, split):
    root, path = dataset
    cands = pd.read_parquet(root / names.CANDIDATES_PARQUET)
    rows = records(path, "transient_candidates", filters={"transient_candidates/split": split})
    assert {r["split"] for r in rows} == {split}
    assert {r["candidate_id"] for r in rows} == set(cands.loc[cands["split"] == split, "candidate_id"])


def test_manifest_record_set_describes_every_tensor(dataset):
    root, path = dataset
    rows = records(path, "images")
    assert {r["path"] for r in rows} == {f"{d}/{j}.npy" for d in ("images", "psfs", "masks") for j in JOBS}
    for row in rows:
        array = np.load(root / row["path"], mmap_mode="r")
        assert (row["shape"], row["dtype"]) == (",".join(map(str, array.shape)), str(array.dtype))
        assert row["sha256"] == sha256_file(root / row["path"])
        if row["kind"] == "image":
            assert row["channels"] == ",".join(schema.CHANNELS) and array.shape[-1] == 9
    assert [r["name"] for r in records(path, "image_channels")] == list(schema.CHANNELS)


def test_catalog_manifest_names_job_algorithm_and_kind(dataset):
    rows = records(dataset[1], "catalogs")
    by_name = {(r["jid"], r["name"]): r for r in rows}
    zogy = by_name[("jid001", "diffimage_masked_psfcat.txt")]
    sfft = by_name[("jid001", "sfftdiffimage_masked_psfcat_finder.txt")]
    assert (zogy["algorithm"], zogy["kind"]) == ("zogy", "psfcat")
    assert (sfft["algorithm"], sfft["kind"]) == ("sfft", "finder")
    assert zogy["sha256"] == sha256_file(dataset[0] / zogy["path"])


# ------------------------------------------------------------------------------------------------
# Metadata content
# ------------------------------------------------------------------------------------------------


def test_dataset_level_fields(jsonld):
    assert jsonld["conformsTo"] == [
        "http://mlcommons.org/croissant/1.1",
        "http://mlcommons.org/croissant/RAI/1.0",
    ]
    for key in (
        "name",
        "description",
        "license",
        "url",
        "creator",
        "publisher",
        "datePublished",
        "dateModified",
    ):
        assert jsonld.get(key), key
    assert jsonld["citeAs"].startswith("@misc{") and jsonld["url"] in jsonld["citeAs"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", jsonld["version"]) and jsonld["cr:sdVersion"] == __version__
    assert jsonld["dateCreated"].startswith(CREATED[:19])
    assert all(isinstance(k, str) for k in jsonld["keywords"]) and "ZOGY" in jsonld["keywords"]
    # MJD 62000.25 .. 62020.25 of the fake jobs (the failed job has none)
    assert jsonld["temporalCoverage"] == "2028-08-17/2028-09-06"
    assert jsonld["prov:wasDerivedFrom"] and jsonld["prov:wasGeneratedBy"]["@type"] == "prov:Activity"


def test_responsible_ai_fields_use_the_build_configuration(jsonld):
    rai = {k for k in jsonld if k.startswith("rai:")}
    assert rai >= {
        "rai:dataCollection",
        "rai:dataCollectionType",
        "rai:dataPreprocessingProtocol",
        "rai:dataAnnotationProtocol",
        "rai:dataBiases",
        "rai:dataLimitations",
        "rai:dataUseCases",
        "rai:personalSensitiveInformation",
        "rai:dataReleaseMaintenancePlan",
        "rai:dataCollectionTimeframe",
        "rai:dataManipulationProtocol",
    }
    assert not rai & {
        "rai:dataCollectionTimeFrame",
        "rai:dataDataManipulationProtocol",
    }  # mlcroissant's spelling
    protocol = " ".join(jsonld["rai:dataAnnotationProtocol"])
    for key in ("match_radius", "merge_radius", "mag_limit"):
        assert f"{key} = {BUILD_CONFIG[key]}" in protocol
    assert "between 21 and 28" in " ".join(jsonld["rai:dataBiases"])
    assert "ZScale" in " ".join(jsonld["rai:dataPreprocessingProtocol"])


def test_candidate_fields_carry_schema_types_units_and_descriptions(jsonld):
    rs = next(r for r in jsonld["recordSet"] if r["@id"] == "transient_candidates")
    fields = {f["name"]: f for f in rs["field"]}
    assert list(fields) == list(schema.CANDIDATE_COLUMNS)
    assert rs["key"] == {"@id": "transient_candidates/candidate_id"}
    for name, col in schema.CANDIDATE_SCHEMA.items():
        types = fields[name]["dataType"]
        want = "cr:Float64" if col.dtype == "float64" else col.croissant  # TFDS keeps float64 (mjd)
        assert want in (types if isinstance(types, list) else [types]), name
        assert fields[name]["description"].startswith(col.description)
        if col.unit:
            assert f"[unit: {col.unit}]" in fields[name]["description"]
    assert fields["label"]["dataType"] == ["sc:Integer", "cr:Label"]
    assert fields["split"]["references"] == {"field": {"@id": "splits/name"}}
    assert fields["split"]["source"]["extract"] == {"fileProperty": "fullpath"}


# ------------------------------------------------------------------------------------------------
# Publisher values, output location, CLI, manifests
# ------------------------------------------------------------------------------------------------


def test_config_file_and_overrides(tmp_path):
    config = tmp_path / "mine.toml"
    config.write_text(
        'url = "https://doi.org/10.5281/zenodo.1"\ncreator_name = "A. Person"\ncreator_type = "Person"\n'
    )
    values = load_publisher_config(config, version="2.1.0", url=None)
    assert (values["url"], values["creator_name"], values["version"]) == (
        "https://doi.org/10.5281/zenodo.1",
        "A. Person",
        "2.1.0",
    )
    assert values["license"] == load_publisher_config()["license"]
    config.write_text('licence = "x"\n')
    with pytest.raises(ConfigError, match="did you mean 'license'"):
        load_publisher_config(config)


def test_cli_writes_the_publisher_values(dataset, tmp_path):
    root = Path(shutil.copytree(dataset[0], tmp_path / "copy"))
    result = CliRunner().invoke(
        croissant_cli.command,
        [
            "-d",
            str(root),
            "--url",
            "https://example.org/ds",
            "--creator",
            "Team R",
            "--version",
            "3.0.1",
            "--license",
            "https://spdx.org/licenses/CC0-1.0.html",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads((root / names.CROISSANT_JSON).read_text())
    assert (out["url"], out["creator"]["name"], out["version"]) == (
        "https://example.org/ds",
        "Team R",
        "3.0.1",
    )
    assert out["license"] == "https://spdx.org/licenses/CC0-1.0.html"


def test_croissant_in_a_parent_folder_still_loads_and_filters(dataset, tmp_path):
    root = Path(shutil.copytree(dataset[0], tmp_path / "data" / "release"))
    path = write_croissant(root, tmp_path / "data" / "croissant.json", refresh_manifests=False)
    assert json.loads(path.read_text())["distribution"][0]["contentUrl"].startswith("release/")
    rows = records(path, "transient_candidates", filters={"transient_candidates/split": "val"})
    assert rows and {r["split"] for r in rows} == {"val"}


def test_seed_entry_point_writes_croissant_json(dataset, tmp_path):
    root = Path(shutil.copytree(dataset[0], tmp_path / "copy"))
    (root / names.CROISSANT_JSON).unlink()
    (root / IMAGES_MANIFEST).unlink()
    run = subprocess.run(
        [sys.executable, REPO / "generate_croissant.py", "-d", root], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert str(root / names.CROISSANT_JSON) in run.stdout
    assert (root / IMAGES_MANIFEST).is_file() and (root / names.CROISSANT_JSON).is_file()


def test_missing_manifests_are_named(dataset, tmp_path):
    root = Path(shutil.copytree(dataset[0], tmp_path / "copy"))
    (root / IMAGES_MANIFEST).unlink()
    (root / "catalogs-manifest.parquet").unlink()
    with pytest.raises(RapidCroissantError, match="images-manifest.parquet, catalogs-manifest.parquet"):
        build_metadata(root)


def test_jobs_without_mjd_give_no_temporal_coverage(dataset, tmp_path):
    root = Path(shutil.copytree(dataset[0], tmp_path / "copy"))
    jobs = pd.read_parquet(root / names.JOBS_PARQUET)
    jobs["mjd"] = np.nan
    jobs.to_parquet(root / names.JOBS_PARQUET, index=False)
    out = build_metadata(root)
    assert "temporalCoverage" not in out and "rai:dataCollectionTimeframe" not in out


# ------------------------------------------------------------------------------------------------
# Golden file
# ------------------------------------------------------------------------------------------------


def normalise(node):
    """Replace what changes between runs or library versions: dates of writing, hashes, sizes, our version."""
    if isinstance(node, dict):
        volatile = {"dateModified": "<date>", "sha256": "<sha256>", "contentSize": "<size>"}
        return {k: volatile.get(k) or normalise(v) for k, v in node.items()}
    if isinstance(node, list):
        return [normalise(v) for v in node]
    if isinstance(node, str):
        return node.replace(__version__, "<version>")
    return node


def test_golden_file(dataset):
    text = json.dumps(normalise(build_metadata(dataset[0], publisher_config=GOLDEN_VALUES)), indent=2) + "\n"
    if os.environ.get("REGEN_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    expected = GOLDEN.read_text() if GOLDEN.is_file() else ""
    if text != expected:
        diff = "".join(
            list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "now"))[:80]
        )
        pytest.fail(
            f"croissant.json of the fake dataset differs from {GOLDEN.name}; if intended, run\n"
            f"    {REGEN_COMMAND}\n{diff}"
        )
