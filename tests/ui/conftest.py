"""Browser-test fixtures: a served dashboard and headless Chromium driven by Playwright.

Chromium is Debian's ``/usr/bin/chromium`` (``SSB_CHROMIUM`` overrides); Playwright's own
browser download is not used. Without Chromium the tests skip with a clear message, except
under CI where they fail (browser tests are required there).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, require

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DOC_IMG = REPO / "docs" / "img"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Path of the Chromium executable, or None."""
    p = os.environ.get("SSB_CHROMIUM") or "/usr/bin/chromium"
    if Path(p).is_file():
        return p
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(extra_env: dict | None = None, args: list[str] | None = None, timeout: float = 240.0):
    """Start ``panel serve dashboard/app.py`` on a free loopback port; return (proc, base_url)."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    cmd = [sys.executable, "-m", "panel", "serve", str(REPO / "dashboard" / "app.py"),
           "--address", "127.0.0.1", "--port", str(port),
           "--allow-websocket-origin", f"127.0.0.1:{port}",
           "--setup", str(REPO / "dashboard" / "warmup.py"), *(args or [])]
    log = open(SCREENSHOTS.parent / f".server-{port}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(url, timeout=120) as r:
                if r.status == 200:
                    return proc, url
        except Exception:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"panel serve did not answer at {url} within {timeout} s")


@pytest.fixture(scope="session")
def chromium():
    p = chromium_path()
    require(p is not None, "Chromium not found (install Debian's chromium: apt-get install chromium); "
                           "browser tests skipped")
    return p


@pytest.fixture(scope="session")
def app_url():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    proc, url = start_server()
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def ui_browser(chromium):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a loaded CI machine may need seconds per server round trip

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ConsoleLog:
    """Browser console errors and uncaught page errors seen during a test."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def assert_clean(self):
        real = [e for e in self.errors if "favicon" not in e]
        assert not real, "browser console errors:\n" + "\n".join(real)


@pytest.fixture
def ui_page(ui_browser):
    ctx = ui_browser.new_context(viewport={"width": 1500, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(90_000)  # the machine may be loaded; assertions wait, never sleep
    page.console = ConsoleLog(page)
    yield page
    ctx.close()


def screenshot(page, name: str, doc: bool = True) -> Path:
    """Save a full-page screenshot under tests/ui/screenshots (and, if ``doc``, docs/img with
    SSB_DOC_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    p = SCREENSHOTS / f"{name}.png"
    # the template scrolls inside its main area: grow the viewport to the content to capture it all
    vp = page.viewport_size
    h = page.evaluate("() => { const m = document.querySelector('#main') || document.body;"
                      " return Math.max(m.scrollHeight, document.body.scrollHeight); }")
    page.set_viewport_size({"width": vp["width"], "height": int(min(max(h + 80, vp["height"]), 6000))})
    time.sleep(1.0)
    page.screenshot(path=str(p), full_page=True)
    page.set_viewport_size(vp)
    if doc and os.environ.get("SSB_DOC_SCREENSHOTS") == "1":
        DOC_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, DOC_IMG / f"{name}.png")
    return p


PLOT_DATA_JS = """
() => {
  const out = [];
  const docs = (window.Bokeh && window.Bokeh.documents) || [];
  for (const doc of docs) {
    for (const m of doc.all_models) {
      if (m.data === undefined || m.selected === undefined) continue;
      const cols = Object.keys(m.data).sort();
      const sig = cols.map(k => {
        const v = m.data[k];
        const arr = Array.from(v && v.length !== undefined ? v : []);
        return k + ':' + arr.length + ':' + arr.slice(0, 6).map(x => typeof x === 'number' ? x.toPrecision(6) : String(x)).join(',');
      });
      out.push(sig.join('|'));
    }
  }
  return JSON.stringify(out.sort());
}
"""


def plot_data(page) -> list[str]:
    """Signature of every ColumnDataSource in the page (columns, lengths, first values)."""
    return json.loads(page.evaluate(PLOT_DATA_JS))


def wait_idle(page, timeout: float = 20.0) -> None:
    """Wait until the plotted data stops changing (server round trips done)."""
    last, stable_since = None, time.time()
    end = time.time() + timeout
    while time.time() < end:
        cur = plot_data(page)
        if cur != last:
            last, stable_since = cur, time.time()
        elif time.time() - stable_since > 1.2:
            return
        time.sleep(0.2)


def open_section(page, title: str, timeout: float = 60.0) -> None:
    """Click the page-section tab titled ``title``; return when its plots are drawn and settled."""
    from playwright.sync_api import expect

    before = plot_data(page)
    tab = page.locator(".bk-tab", has_text=title).first
    tab.click()
    expect(page.locator(".bk-tab.bk-active", has_text=title).first).to_be_visible()
    end = time.time() + timeout
    while plot_data(page) == before and time.time() < end:
        time.sleep(0.2)
    wait_idle(page)


def move_slider(page, pname: str, key: str = "ArrowRight", times: int = 1) -> None:
    """Focus the noUiSlider handle of the slider bound to parameter ``pname`` and press keys.

    Sliders made by :func:`dashboard.widgets.throttled` carry the CSS class ``ssb-w-<pname>``.
    """
    slider = page.locator(f".ssb-w-{pname.replace('_', '-')} .noUi-handle").first
    slider.focus()
    for _ in range(times):
        slider.press(key)
