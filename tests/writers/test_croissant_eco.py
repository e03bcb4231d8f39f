"""croissant.json of a dataset built with --cutouts, read by the real mlcroissant: every record set from the
file and from the dict form with ``mapping`` (the online checker's call), cutouts as arrays equal to the
Parquet file, split filters, repeated passes, and the published flavour served over HTTP on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlcroissant as mlc
import numpy as np
import pyarrow.parquet as pq
import pytest

from rapid_croissant.dataset import roles
from rapid_croissant.dataset.cutout_parquet import read_cutout_parquet
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.writers.croissant import write_croissant

FAST_RECORD_SETS = (
    "splits",
    "label_classes",
    "image_channels",
    "column_roles",
    "transient_candidates",
    "jobs",
)


@pytest.fixture(autouse=True)
def _quiet_mlcroissant():
    logging.disable(logging.WARNING)  # mlcroissant logs a warning per row it cannot match
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture(scope="module")
def jsonld(cutout_dataset):
    return json.loads(Layout(cutout_dataset).croissant_json.read_text())


def _mapping(root: Path, jsonld: dict) -> dict[str, str]:
    return {
        n["@id"]: str(root / n["contentUrl"]) for n in jsonld["distribution"] if n["@type"] == "cr:FileObject"
    }


def test_record_sets_and_the_folder_container(jsonld):
    ids = [rs["@id"] for rs in jsonld["recordSet"]]
    assert {"cutouts", "physical", "column_roles"} <= set(ids)
    assert ids.index("transient_candidates") < ids.index("jobs")  # joining record sets first
    folder = [n for n in jsonld["distribution"] if n["encodingFormat"] == "git+https"]
    assert len(folder) == 1
    for node in jsonld["distribution"]:
        if node["@type"] == "cr:FileSet":
            assert node["cr:containedIn"]["@id"] == folder[0]["@id"]  # mlcroissant writes the prefixed term
    cut = {f["name"]: f for f in next(rs for rs in jsonld["recordSet"] if rs["@id"] == "cutouts")["field"]}
    assert cut["cutout"]["cr:isArray"] is True and cut["cutout"]["cr:arrayShape"] == "9,64,64"
    assert cut["cutout"]["dataType"] == "cr:Float32" and cut["valid"]["cr:arrayShape"] == "3,64,64"


@pytest.mark.parametrize("form", ["path", "dict"])
def test_every_table_record_set_loads(cutout_dataset, jsonld, form):
    root = Path(cutout_dataset)
    for rs in [r["@id"] for r in jsonld["recordSet"] if r["@id"] != "cutouts"]:
        ds = (
            mlc.Dataset(jsonld=root / "croissant.json")
            if form == "path"
            else mlc.Dataset(
                jsonld=json.loads((root / "croissant.json").read_text()), mapping=_mapping(root, jsonld)
            )
        )
        first = next(iter(ds.records(rs)))
        assert first, rs


def test_column_roles_record_set_is_the_python_table(cutout_dataset):
    ds = mlc.Dataset(jsonld=Path(cutout_dataset) / "croissant.json")
    got = {r["column_roles/column"]: r["column_roles/role"] for r in ds.records("column_roles")}
    assert got == roles.ROLES


@pytest.mark.slow
@pytest.mark.parametrize("form", ["path", "dict"])
def test_cutouts_come_back_as_the_parquet_arrays(cutout_dataset, jsonld, form):
    root = Path(cutout_dataset)
    ds = (
        mlc.Dataset(jsonld=root / "croissant.json")
        if form == "path"
        else mlc.Dataset(jsonld=dict(jsonld), mapping=_mapping(root, jsonld))
    )
    table = read_cutout_parquet(Layout(root).cutout_parquet("val"))
    rows = list(itertools.islice(ds.records("cutouts", filters={"cutouts/split": "val"}), 2))
    for k, rec in enumerate(rows):
        assert rec["cutouts/split"] == b"val" and rec["cutouts/candidate_id"].decode() == table.ids[k]
        assert np.array_equal(np.asarray(rec["cutouts/cutout"], dtype=np.float32), table.cutouts[k])
        assert np.array_equal(np.asarray(rec["cutouts/valid"], dtype=np.uint8), table.valid[k])


def _ids(ds, **kw) -> list:
    return [r["transient_candidates/candidate_id"] for r in ds.records("transient_candidates", **kw)]


def test_split_filter_and_repeated_passes(cutout_dataset):
    """Fresh mlc.Dataset per pass: same rows every time. Two mlcroissant 1.1.1 limits no metadata avoids
    (documented in the README; these asserts fail once mlcroissant fixes them):"""
    path = Path(cutout_dataset) / "croissant.json"
    counts = {s: pq.read_metadata(Layout(cutout_dataset).candidates_split(s)).num_rows for s in SPLITS}
    first, again = _ids(mlc.Dataset(jsonld=path)), _ids(mlc.Dataset(jsonld=path))
    assert first == again and len(first) == sum(counts.values())
    val = _ids(mlc.Dataset(jsonld=path), filters={"transient_candidates/split": "val"})
    assert len(val) == counts["val"] and set(val) < set(first)
    # 1. a record set that joins another (transient_candidates -> splits, which TFDS needs for its splits) is
    #    read by a cached generator: a second pass on the same Dataset yields nothing. Record sets without a
    #    join (jobs: its split is named in the description only) stream, and repeat.
    ds = mlc.Dataset(jsonld=path)
    assert len(_ids(ds)) == len(first) and _ids(ds) == []
    jobs = mlc.Dataset(jsonld=path)
    n_jobs = sum(1 for _ in jobs.records("jobs"))
    assert n_jobs > 0 and sum(1 for _ in jobs.records("jobs")) == n_jobs
    # 2. a split filter narrows the FileSet of that Dataset in place (_propagate_includes): a later
    #    unfiltered record set on it reads only the filtered file
    ds = mlc.Dataset(jsonld=path)
    _ids(ds, filters={"transient_candidates/split": "val"})
    try:
        after = len(_ids(ds))
    except Exception:  # noqa: BLE001 - the limit shows up as an error or as missing rows
        after = None
    assert after != len(first)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOAD_ALL = """
