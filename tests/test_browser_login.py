"""The login in a real headless Chromium, on a `reach serve --host 0.0.0.0` (a bind others can reach,
so a login is required): a page sends a stranger to the login form, a wrong password is refused in
words, the right one opens the page asked for, a viewer reads the Data page but cannot import, an
editor imports a file through the browser, and logging out ends the session.

Refusing `--host 0.0.0.0` without any users is tested in tests/test_auth.py (a one-line error).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from browser import chromium, console_errors, reach_server, require_chromium, screenshot, wait_for
from collectors.pipeline import Importer
from collectors.store import database, schema
from dashboard.web import auth
from test_store import x_content

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "alice-editor-pw", "vic": "vic-viewer-pw1"}
X_NAME = "account_analytics_content_2024-12-16_2024-12-22.csv"


@pytest.fixture
def site(sqlite_url, tmp_path, monkeypatch):
    require_chromium()
    engine = database.connect(sqlite_url)
    Importer(engine, None).import_bytes(X_NAME, x_content([("1870000000000000001", 1200, 30)]))
    engine.dispose()
    users = tmp_path / "conf" / "users.toml"
    auth.add_user(users, "alice", "editor", PASSWORDS["alice"])
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    # Only this test's users file counts: not the developer's environment.
    for var in ("REACH_USERS_JSON", "REACH_SECRET_KEY", "REACH_LOGIN_LIMIT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    # A later --users wins over the one reach_server passes.
    with reach_server(sqlite_url, "--users", str(users), "--host", "0.0.0.0") as url, chromium() as driver:
        yield url, driver, sqlite_url


def log_in(driver, name: str, password: str) -> None:
    wait_for(driver, "form #name")
    driver.find_element("css selector", "#name").clear()
    driver.find_element("css selector", "#name").send_keys(name)
    driver.find_element("css selector", "#password").send_keys(password)
    driver.find_element("css selector", "form button[type=submit]").click()


def imports(sqlite_url) -> int:
    engine = database.connect(sqlite_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(schema.imports)).scalar()
    finally:
        engine.dispose()


def test_a_login_guards_every_page_on_0_0_0_0_and_roles_decide_who_imports(site, tmp_path):
    from urllib.parse import unquote, urlsplit

    url, driver, db = site
    driver.get(url + "influencers?platform=x")
    wait_for(driver, "form #password")
    here = urlsplit(driver.current_url)
    assert here.path == "/login" and unquote(here.query) == "next=/influencers?platform=x"
    assert "Influencer" not in driver.find_element("css selector", "body").text  # nothing of the page leaks

    log_in(driver, "vic", "not-the-password")
    error = wait_for(driver, ".err[role=alert]")[0].text
    screenshot(driver, "login-wrong-password")
    assert error == "Wrong name or password."
    assert urlsplit(driver.current_url).path == "/login"
    # The name is kept, so only the password is typed again.
    assert driver.find_element("css selector", "#name").get_attribute("value") == "vic"
    # The refused login answers 401, which the browser logs; nothing else may be in its log.
    refused = console_errors(driver)
    assert len(refused) == 1 and "/login" in refused[0] and "401" in refused[0], refused

    # The viewer: lands on the page first asked for, and may read the Data page but not import.
    driver.find_element("css selector", "#password").clear()
    log_in(driver, "vic", PASSWORDS["vic"])
    wait_for(driver, "#nav-influencers.active")
    assert urlsplit(driver.current_url).path == "/influencers" and "platform=x" in driver.current_url
    driver.get(url + "data")
    note = wait_for(driver, "#data-viewer-note")[0].text
    screenshot(driver, "login-viewer-data")
    assert "Only editors can import files" in note
    upload = driver.find_element("css selector", "#data-upload input[type=file]")
    assert upload.get_attribute("disabled") is not None
    assert console_errors(driver) == []

    assert driver.find_element("css selector", "#header-user").text == "vic"
    driver.find_element("css selector", "#logout-link").click()  # the header's link ends the session
    wait_for(driver, "form #password")
    driver.get(url + "data")  # the session is over: back to the form
    wait_for(driver, "form #password")
    assert unquote(urlsplit(driver.current_url).query) == "next=/data"

    # The editor: the same page has a live upload box, and a file dropped on it is imported.
    log_in(driver, "alice", PASSWORDS["alice"])
    wait_for(driver, "#data-history", text=X_NAME)
    assert driver.find_elements("css selector", "#data-viewer-note") == []
    later = tmp_path / "account_analytics_content_2024-12-16_2024-12-24.csv"
    later.write_bytes(x_content([("1870000000000000001", 2000, 40)]))
    before = imports(db)
    driver.find_element("css selector", "#data-upload input[type=file]").send_keys(str(later))
    result = wait_for(driver, "#data-upload-result .upload-result", text=later.name)[0].text
    screenshot(driver, "login-editor-upload")
    assert result.startswith(f"Imported: {later.name}")
    assert imports(db) == before + 1
    assert console_errors(driver) == []


def test_live_and_weekly_run_under_the_csp_and_the_weekly_report_is_a_sandboxed_frame(demo_db, tmp_path, monkeypatch):
    """The policy is enforced, not just sent: Chromium refuses an inline script put into the page,
    while Dash (its one inline script allowed by hash), plotly and the report (its one script,
    which sizes its frame, allowed by hash) work with no violation in the console; the report
    frame's document is out of the page's reach, and a script put into it is refused too."""
    import time

    require_chromium()
    users = tmp_path / "users.toml"
    auth.add_user(users, "vic", "viewer", PASSWORDS["vic"])
    for var in ("REACH_USERS_JSON", "REACH_SECRET_KEY", "REACH_LOGIN_LIMIT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("REACH_CACHE_DIR", "off")
    with reach_server(f"sqlite:///{demo_db}", "--users", str(users), "--host", "0.0.0.0") as url, \
            chromium(1400, 1600) as driver:
        driver.get(url)
        log_in(driver, "vic", PASSWORDS["vic"])
        wait_for(driver, "#live-chart .main-svg")
        screenshot(driver, "csp-live")
        assert console_errors(driver) == []
        # Markup that slipped into the page cannot run: an inline script is refused.
        ran = driver.execute_script(
            "var s = document.createElement('script'); s.textContent = 'window.injected = 1';"
            "document.body.appendChild(s); return window.injected === 1")
        assert ran is False
        refused = console_errors(driver)
        assert len(refused) == 1 and "Content Security Policy" in refused[0], refused

        driver.get(url + "weekly")
        frame = wait_for(driver, "#weekly-report")[0]
        time.sleep(1)
        screenshot(driver, "csp-weekly")
        assert set(frame.get_attribute("sandbox").split()) == {"allow-scripts", "allow-popups",
                                                                 "allow-popups-to-escape-sandbox"}
        # No allow-same-origin: the frame is an opaque origin, its document hidden from the page.
        assert driver.execute_script("return document.getElementById('weekly-report').contentDocument") is None
        driver.switch_to.frame(frame)
        assert "Weekly summary 2025-W04" in driver.find_element("css selector", "body").text
        links = driver.find_elements("css selector", "a[href^='http']")
        assert all(a.get_attribute("target") in ("", None) for a in links)  # the <base> decides
        assert driver.execute_script("return document.querySelector('base').target") == "_blank"
        driver.switch_to.default_content()
        assert "height" in (frame.get_attribute("style") or "")  # the frame's own script ran: it sized the frame
        assert console_errors(driver) == []
        # The frame inherits the page's CSP: a script put into the report is refused.
        driver.switch_to.frame(frame)
        ran = driver.execute_script(
            "var s = document.createElement('script'); s.textContent = 'window.injected = 1';"
            "document.body.appendChild(s); return window.injected === 1")
        assert ran is False
        driver.switch_to.default_content()
