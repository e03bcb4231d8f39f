"""Job discovery ignores clutter; the product era is told from the zogy_-prefixed files."""

from __future__ import annotations

import pytest

from rapid_croissant import formats
from rapid_croissant.errors import ConfigError
from rapid_croissant.io import detect_era, discover_jobs


def test_discover_jobs_keeps_only_jid_folders_sorted_numerically(tmp_path):
    for name in ("jid10", "jid2", "jid100", "jid_backup_old", "calibration", "jid12a", "JID3"):
        (tmp_path / name).mkdir()
    (tmp_path / "jid_list.txt").write_text("jid2\njid10\n")
    (tmp_path / "jid7").write_text("a file, not a job")
    (tmp_path / "calibration" / "jid5").mkdir()  # nested: not directly under input_dir
    jobs = discover_jobs(tmp_path)
    assert [p.name for p in jobs] == ["jid2", "jid10", "jid100"]
    assert all(p.parent == tmp_path for p in jobs)


def test_discover_jobs_accepts_str_and_empty_dir(tmp_path):
    assert discover_jobs(str(tmp_path)) == []


def test_discover_jobs_rejects_missing_or_file_input(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match="nowhere.*does not exist"):
        discover_jobs(missing)
    a_file = tmp_path / "jobs.txt"
    a_file.write_text("")
    with pytest.raises(ConfigError, match="jobs.txt.*not a directory"):
        discover_jobs(a_file)


def test_detect_era_from_zogy_prefixed_products(tmp_path):
    old, new, cat_only = (tmp_path / n for n in ("old", "new", "cat_only"))
    for d in (old, new, cat_only):
        d.mkdir()
    for name in formats.FILES_2025.channels.values():
        (old / name).touch()
        (new / name).touch()
    (new / formats.FILES_2026.channels["zogy_diff"]).touch()
    (cat_only / formats.FILES_2026.zogy_psfcat).touch()  # ZOGY image missing, its 2026 catalog present
    assert detect_era(old) == formats.ERA_2025
    assert detect_era(new) == formats.ERA_2026
    assert detect_era(cat_only) == formats.ERA_2026
    assert detect_era(tmp_path / "empty_or_missing") == formats.ERA_2025
