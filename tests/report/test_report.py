"""The dataset card and the HTML report: computed from the dataset, runnable examples, a real browser view."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rapid_croissant.report.card import card_text, code_blocks, write_dataset_card
from rapid_croissant.report.page import write_report

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def dataset_with_metadata(built_dataset):
    from rapid_croissant.writers.croissant import write_croissant

    write_croissant(built_dataset)
    return built_dataset


def test_dataset_card_numbers_and_examples_run(dataset_with_metadata):
    import pandas as pd

    path = write_dataset_card(dataset_with_metadata)
    text = path.read_text()
    cand = pd.read_parquet(dataset_with_metadata / "candidates.parquet")
    assert f"{len(cand)} transient candidates" in text
    assert "| all | " + str(len(cand)) + " |" in text
    for heading in (
        "How labels are made",
        "Class balance",
        "Label noise",
        "Splits",
        "Known biases",
        "How to load",
    ):
        assert f"## {heading}" in text
    blocks = code_blocks(card_text(dataset_with_metadata))
    assert len(blocks) == 3
    env = {**os.environ, "DATASET": str(dataset_with_metadata)}
    for block in blocks:
        proc = subprocess.run(
            [sys.executable, "-c", block], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_report_is_self_contained(built_dataset, tmp_path):
    out = write_report(built_dataset, output=tmp_path / "report.html")
    page = out.read_text()
    assert page.count("<img ") >= 2 and page.count("data:image/png;base64,") == page.count("<img ")
    assert 'src="http' not in page and "Composition" in page and "Completeness" in page


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def compared(built_dataset, tmp_path_factory):
    """A copy of the dataset with a gbt comparison of ZOGY and SFFT in its comparison/ folder."""
    from rapid_croissant.ml.compare import compare

    src = tmp_path_factory.mktemp("compared") / "ds"
    shutil.copytree(built_dataset, src)
    result = compare(
        src,
        out_dir=src / "comparison",
        models=("gbt",),
        algorithms=("zogy", "sfft"),
        protocols=("A",),
        n_boot=50,
        progress=False,
    )
    return src, result


def test_report_renders_in_a_browser(compared, tmp_path):
    built_dataset = compared[0]
    browser, driver_path = _chromium()
    if not (browser and driver_path):
        pytest.skip(
            "chromium/chromedriver not installed (make test installs Debian's chromium where apt-get works)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    out = write_report(built_dataset, output=tmp_path / "report.html")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1300,3000",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(out.as_uri())
        n_images = driver.execute_script("return document.images.length")
        loaded = driver.execute_script(
            "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        )
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        SCREENSHOT_DIR.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT_DIR / "report.png"))
    finally:
        driver.quit()
    assert n_images >= 6 and loaded  # gallery, completeness, ROC, classifier, FP and reliability figures
    assert errors == []


def test_report_renders_only_the_comparison_even_when_runs_and_dataset_moved(compared, tmp_path):
    from rapid_croissant.ml.tables import calibration_rows, fom_rows, run_rows

    src, result = compared
    moved = tmp_path / "elsewhere" / "ds"
    shutil.copytree(src, moved)
    shutil.rmtree(moved / "comparison" / "runs")  # the report needs comparison.json, not the run folders
    hidden = src.with_name("hidden")
    src.rename(hidden)  # the dataset the comparison names is gone while the report is written
    try:
        page = write_report(moved, output=tmp_path / "report.html").read_text()
        card = card_text(moved)
    finally:
        hidden.rename(src)
    for title in (
        "ROC curves",
        "Completeness after the classifier",
        "False positives per image",
        "Calibration",
    ):
        assert f"<h2>{title}</h2>" in page
    assert "<h2>RAPID's figure of merit" in page and "24.68" in page and "25.38" in page
    markdown = (moved / "comparison" / "comparison.md").read_text()
    assert "Reliability diagrams" in page and len(calibration_rows(result)) == 2
    assert "## Classifier results" in card and "ZOGY 24.68, SFFT 25.38 mag" in card
    for row in run_rows(result) + fom_rows(result) + calibration_rows(result):  # one definition, 3 renders
        cells = [html.escape(str(v)) for v in row.values()]
        assert "".join(f"<td>{c}</td>" for c in cells) in page
        assert "| " + " | ".join(str(v) for v in row.values()) + " |" in markdown
        assert "| " + " | ".join(str(v) for v in row.values()) + " |" in card