import json, logging, sys
import mlcroissant as mlc
logging.disable(logging.WARNING)
jsonld, repo = json.load(open(sys.argv[1])), json.loads(sys.argv[2])
out = {}
for rs in [r["@id"] for r in jsonld["recordSet"] if r["@id"] != "cutouts"]:
    first = next(iter(mlc.Dataset(jsonld=dict(jsonld), mapping=repo).records(rs)))  # the checker's call
    out[rs] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in first.items()}
split = {"transient_candidates/split": "val"}
val = mlc.Dataset(jsonld=dict(jsonld), mapping=repo).records("transient_candidates", filters=split)
out["n_val"] = sum(1 for _ in val)
print(json.dumps(out, default=str))
"""


@pytest.mark.slow
def test_published_flavour_loads_over_http(cutout_dataset, tmp_path):
    """Every file is downloaded over HTTP from 127.0.0.1 and hash-checked, except the git+https dataset folder
    holding the per-split FileSets: mlcroissant 1.1.1 clones only from GitHub, GitLab and huggingface.co, so
    it is mapped to the served folder, as a clone of the repository would be."""
    served = Path(
        shutil.copytree(cutout_dataset, tmp_path / "served", ignore=shutil.ignore_patterns("*.npy"))
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    published = write_croissant(
        served, tmp_path / "published.json", content_base_url=base, repo_url=base, refresh_manifests=False
    )
    jsonld = json.loads(published.read_text())
    urls = [n["contentUrl"] for n in jsonld["distribution"] if n["@type"] == "cr:FileObject"]
    assert urls and all(u.startswith(base) for u in urls)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(served)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        env = {**os.environ, "CROISSANT_CACHE": str(tmp_path / "cache")}
        repo = json.dumps({"dataset-folder": str(served)})
        args = [sys.executable, "-c", LOAD_ALL, str(published), repo]
        run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["n_val"] == pq.read_metadata(Layout(served).candidates_split("val")).num_rows
    local = next(iter(mlc.Dataset(jsonld=Layout(cutout_dataset).croissant_json).records("jobs")))
    assert got["jobs"]["jobs/jid"] == local["jobs/jid"].decode()
    assert set(got) >= {"transient_candidates", "physical", "truth", "images", "catalogs"}
    downloaded = list((tmp_path / "cache" / "download").iterdir())  # fetched from the server
    assert len(downloaded) == 5  # jobs, truth, the two manifests and physical: the FileObject tables read
