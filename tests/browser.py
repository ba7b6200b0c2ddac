"""Helpers for browser tests: a real `reach serve` process and a headless Debian Chromium.

When the page does not come up, the error shows the server's own log, so a failing browser test
says why without a rerun.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("REACH_ARTIFACTS", ROOT / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def require_chromium():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them as root)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def reach_server(db_url: str, *extra: str):
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    # A users file of its own (absent: no login on loopback), whatever the checkout's data/ holds.
    users = Path(tempfile.mkdtemp(prefix="reach-users-")) / "users.toml"
    proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "serve", "--db", db_url, "--port", str(port),
                             "--users", str(users), *extra],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    raise AssertionError(f"the dashboard did not come up at {url}; server log:\n{log.read()}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        os.unlink(log.name)


@contextlib.contextmanager
def chromium(width=1400, height=1000):
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="reach-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def viewport(driver, width: int, height: int) -> None:
    """Make the page's viewport (innerWidth × innerHeight) exactly ``width`` × ``height``: the
    window size Chromium is started with includes its own frame (143 px of height headless)."""
    extra_w, extra_h = driver.execute_script("return [outerWidth - innerWidth, outerHeight - innerHeight]")
    driver.set_window_size(width + extra_w, height + extra_h)
    assert driver.execute_script("return [innerWidth, innerHeight]") == [width, height]


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requested_hosts(driver) -> set[str]:
    from urllib.parse import urlparse

    hosts = set()
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            u = urlparse(msg["params"]["request"]["url"])
            if u.scheme in ("http", "https", "ws", "wss"):
                hosts.add(u.hostname)
    return hosts


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


SETTLED = """
const done = arguments[arguments.length - 1];
const sig = () => Array.from(document.querySelectorAll(arguments[0])).map(e => {
  const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height].map(Math.round).join(',');
}).join(';') + '|' + document.documentElement.scrollHeight;
let last = sig(), same = 0;
const tick = () => {
  const now = sig();
  if (now === last) { if (++same >= arguments[1]) return done(true); } else { same = 0; last = now; }
  setTimeout(tick, 60);
};
setTimeout(tick, 60);
"""


def settled(driver, css=".ag-header-cell, .ag-cell, table, .js-plotly-plot", frames=4, timeout=10):
    """Wait until the boxes of ``css`` have not moved for ``frames`` looks 60 ms apart: the grid
    sizes its columns and Plotly lays out after the first rows arrive. A fixed sleep was either
    too short on a busy machine or a second lost on a quiet one."""
    driver.set_script_timeout(timeout)
    driver.execute_async_script(SETTLED, css, frames)


def wait_for(driver, css, timeout=40, text=None):
    """The elements matching ``css`` (containing ``text``) once they appear; the page may redraw
    while we look, so a stale element is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            if found and (text is None or any(text in e.text for e in found)):
                return found
        except StaleElementReferenceException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{css} did not appear; page text: {driver.find_element(By.TAG_NAME, 'body').text[:800]}")


def small_x_campaign(url: str) -> str:
    """Two X content exports (two posts, two snapshot days) imported into ``url``: the small
    campaign the browser tests open. Returns the URL."""
    from collectors.pipeline import Importer
    from collectors.store import database
    from test_store import x_content

    engine = database.connect(url)
    imp = Importer(engine, None)
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-22.csv",
                     x_content([("1870000000000000001", 1200, 30), ("1870000000000000002", 800, 10)]))
    imp.import_bytes("account_analytics_content_2024-12-16_2024-12-24.csv",
                     x_content([("1870000000000000001", 2000, 40), ("1870000000000000002", 900, 12)]))
    engine.dispose()
    return url


@contextlib.contextmanager
def demo_site(demo_db, cache_dir, config: str, width: int, height: int):
    """The dashboard on the session's demo database, its shared cache in ``cache_dir`` (not beside
    the demo), campaign ``config``, no user list; with a Chromium of ``width`` x ``height``."""
    import pytest

    require_chromium()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REACH_CACHE_DIR", str(cache_dir))
        mp.setenv("REACH_CONFIG", config)
        mp.delenv("REACH_USERS_JSON", raising=False)
        with reach_server(f"sqlite:///{demo_db}") as url, chromium(width, height) as driver:
            yield url, driver
