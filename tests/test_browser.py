"""A real browser: Voila renders tests/browser/keyconsole.ipynb and KeyConsole is clicked through;
Voila renders the widgets tour (notebooks/12) and no label, button or readout in it is clipped.

Needs Voila and Playwright's Python package (test dependencies) and a
Chromium on PATH (Debian's ``chromium``; Playwright's own browser download is
not used). Skips, saying why, only when one of these is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "browser" / "keyconsole.ipynb"
TOUR = ROOT / "notebooks" / "12_widgets_tour.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT_S = 60
STEP_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH "
                       "(apt-get install -y --no-install-recommends chromium)"),
]
playwright_sync = pytest.importorskip("playwright.sync_api",
                                      reason="playwright not installed (pip install playwright)")
pytest.importorskip("voila", reason="voila not installed (pip install voila)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def voila_url(tmp_path):
    yield from _voila(NOTEBOOK, tmp_path)


@pytest.fixture
def tour_url(tmp_path):
    yield from _voila(TOUR, tmp_path)


def _voila(notebook: Path, tmp_path: Path):
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    log = open(tmp_path / "voila.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.root_dir=" + str(notebook.parent),
         "--ServerApp.disable_check_xsrf=True"],
        cwd=notebook.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail("voila exited: " + (tmp_path / "voila.log").read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("voila did not start within "
                                f"{START_TIMEOUT_S} s: " + (tmp_path / "voila.log").read_text())
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def test_keyconsole_create_and_disable_in_a_browser(voila_url):
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.goto(voila_url, timeout=STEP_TIMEOUT_MS)
            table = page.locator(".kmslab-keys")
            table.wait_for()
            assert "no customer managed keys yet" in table.inner_text()

            page.locator(".kmslab-description input").fill("from the browser")
            page.get_by_role("button", name="Create key").click()
            page.wait_for_function(
                "() => document.querySelector('.kmslab-keys').innerText.includes('Enabled')")
            text = table.inner_text()
            assert "SYMMETRIC_DEFAULT" in text and "ENCRYPT_DECRYPT" in text

            page.get_by_role("button", name="Disable", exact=True).click()
            page.wait_for_function(
                "() => document.querySelector('.kmslab-keys').innerText.includes('Disabled')")
            assert "Enabled" not in table.inner_text()

            page.locator(".kmslab-key-console input[type=number]").fill("3")
            page.locator(".kmslab-key-console input[type=number]").press("Enter")
            page.get_by_role("button", name="Schedule deletion").click()
            page.wait_for_function(
                "() => document.querySelector('.kmslab-error-box').innerText"
                ".includes('ValidationException')")
        finally:
            browser.close()


#: every element whose text must show in full: widget descriptions, buttons, slider readouts
CLIPPED = """() => {
  const selector = '.widget-label, .jupyter-widget-label, .jupyter-button, .widget-button, '
                 + '.widget-readout, .jupyter-widget-readout, pre.kmslab-explanation';
  return [...document.querySelectorAll(selector)]
    .filter(e => e.offsetParent !== null && e.clientWidth > 0 && e.textContent.trim())
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => e.className.split(' ')[0] + ': ' + e.textContent.trim()
              + ' (' + e.scrollWidth + ' > ' + e.clientWidth + ')');
}"""


def test_nothing_in_the_widgets_tour_is_clipped(tour_url):
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.goto(tour_url, timeout=STEP_TIMEOUT_MS)
            for css in (".kmslab-key-console", ".kmslab-audit-viewer", ".kmslab-policy-simulator",
                        ".kmslab-key-timeline", ".kmslab-envelope-explorer", ".kmslab-latency-lab",
                        ".kmslab-import-wizard", ".kmslab-sign-verify"):
                page.locator(css).first.wait_for()
            page.get_by_role("button", name="Evaluate").click()
            page.wait_for_function(
                "() => document.querySelector('.kmslab-explanation') !== null")
            labels = page.evaluate("""() => [...document.querySelectorAll(
                '.widget-label, .jupyter-widget-label, .jupyter-button')].length""")
            assert labels > 40, "the check must see the tour's labels and buttons"
            for width in (1280, 900):
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(300)
                assert page.evaluate(CLIPPED) == [], f"at {width} px"
                # long text (the policy explanation) wraps inside the page, not off its edge
                assert page.evaluate("""() => document.documentElement.scrollWidth
                                              <= document.documentElement.clientWidth"""), width
        finally:
            browser.close()
