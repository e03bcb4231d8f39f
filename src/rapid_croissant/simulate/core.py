"""Simulate a folder of RAPID jobs: draw job specs from a seed, render pixels, run ZOGY and SFFT,
detect, write every product in RAPID's formats, and keep an answer key outside the job folders.

Deterministic: the same arguments give byte-identical files.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from rapid_croissant import formats
from rapid_croissant.simulate import (
    answer_key,
    constants,
    defects,
    detect,
    domains,
    render,
    scene,
    subtract,
    survey,
    writer,
)

log = logging.getLogger(__name__)

FILTER_CYCLE = ("H158", "J129", "Y106", "F184", "Z087", "K213", "R062")
ANSWER_KEY_DIR = "answer_key"
FIRST_JID = 1001


@dataclass
class SimulatedJob:
    jid: str
    path: Path
    defect: str | None
    n_truth: int
    n_zogy: int
    n_sfft: int
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)


def draw_specs(
    n: int,
    *,
    size: int,
    seed: int,
    defects_on: bool,
    injections_per_512: int | None = None,
    first_jid: int = FIRST_JID,
):
    """Job specs for ``n`` normal jobs (and the defect jobs when asked), all derived from ``seed``."""
    rng = np.random.default_rng(seed)
    n_inj = int(round((injections_per_512 or scene.INJECTIONS_PER_512) * (size / 512.0) ** 2))
    kinds = [None] * n + (list(defects.DEFECT_KINDS) if defects_on else [])
    specs = []
    for i, kind in enumerate(kinds):
        flt = FILTER_CYCLE[i % len(FILTER_CYCLE)]
        fwhm = rng.uniform(1.9, 2.2)
        spec = scene.JobSpec(
            jid=first_jid + i,
            seed=int(rng.integers(2**31)),
            size=size,
            filter=flt,
            pointing=int(rng.integers(100, 30000)),
            sca=int(rng.integers(1, 19)),
            mjd=round(float(62000.0 + 700.0 * rng.random()), 6),
            exptime=constants.EXPTIME_TYPICAL[flt],
            fwhm_sci=fwhm,
            fwhm_ref=fwhm * rng.uniform(0.86, 0.94),
            ref_shift=(float(rng.normal(0, 0.02)), float(rng.normal(0, 0.02))),
            psf_model_error=float(rng.normal(0, 0.015)),
            sky_rate=float(rng.uniform(0.8, 1.4)),
            ra0=float(rng.uniform(7.0, 12.0)),
            dec0=float(rng.uniform(-46.0, -42.0)),
            n_injections=n_inj,
            edge_sources=kind == "edge_sources",
            big_nan_region=kind == "big_nan_region",
        )
        specs.append((spec, kind))
    return specs


def _finite_std(image) -> float:
    from rapid_croissant.simulate.zogy import clipped_std

    return clipped_std(image[np.isfinite(image)])


def build_scene(spec: scene.JobSpec, rng) -> SimpleNamespace:
    """The job's sky; the static scene and the coverage come from the field's seed when it has one."""
    if spec.field_seed is None:
        stars, galaxies = scene.make_static_scene(spec, rng)
        ou, inj = scene.make_transients(spec, galaxies, rng)
        rays, hot = scene.make_artefacts(spec, rng)
        cov = scene.coverage_map(spec, rng)
    else:
        field_rng = np.random.default_rng(spec.field_seed)
        stars, galaxies = scene.make_static_scene(spec, field_rng)
        cov = scene.coverage_map(spec, field_rng)
        ou, inj = scene.make_transients(spec, galaxies, rng)
        rays, hot = scene.make_artefacts(spec, rng)
    return SimpleNamespace(stars=stars, galaxies=galaxies, ou=ou, inj=inj, rays=rays, hot=hot, cov=cov)


def _detect(zg, sf, *, era: str, wcs, sign: int = 1) -> dict:
    """photutils catalogs of each algorithm on ``sign`` x its difference (RAPID's negative run: sign -1)."""
    cats = {"zogy": detect.detect_and_fit(sign * zg.diff, zg.uncert, zg.psf, wcs=wcs)}
    if sf is not None:
        sfft_data = np.nan_to_num(sf.dconv, nan=0.0) if era == formats.ERA_2026 else sf.dconv
        cats["sfft"] = detect.detect_and_fit(sign * sfft_data, sf.uncert, sf.psf, wcs=wcs)
    return cats


def simulate_job(spec: scene.JobSpec, out_dir: Path, *, era: str, defect: str | None) -> SimulatedJob:
    """Render, subtract, detect and write one job folder plus its answer-key files."""
    import time

    t0 = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    sc = build_scene(spec, rng)
    ref_rng = None if spec.field_seed is None else np.random.default_rng([spec.field_seed, 1])
    ep = render.render_epochs(spec, sc, rng, ref_rng=ref_rng)
    psf_n, psf_r = subtract.model_psfs(
        spec.fwhm_sci, spec.fwhm_ref, spec.psf_model_error, beta=spec.moffat_beta
    )
    zg = subtract.run_zogy(ep.sci, ep.ref, ep.cov, psf_n=psf_n, psf_r=psf_r, exptime=spec.exptime)
    sf = None
    if defect != "sfft_failed":
        sf = subtract.run_sfft(ep.sci, ep.ref, ep.cov, psf_n=psf_n, psf_r=psf_r, exptime=spec.exptime)
    wcs = writer.make_wcs(spec)
    cats = _detect(zg, sf, era=era, wcs=wcs)
    job_dir = out_dir / f"jid{spec.jid}"
    job_dir.mkdir(parents=True, exist_ok=True)
    files = write_job_products(job_dir, spec, sc, ep, zg, sf, cats, era=era, rng=rng)
    if spec.negative_catalogs:
        files += write_negative_catalogs(job_dir, _detect(zg, sf, era=era, wcs=wcs, sign=-1), era=era)
    defects.apply(job_dir, defect, era=era)
    key_dir = out_dir / ANSWER_KEY_DIR
    key_dir.mkdir(exist_ok=True)
    key = answer_key.make(spec, sc, cats, diff_sigma=_finite_std(zg.diff), psf=zg.psf)
    key.truth.to_parquet(key_dir / f"jid{spec.jid}_truth.parquet", index=False)
    key.detections.to_parquet(key_dir / f"jid{spec.jid}_detections.parquet", index=False)
    return SimulatedJob(
        jid=f"jid{spec.jid}",
        path=job_dir,
        defect=defect,
        n_truth=len(key.truth),
        n_zogy=len(cats["zogy"][1]),
        n_sfft=len(cats["sfft"][1]) if "sfft" in cats else 0,
        seconds=time.perf_counter() - t0,
        files=files,
    )


def write_job_products(job_dir: Path, spec, sc, ep, zg, sf, cats, *, era: str, rng) -> list[str]:
    """Write every FITS product, catalog and truth file of one job; return the file names."""
    names = formats.FILES_BY_ERA[era]
    ch = names.channels
    hdr = writer.base_header(spec)
    diff_hdr = hdr.copy()
    diff_hdr["NINJECT"] = (spec.n_injections, "number of injected fake sources")
    diff_hdr["MNMAGINJ"] = (formats.INJECTION_MAG_RANGE[0], "minimum AB magnitude of fakes")
    diff_hdr["MXMAGINJ"] = (formats.INJECTION_MAG_RANGE[1], "maximum AB magnitude of fakes")
    out = {
        f"{spec.stem}_inject_reformatted.fits": (ep.sci_raw, hdr, np.float32),
        ch["sci"]: (ep.sci, hdr, np.float32),
        ch["ref"]: (ep.ref, hdr, np.float32),
        "awaicgen_output_mosaic_cov_map_resampled.fits": (ep.cov, hdr, np.float32),
        ch["zogy_diff"]: (zg.diff, diff_hdr, np.float32),
        ch["zogy_scorr"]: (zg.scorr, hdr, np.float32),
        ch["zogy_uncert"]: (zg.uncert, hdr, np.float32),
        ch["psf"]: (zg.psf, None, np.float32),
    }
    if sf is not None:
        out[ch["sfft_diff"]] = (sf.dconv, diff_hdr, np.float64)  # RAPID writes these float64 (§2.1)
        out[ch["sfft_scorr"]] = (sf.cconv, diff_hdr, np.float64)
        out[ch["sfft_uncert"]] = (sf.uncert, hdr, np.float32)
        if era == formats.ERA_2026:
            out["sfftdiffpsf.fits"] = (sf.psf, None, np.float32)
    for name, (data, h, dtype) in out.items():
        writer.write_fits(job_dir / name, data, h if h is not None else writer.fits.Header(), dtype=dtype)
    for alg, (finder, phot) in cats.items():
        finder_name = names.zogy_finder if alg == "zogy" else names.sfft_finder
        psfcat_name = names.zogy_psfcat if alg == "zogy" else names.sfft_psfcat
        writer.write_photutils_catalogs(finder, phot, job_dir / finder_name, job_dir / psfcat_name, era=era)
        if era == formats.ERA_2026 and len(phot):
            parquet_name = psfcat_name.replace(".txt", ".parquet")
            phot.to_pandas().to_parquet(job_dir / parquet_name, index=False)
    _write_sextractor(job_dir, names, zg, sf, wcs=writer.make_wcs(spec))
    writer.write_injections(job_dir / f"{spec.stem}_inject.txt", sc.inj)
    ou_name = f"Roman_TDS_index_{spec.filter}_{spec.pointing}_{spec.sca}.txt"
    writer.write_ou_index(job_dir / ou_name, writer.ou_table(spec, sc, writer.make_wcs(spec), rng))
    return sorted(p.name for p in job_dir.iterdir())


def write_negative_catalogs(job_dir: Path, cats: dict, *, era: str) -> list[str]:
    """RAPID's ``*_psfcat_negative.txt`` and ``*_psfcat_finder_negative.txt`` (photutils on -diff)."""
    from rapid_croissant.io.negative import negative_name

    names = formats.FILES_BY_ERA[era]
    written = []
    for alg, (finder, phot) in cats.items():
        finder_name = negative_name(names.zogy_finder if alg == "zogy" else names.sfft_finder)
        psfcat_name = negative_name(names.zogy_psfcat if alg == "zogy" else names.sfft_psfcat)
        writer.write_photutils_catalogs(finder, phot, job_dir / finder_name, job_dir / psfcat_name, era=era)
        written += [n for n in (finder_name, psfcat_name) if (job_dir / n).exists()]
    return written


def _write_sextractor(job_dir: Path, names, zg, sf, *, wcs) -> None:
    """SExtractor catalogs as RAPID makes them: detect on S_corr (ZOGY) or cconv (SFFT), measure on the
    diff."""
    from rapid_croissant.io.catalogs import write_sextractor_catalog
    from rapid_croissant.simulate.sextractor import sextractor_table

    zt = sextractor_table(zg.scorr, zg.diff, zg.uncert, detect_rms=1.0, wcs=wcs)
    write_sextractor_catalog(zt, job_dir / names.zogy_sextractor)
    if sf is not None:
        rms = _finite_std(sf.cconv)
        write_sextractor_catalog(
            sextractor_table(sf.cconv, sf.dconv, sf.uncert, detect_rms=rms, wcs=wcs),
            job_dir / names.sfft_sextractor,
        )


def simulate_jobs(
    out_dir: str | Path,
    *,
    n: int = 3,
    size: int = 512,
    seed: int = 42,
    era: str = formats.ERA_2025,
    with_defects: bool = False,
    injections_per_512: int | None = None,
    progress: bool = True,
    domain: str | None = None,
    domain_seed: int | None = None,
    density: str = "sim",
    epochs_per_field: int = 1,
    negative_catalogs: bool = False,
    first_jid: int = FIRST_JID,
) -> list[SimulatedJob]:
    """Simulate ``n`` jobs (plus the defect jobs) into ``out_dir``; returns a summary per job.

    ``domain`` (default, A, B) or ``domain_seed`` picks the simulated survey's face, ``density`` its
    density of real sources (``rapid``: RAPID's 100 injections per SCA), ``epochs_per_field`` how many
    jobs see each sky field, ``negative_catalogs`` whether RAPID's ``*_negative`` catalogs are written
    (simulate/domains.py, simulate/survey.py). Without them the output is the historical one.
    """
    from tqdm.auto import tqdm

    if era not in formats.ERAS:
        raise ValueError(f"era must be one of {formats.ERAS}, got {era!r}")
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dom = domains.resolve(domain, domain_seed=domain_seed, density=density)
    if injections_per_512 is not None:
        dom = replace(dom, injections_per_512=float(injections_per_512))
    historical = domain in (None, "default") and domain_seed is None and density == "sim"
    if historical and epochs_per_field == 1 and not negative_catalogs:
        specs = draw_specs(
            n,
            size=size,
            seed=seed,
            defects_on=with_defects,
            injections_per_512=injections_per_512,
            first_jid=first_jid,
        )
    else:
        normal = survey.draw_survey_specs(
            n,
            size=size,
            seed=seed,
            domain=dom,
            epochs_per_field=epochs_per_field,
            first_jid=first_jid,
            negative_catalogs=negative_catalogs,
        )
        broken = draw_specs(0, size=size, seed=seed, defects_on=with_defects, first_jid=first_jid + n)
        specs = [(s, None) for s in normal] + broken
    results = []
    for spec, kind in tqdm(specs, desc="simulating jobs", unit="job", disable=not progress):
        job = simulate_job(spec, out_dir, era=era, defect=kind)
        log.info(
            "%s: %d truth, %d ZOGY, %d SFFT detections (%.1f s)%s",
            job.jid,
            job.n_truth,
            job.n_zogy,
            job.n_sfft,
            job.seconds,
            f" [defect: {kind}]" if kind else "",
        )
        results.append(job)
    if with_defects:
        defects.add_clutter(out_dir)
    manifest = {
        "seed": seed,
        "size": size,
        "era": era,
        "domain": dom.to_dict(),
        "density": density,
        "epochs_per_field": epochs_per_field,
        "jobs": [{**asdict(s), "defect": k} for s, k in specs],
    }
    (out_dir / ANSWER_KEY_DIR / "simulation.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return results


def load_answer_key(sim_dir: str | Path) -> SimpleNamespace:
    """Read the answer key written next to the job folders (for tests and scoring)."""
    key_dir = Path(sim_dir) / ANSWER_KEY_DIR
    truth = pd.concat(
        [pd.read_parquet(p) for p in sorted(key_dir.glob("jid*_truth.parquet"))], ignore_index=True
    )
    dets = [pd.read_parquet(p) for p in sorted(key_dir.glob("jid*_detections.parquet"))]
    dets = pd.concat(dets, ignore_index=True) if dets else pd.DataFrame()
    meta = json.loads((key_dir / "simulation.json").read_text())
    return SimpleNamespace(truth=truth, detections=dets, meta=meta)
