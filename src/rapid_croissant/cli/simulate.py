"""``rapid-croissant simulate``: write realistic RAPID job folders (real ZOGY and SFFT on simulated
pixels)."""

from __future__ import annotations

import time

import click

from rapid_croissant import formats
from rapid_croissant.simulate.domains import DENSITIES, DOMAINS

DOMAIN_NAMES = tuple(DOMAINS)


@click.command("simulate")
@click.option(
    "-n",
    "--n-jobs",
    "n",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Number of normal jobs to simulate.",
)
@click.option(
    "--size",
    type=click.IntRange(min=64),
    default=512,
    show_default=True,
    help="Simulated SCA size S in pixels; products are (S+1)x(S+1) as RAPID writes them (real: 4088).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Run seed: same arguments, same bytes.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Folder to write the jid*/ job folders (and answer_key/) into.",
)
@click.option(
    "--era",
    type=click.Choice(formats.ERAS),
    default=formats.ERA_2025,
    show_default=True,
    help="Product era: 2025 names/photutils-2 columns, or 2026 zogy_ names/photutils-3 columns.",
)
@click.option("--defects", is_flag=True, help="Also write one broken job of each kind and non-job clutter.")
@click.option(
    "--injections",
    type=click.IntRange(min=0),
    default=None,
    help="Injected sources per 512x512 pixels (default 50; RAPID injects 100 per 4088x4088 SCA).",
)
@click.option(
    "--domain",
    type=click.Choice(DOMAIN_NAMES),
    default=None,
    help="Face of the simulated survey: PSF, noise, mismatch, artefact mix (A and B differ clearly).",
)
@click.option(
    "--domain-seed",
    type=click.IntRange(min=0),
    default=None,
    help="Draw a random domain from this seed instead of a named one (for multi-domain sets).",
)
@click.option(
    "--density",
    type=click.Choice(DENSITIES),
    default="sim",
    show_default=True,
    help="Real-source density: sim (50 injections per 512x512) or rapid (100 per 4088x4088, 3-5 % real).",
)
@click.option(
    "--epochs-per-field",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Jobs per sky field (same sky, reference and WCS; other science epochs, PSFs and transients).",
)
@click.option(
    "--negative-catalogs",
    is_flag=True,
    help="Also write RAPID's *_psfcat_negative.txt catalogs (photutils on -diff: fading sources, dipoles).",
)
@click.option(
    "--first-jid",
    type=click.IntRange(min=1),
    default=1001,
    show_default=True,
    help="Job number of the first job (jid<N>): simulate several domains into one set of job numbers.",
)
def command(
    n,
    size,
    seed,
    out_dir,
    era,
    defects,
    injections,
    domain,
    domain_seed,
    density,
    epochs_per_field,
    negative_catalogs,
    first_jid,
):
    """Simulate N RAPID job folders with truth files and an answer key."""
    from rapid_croissant.simulate.core import ANSWER_KEY_DIR, simulate_jobs

    if domain is not None and domain_seed is not None:
        raise click.UsageError("give --domain or --domain-seed, not both")
    t0 = time.perf_counter()
    jobs = simulate_jobs(
        out_dir,
        n=n,
        size=size,
        seed=seed,
        era=era,
        with_defects=defects,
        injections_per_512=injections,
        domain=domain,
        domain_seed=domain_seed,
        density=density,
        epochs_per_field=epochs_per_field,
        negative_catalogs=negative_catalogs,
        first_jid=first_jid,
    )
    click.echo(f"wrote {len(jobs)} jobs to {out_dir} in {time.perf_counter() - t0:.1f} s (era {era}):")
    for j in jobs:
        tag = f"  [defect: {j.defect}]" if j.defect else ""
        click.echo(
            f"  {j.jid}: {len(j.files)} files, {j.n_truth} truth, {j.n_zogy} ZOGY and {j.n_sfft} SFFT "
            f"detections{tag}"
        )
    click.echo(f"answer key (never read by the pipeline): {out_dir}/{ANSWER_KEY_DIR}/")
