"""The simulated multi-domain set a pretrained model learns from: domains, job counts, what is held out.

A plan is a list of groups; each group is one simulated domain (``default``, ``A`` or a domain drawn from a
seed, simulate/domains.py) at one density and era, with two epochs per sky field. The first groups train
(their own val/test splits validate), the last ``n_heldout`` groups are never trained on and give the
held-out metrics. Domain ``B`` is never part of a plan: it is kept for benchmarks/bench_pretrain.py.
``rapid-croissant pretrain`` (cli/pretrain.py, the layer that may combine simulate, build and ml) simulates
every group into ``WORK/sim/<group>/`` (reused when already complete), hard-links its job folders into
``WORK/jobs/`` and builds one dataset from them into ``WORK/dataset/``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from rapid_croissant import formats

__all__ = [
    "EPOCHS_PER_FIELD",
    "PLAN_FILE",
    "Group",
    "group_of_jobs",
    "load_plan",
    "plan_groups",
    "write_plan",
]

log = logging.getLogger(__name__)

PLAN_FILE = "pretrain_plan.json"
#: Domain seeds of held-out groups start here (training groups use 1, 2, ...): never the same domain.
HELDOUT_SEED0 = 1001
EPOCHS_PER_FIELD = 2


@dataclass(frozen=True)
class Group:
    """One simulated domain of the pretraining set."""

    name: str
    domain: str | None  # a named domain (default, A) or None for a drawn one
    domain_seed: int | None
    density: str
    era: str
    first_jid: int
    n_jobs: int
    seed: int
    heldout: bool

    def jids(self) -> list[str]:
        return [f"jid{self.first_jid + k}" for k in range(self.n_jobs)]


def plan_groups(
    *, n_domains: int = 10, jobs_per_domain: int = 8, n_heldout: int = 2, seed: int = 0
) -> list[Group]:
    """Training groups ``default``, ``A``, ``seed1``...; every fourth at RAPID's density; eras alternate;
    then ``n_heldout`` held-out groups drawn from seeds 1001, 1002... at the simulator's density."""
    if n_domains < 1 or jobs_per_domain < 2 or n_heldout < 0:
        raise ValueError("need n_domains >= 1, jobs_per_domain >= 2 and n_heldout >= 0")
    groups = []
    for k in range(n_domains + n_heldout):
        heldout = k >= n_domains
        named = {0: "default", 1: "A"}.get(k) if not heldout else None
        dseed = None if named else (HELDOUT_SEED0 + k - n_domains if heldout else k - 1)
        groups.append(
            Group(
                name=named or f"seed{dseed}",
                domain=named,
                domain_seed=dseed,
                density="rapid" if (not heldout and k % 4 == 3) else "sim",
                era=formats.ERAS[k % 2],
                first_jid=(80001 + 1000 * (k - n_domains)) if heldout else 10001 + 1000 * k,
                n_jobs=jobs_per_domain,
                seed=1000 * seed + (500 + k - n_domains if heldout else k),
                heldout=heldout,
            )
        )
    return groups


def write_plan(work: str | Path, groups: list[Group], *, size: int) -> Path:
    """Record the groups in ``WORK/pretrain_plan.json`` (the held-out domains of a later ``-d`` run)."""
    path = Path(work) / PLAN_FILE
    plan = {"size": size, "epochs_per_field": EPOCHS_PER_FIELD, "groups": [asdict(g) for g in groups]}
    path.write_text(json.dumps(plan, indent=1) + "\n")
    return path


def group_of_jobs(groups: list[Group]) -> dict[str, Group]:
    """Each planned job's group, by job name."""
    return {jid: g for g in groups for jid in g.jids()}


def load_plan(path: str | Path) -> list[Group]:
    """The groups recorded in a ``pretrain_plan.json``."""
    plan = json.loads(Path(path).read_text())
    return [Group(**g) for g in plan["groups"]]
