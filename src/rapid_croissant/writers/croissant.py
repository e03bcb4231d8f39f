"""Write ``croissant.json`` for a built dataset with mlcroissant's Python API (Croissant 1.1 + RAI 1.0).

Facts about mlcroissant 1.1.1 that shape this file (docs: croissant_notes.md):

* loose ``.npy`` files cannot be loaded, so tensors are described by the manifest tables (``manifest.py``);
* split filtering only works on a field read from a file name by regex, so candidates come from one
  Parquet file per split through a FileSet;
* a record set that joins another must come first in the document (join-order bug);
* PROV-O and ``temporalCoverage`` are not part of its model: they are added to the JSON-LD after
  ``to_json()`` (they survive validation and loading), and two RAI terms it misspells are renamed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tomllib
from importlib import resources
from pathlib import Path

import mlcroissant as mlc
import pandas as pd

from rapid_croissant import __version__
from rapid_croissant.config import check_keys, read_toml
from rapid_croissant.dataset import layout as names
from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.errors import ConfigError, RapidCroissantError
from rapid_croissant.writers import atomic
from rapid_croissant.writers import croissant_text as text
from rapid_croissant.writers.croissant_records import RecordSetBuilder
from rapid_croissant.writers.hf_card import write_hf_card
from rapid_croissant.writers.manifest import write_manifests
from rapid_croissant.writers.publisher_checks import check_publisher_values

__all__ = ["CONFORMS_TO", "build_metadata", "load_publisher_config", "write_croissant"]

log = logging.getLogger(__name__)

CONFORMS_TO = ["http://mlcommons.org/croissant/1.1", "http://mlcommons.org/croissant/RAI/1.0"]
PROV = "http://www.w3.org/ns/prov#"
#: mlcroissant 1.1.1's spelling -> the RAI 1.0 vocabulary's.
RAI_SPELLING = {
    "rai:dataCollectionTimeFrame": "rai:dataCollectionTimeframe",
    "rai:dataDataManipulationProtocol": "rai:dataManipulationProtocol",
}
#: Keys a publisher may set (the packaged TOML documents each).
PUBLISHER_KEYS = (
    "name",
    "url",
    "license",
    "version",
    "date_published",
    "creator_type",
    "creator_name",
    "creator_url",
    "publisher_type",
    "publisher_name",
    "publisher_url",
    "cite_as",
    "same_as",
    "content_base_url",
    "repo_url",
    "openuniverse_url",
    "rapid_url",
    "maintenance",
)


def load_publisher_config(config_path: str | Path | None = None, **overrides) -> dict:
    """Packaged defaults, updated by the TOML file ``config_path``, then by the non-None ``overrides``."""
    defaults = tomllib.loads(
        resources.files("rapid_croissant").joinpath("data/croissant_defaults.toml").read_text()
    )
    values = dict(defaults)
    if config_path is not None:
        loaded = read_toml(config_path)
        check_keys(loaded, PUBLISHER_KEYS, str(config_path))
        values.update(loaded)
    given = {k: v for k, v in overrides.items() if v is not None}
    check_keys(given, PUBLISHER_KEYS, "options")
    values.update(given)
    for key, value in values.items():
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected text, got {value!r}")
    check_publisher_values(values)
    return values


def _agent(kind: str, name: str, url: str) -> mlc.Person | mlc.Organization:
    cls = {"person": mlc.Person, "organization": mlc.Organization}.get(kind.lower())
    if cls is None:
        raise ConfigError(f"creator_type/publisher_type: expected 'Person' or 'Organization', got {kind!r}")
    return cls(name=name, url=url or None)


def _parse_date(value: str, key: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise ConfigError(f"{key}: expected an ISO date (YYYY-MM-DD), got {value!r}") from err


def _read_summary(root: Path) -> dict:
    """What the metadata says about the data: build configuration, jobs, counts, time range."""
    missing = [
        n
        for n in (names.BUILD_INFO, names.JOBS_PARQUET, names.CANDIDATES_PARQUET)
        if not (root / n).is_file()
    ]
    if missing:
        raise RapidCroissantError(f"{root}: not a built dataset, missing {', '.join(missing)}")
    layout = Layout(root)
    info = json.loads(layout.build_info.read_text())
    jobs = pd.read_parquet(layout.jobs_parquet)
    cands = pd.read_parquet(layout.candidates_parquet, columns=["label", "split", "jid"])
    return {
        "info": info,
        "config": info.get("config", {}),
        "n_jobs": len(jobs),
        "n_failed": int((jobs["status"] == "failed").sum()),
        "filters": sorted(jobs["filter"].dropna().unique().tolist()),
        "mjd": jobs["mjd"].dropna(),
        "n_candidates": len(cands),
        "labels": {int(k): int(v) for k, v in cands["label"].value_counts().items()},
        "splits": {s: int((cands["split"] == s).sum()) for s in schema.SPLITS},
    }


def _mjd_to_datetime(mjd: float) -> dt.datetime:
    return dt.datetime(1858, 11, 17, tzinfo=dt.UTC) + dt.timedelta(days=float(mjd))


def _metadata(ctx: mlc.Context, root: Path, out_dir: Path, values: dict, summary: dict) -> mlc.Metadata:
    builder = RecordSetBuilder(
        ctx, root, out_dir=out_dir, base_url=values["content_base_url"], repo_url=values.get("repo_url", "")
    )
    creator = _agent(values["creator_type"], values["creator_name"], values["creator_url"])
    publisher = (
        _agent(values["publisher_type"], values["publisher_name"], values["publisher_url"])
        if values["publisher_name"]
        else creator
    )
    today = dt.datetime.now(dt.UTC).replace(microsecond=0)
    published = _parse_date(values["date_published"], "date_published") if values["date_published"] else today
    created = summary["info"].get("created")
    mjd = summary["mjd"]
    timeframe = [_mjd_to_datetime(mjd.min()), _mjd_to_datetime(mjd.max())] if len(mjd) else None
    return mlc.Metadata(
        ctx=ctx,
        name=values["name"],
        description=text.description(summary),
        conforms_to=CONFORMS_TO,
        cite_as=values["cite_as"] or text.bibtex(values, published.year),
        creators=[creator],
        publisher=[publisher],
        license=[values["license"]],
        url=values["url"],
        same_as=[s.strip() for s in values["same_as"].split(",") if s.strip()] or None,
        version=values["version"],
        sd_version=__version__,
        date_created=_parse_date(created, "build_info.json created") if created else None,
        date_published=published,
        date_modified=today,
        keywords=list(text.KEYWORDS),
        in_language=["en"],
        distribution=builder.distribution(),
        record_sets=builder.record_sets(),
        data_collection_timeframe=timeframe,
        **text.rai_fields(summary, values),
    )


def _add_extensions(jsonld: dict, values: dict, summary: dict) -> dict:
    """Properties outside mlcroissant's model (temporal coverage, PROV-O) and the RAI 1.0 spelling of the
    two terms mlcroissant 1.1.1 misspells."""
    for wrong, right in RAI_SPELLING.items():
        if wrong in jsonld:
            jsonld[right] = jsonld.pop(wrong)
    if len(summary["mjd"]):
        start, end = (_mjd_to_datetime(summary["mjd"].min()), _mjd_to_datetime(summary["mjd"].max()))
        jsonld["temporalCoverage"] = f"{start.date().isoformat()}/{end.date().isoformat()}"
    jsonld["@context"]["prov"] = PROV
    jsonld.update(text.provenance(values, summary))
    return jsonld


def build_metadata(
    dataset_dir: str | Path, *, publisher_config: dict | None = None, output_dir: str | Path | None = None
) -> dict:
    """The Croissant JSON-LD of a built dataset whose manifests are written.

    ``publisher_config`` updates the packaged defaults (see ``load_publisher_config``); file URLs are
    relative to ``output_dir`` (default: the dataset folder), where ``croissant.json`` will live.
    """
    root = Path(dataset_dir)
    values = load_publisher_config(**(publisher_config or {}))
    summary = _read_summary(root)
    ctx = mlc.Context(conforms_to=CONFORMS_TO[0])
    try:
        metadata = _metadata(ctx, root, Path(output_dir or root), values, summary)
    except mlc.ValidationError as err:
        raise RapidCroissantError(f"{root}: mlcroissant rejected the metadata: {err}") from err
    return _add_extensions(metadata.to_json(), values, summary)


def write_croissant(
    dataset_dir: str | Path,
    output: str | Path | None = None,
    *,
    config_path: str | Path | None = None,
    refresh_manifests: bool = True,
    **overrides,
) -> Path:
    """Write the manifests (unless ``refresh_manifests=False``) and ``croissant.json``; return its path.

    ``overrides`` are publisher values (url, license, creator_name, version, ...) that win over the
    TOML file ``config_path`` and the packaged defaults.
    """
    root = Path(dataset_dir)
    if not root.is_dir():
        raise RapidCroissantError(f"{root}: dataset folder not found")
    output = Path(output) if output is not None else Layout(root).croissant_json
    output.parent.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(root.resolve(), output.parent.resolve())
    if rel.startswith(".."):
        log.warning(
            "%s is outside the folder of %s: mlcroissant will not find the per-split files", root, output
        )
    values = load_publisher_config(config_path, **overrides)
    if placeholders := [k for k, v in values.items() if "PLACEHOLDER" in v or "REPLACE-ME" in v]:
        log.warning(
            "placeholder value(s) for %s: set them with --config or options before publishing",
            ", ".join(placeholders),
        )
    if refresh_manifests:
        write_manifests(root)
    jsonld = build_metadata(root, publisher_config=values, output_dir=output.parent)
    atomic.write_text(output, json.dumps(jsonld, indent=2, ensure_ascii=False) + "\n")
    write_hf_card(root, values)
    log.info("wrote %s", output)
    return output
