"""validate never crashes: every damaged file becomes a problem naming it; paths leaving the dataset are
refused, never read; tables are cross-checked by content; a stale cutout store is reported and refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset.cutouts import CutoutStore
from rapid_croissant.dataset.validate import validate_dataset
from rapid_croissant.errors import ConfigError
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.writers.croissant import write_croissant


@pytest.fixture(scope="module")
def small(sim_2025, tmp_path_factory):
    base = tmp_path_factory.mktemp("validate_trust")
    inp = base / "raw"
    for jid in ("jid1001", "jid1002"):
        shutil.copytree(sim_2025 / jid, inp / jid)
    out = base / "ds"
    cfg = BuildConfig(input_dir=inp, output_dir=out, executor="serial", cutouts=True)
    build_dataset(cfg, progress=False)
    write_croissant(out)
    return inp, out


@pytest.fixture
def ds(small, tmp_path):
    shutil.copytree(small[1], tmp_path / "ds")
    return tmp_path / "ds"


def _problems(ds, **kw):
    kw.setdefault("run_mlcroissant", False)
    return validate_dataset(ds, **kw)


def test_the_clean_dataset_has_no_problem(small):
    assert _problems(small[1]) == []


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _manifest_path(ds, new_path):
    table = pq.read_table(ds / "catalogs-manifest.parquet").to_pandas()
    table.loc[0, "path"] = new_path
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), ds / "catalogs-manifest.parquet")


def _croissant(ds, edit):
    path = ds / "croissant.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps(edit(doc)))


def _first_file_url(doc, url):
    next(n for n in doc["distribution"] if n.get("@type") == "cr:FileObject")["contentUrl"] = url
    return doc


DAMAGE = {
    "truncated candidates.parquet": (
        lambda ds: _truncate(ds / names.CANDIDATES_PARQUET),
        "candidates.parquet",
    ),
    "truncated jobs.parquet": (lambda ds: _truncate(ds / names.JOBS_PARQUET), "jobs.parquet"),
    "truncated split file": (
        lambda ds: _truncate(ds / "candidates-train.parquet"),
        "candidates-train.parquet",
    ),
    "manifest not parquet": (
        lambda ds: (ds / "images-manifest.parquet").write_text("not parquet"),
        "images-manifest.parquet",
    ),
    "manifest without path column": (
        lambda ds: pq.write_table(pa.table({"x": [1]}), ds / "catalogs-manifest.parquet"),
        "catalogs-manifest.parquet",
    ),
    "manifest path ../": (lambda ds: _manifest_path(ds, "../../../etc/passwd"), "catalogs-manifest.parquet"),
    "manifest absolute path": (lambda ds: _manifest_path(ds, "/etc/passwd"), "catalogs-manifest.parquet"),
    "croissant is a list": (lambda ds: (ds / "croissant.json").write_text("[]"), "croissant.json"),
    "croissant truncated": (lambda ds: _truncate(ds / "croissant.json"), "croissant.json"),
    "croissant distribution not a list": (
        lambda ds: _croissant(ds, lambda d: {**d, "distribution": 3}),
        None,
    ),
    "croissant entry not an object": (
        lambda ds: _croissant(ds, lambda d: {**d, "distribution": ["x"]}),
        "croissant.json",
    ),
    "croissant path ../": (
        lambda ds: _croissant(ds, lambda d: _first_file_url(d, "../outside.csv")),
        "croissant.json",
    ),
    "croissant absolute path": (
        lambda ds: _croissant(ds, lambda d: _first_file_url(d, "/etc/hosts")),
        "croissant.json",
    ),
    "corrupt tensor": (
        lambda ds: (ds / "images" / "jid1001.npy").write_bytes(b"\x93NUMPY garbage"),
        "jid1001.npy",
    ),
    "store.json not JSON": (lambda ds: (ds / "cutouts" / "store.json").write_text("{"), "store.json"),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_validate_reports_every_damage_without_crashing(ds, name):
    damage, named = DAMAGE[name]
    damage(ds)
    problems = _problems(ds)  # must not raise
    if named is None:  # a malformed but harmless structure: no file read, no crash
        return
    assert problems, name
    assert any(named in p.file or named in p.message for p in problems), [str(p) for p in problems]


def test_paths_leaving_the_dataset_are_never_read(ds, monkeypatch):
    _manifest_path(ds, "../../../etc/passwd")
    _croissant(ds, lambda d: _first_file_url(d, "/etc/hosts"))
    read = []
    import rapid_croissant.dataset.validate as validate

    real = validate.sha256_file
    monkeypatch.setattr(validate, "sha256_file", lambda p, **kw: read.append(str(p)) or real(p, **kw))
    problems = _problems(ds)
    assert {p.kind for p in problems} >= {"unsafe-path"}
    assert not [p for p in read if "passwd" in p or "hosts" in p]


def test_csv_edited_by_hand_is_found_by_content(ds):
    csv = pd.read_csv(ds / names.CANDIDATES_CSV, keep_default_na=False)
    csv.loc[3, "label"] = 1 - csv.loc[3, "label"]  # same keys, another label
    csv.to_csv(ds / names.CANDIDATES_CSV, index=False)
    problems = _problems(ds)
    assert any(
        p.kind == "content" and p.file == names.CANDIDATES_CSV and "label" in p.message for p in problems
    )


def test_split_file_edited_is_found_by_content(ds):
    part = pd.read_parquet(ds / "candidates-train.parquet")
    part.loc[0, "x"] += 10.0
    part.to_parquet(ds / "candidates-train.parquet", index=False)
    problems = _problems(ds)
    assert any(p.kind == "content" and p.file == "candidates-train.parquet" for p in problems), problems


def test_a_stale_cutout_store_is_reported_and_refused(ds):
    CutoutStore(ds, "train")  # fresh: loads
    meta = json.loads((ds / "cutouts" / "store.json").read_text())
    meta["made_from"] = "0" * 32
    (ds / "cutouts" / "store.json").write_text(json.dumps(meta))
    assert any(p.kind == "stale" for p in _problems(ds))
    with pytest.raises(ConfigError, match="stale"):
        CutoutStore(ds, "train")


def test_a_rebuild_after_an_input_edit_rebuilds_the_stale_store(small, tmp_path):
    inp = tmp_path / "raw"
    shutil.copytree(small[0], inp)
    out = tmp_path / "ds"
    shutil.copytree(small[1], out)
    [inject] = (inp / "jid1001").glob("*_lite_inject.txt")
    lines = inject.read_text().splitlines()
    inject.write_text("\n".join(lines[:-5]) + "\n")  # five injections fewer: other labels
    build_dataset(
        BuildConfig(input_dir=inp, output_dir=out, executor="serial"), progress=False
    )  # no --cutouts
    CutoutStore(out, "train")  # rebuilt, not stale
    assert not [p for p in _problems(out) if p.kind == "stale"]


def test_the_loader_refuses_a_tensor_leaving_the_dataset(tmp_path):
    pytest.importorskip("torch")
    from rapid_croissant.ml.loader import _JobArrays

    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros((2, 2, 9), dtype=np.float32))
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "images" / "jid1.npy").symlink_to(secret)
    with pytest.raises(ConfigError, match="resolves outside the dataset folder"):
        _JobArrays(root)("jid1")
    with pytest.raises(ConfigError, match="outside the dataset folder"):
        _JobArrays(root)("../../secret")  # a jid from a hostile table


def test_the_manifest_writer_refuses_a_linked_catalog(tmp_path):
    from rapid_croissant.writers.manifest import catalog_rows

    (tmp_path / "passwd").write_text("root:x:0:0")
    root = tmp_path / "ds"
    (root / "catalogs").mkdir(parents=True)
    (root / "catalogs" / "jid1_diffimage_masked.txt").symlink_to(tmp_path / "passwd")
    with pytest.raises(ConfigError, match="resolves outside the dataset folder"):
        catalog_rows(root)
