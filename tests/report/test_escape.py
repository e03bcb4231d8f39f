"""Text from headers and catalogs is escaped in DATASET_CARD.md and report.html, never interpreted."""

from __future__ import annotations

import shutil

import pandas as pd

from rapid_croissant.dataset import layout as names
from rapid_croissant.report.card import card_text
from rapid_croissant.report.escape import html_text, md_text
from rapid_croissant.report.page import headline

HOSTILE = "<script>alert(1)</script> [click](javascript:alert(2)) | *bold* `code`\nsecond line"


def test_md_text_shows_markup_as_typed():
    out = md_text(HOSTILE)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\\[click\\]\\(javascript:alert\\(2\\)\\)" in out
    assert "\\|" in out and "\\*bold\\*" in out and "\\`code\\`" in out
    assert "\n" not in out


def test_html_text_escapes_quotes_and_tags():
    assert html_text('"><img src=x onerror=alert(1)>') == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"


def test_a_hostile_filter_keyword_is_escaped_in_the_card(built_dataset, tmp_path):
    for name in (names.CANDIDATES_PARQUET, names.TRUTH_PARQUET, names.JOBS_PARQUET, "build_info.json"):
        shutil.copy(built_dataset / name, tmp_path / name)
    jobs = pd.read_parquet(tmp_path / names.JOBS_PARQUET)
    jobs.loc[0, "filter"] = HOSTILE
    jobs.to_parquet(tmp_path / names.JOBS_PARQUET, index=False)
    text = card_text(tmp_path)
    assert "<script>" not in text and "](javascript:" not in text
    assert "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in text


def test_comparison_text_is_escaped_in_the_report_headline():
    comparison = {
        "paired": [
            {
                "comparison": "zogy vs sfft",
                "metric": "roc_auc",
                "model": "<b>cnn</b>",
                "protocol": "<script>A</script>",
                "diff": 0.1,
                "low": 0.0,
                "high": 0.2,
                "verdict": "<i>zogy</i>",
            }
        ]
    }
    page = headline(comparison)
    assert "<script>" not in page and "<b>cnn" not in page and "<i>zogy" not in page
    assert "&lt;script&gt;A&lt;/script&gt;" in page
