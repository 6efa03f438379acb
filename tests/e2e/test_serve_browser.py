"""``lottrack serve`` in a real headless Chromium (selenium + chromedriver): the login
screen appears in the browser, a ward user logs in and sees the bedside list, blinded,
and is logged out when idle, as in the terminal.

The screen is read from the page's own xterm.js terminal buffer (what the browser shows),
and keys are typed into the terminal as a person would. Outside CI the test is skipped
when Chromium or its driver is missing; with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from lottrack.storage import audit
from lottrack.storage.db import Database
from lottrack.storage.models import Setting
from tests.tui import trial_data
from tests.tui.helpers import PASSWORDS
from tests.tui.trial_data import TrialIds

trial_template, trial = trial_data.trial_template, trial_data.trial

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver",)
WAIT_SECONDS = 60.0
IDLE_SETTING, IDLE_MINUTES = "idle_logout_minutes", "0.1"

# Keeps a handle on the page's terminal (textual-serve does not expose it): the first
# assignment of a property named "terminal" — the client's `this.terminal = new Terminal(…)`
# — is caught once by a setter on Object.prototype, which then steps aside.
HOOK = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    delete Object.prototype.terminal;
    window.__lottrackTerminal = value;
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true,
                                             enumerable: true});
  },
});
"""
SCREEN = """
const t = window.__lottrackTerminal;
if (!t) { return ""; }
const buffer = t.buffer.active, lines = [];
for (let i = 0; i < t.rows; i++) {
  const line = buffer.getLine(buffer.viewportY + i);
  lines.push(line ? line.translateToString(true) : "");
}
return lines.join("\\n");
"""


def _found(names: tuple[str, ...]) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


def _require_browser() -> tuple[str, str]:
    """Chromium and chromedriver; missing, the test skips — unless in CI, where it fails."""
    browser, driver = _found(CHROMIUM), _found(DRIVER)
    try:
        import selenium  # noqa: F401
    except ImportError:
        browser = None
    if browser and driver:
        return browser, driver
    why = "needs chromium, chromium-driver and selenium (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI: the browser test {why}")
    pytest.skip(f"the browser test {why}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, condition: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def server(trial: tuple[Database, TrialIds], tmp_path: Path) -> Iterator[str]:
    """``lottrack serve`` on the trial database, on a free local port; its URL."""
    db, _ = trial
    with db.session() as s:  # an idle logout the test can wait for (checked every 15 s)
        audit.set_actor(s, None, "system:test")
        idle = s.exec(select(Setting).where(Setting.key == IDLE_SETTING)).first()
        if idle is None:
            s.add(Setting(key=IDLE_SETTING, value=IDLE_MINUTES))
        else:
            with audit.reason(s, "short idle logout for the browser test"):
                idle.value = IDLE_MINUTES
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "lottrack", "--db", db.url, "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "120"},
    )

    def listening() -> bool:
        if process.poll() is not None:
            pytest.fail(f"lottrack serve exited: {(tmp_path / 'serve.log').read_text()}")
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        _wait("lottrack serve to listen", listening)
        yield f"http://localhost:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium driven by chromedriver."""
    chromium, chromedriver = _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})
        yield driver
    finally:
        driver.quit()


def test_a_ward_user_logs_in_in_the_browser_sees_the_bedside_list_and_is_logged_out_idle(
    server: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def screen() -> str:
        return str(browser.execute_script(SCREEN))

    browser.get(server)
    _wait("the login screen", lambda: "Log in" in screen() and "Username" in screen())
    keys = browser.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
    keys.send_keys("ward", Keys.ENTER)
    _wait("the password field", lambda: "Password" in screen())
    keys.send_keys(PASSWORDS["ward"], Keys.ENTER)
    text = _wait("the bedside list", lambda: "ready for bedside check" in screen() and screen())
    assert "Wendy Ward (ward) · clinician" in text
    assert "Patients and visits" in text
    assert "TLS-103  AB        1       2025-03-14  ready for bedside check" in text
    assert "Log in" not in text
    assert "MSC" not in text  # blinded, as in the terminal
    assert "placebo" not in text.lower()
    # untouched, the session logs out as in the terminal (6 s, checked every 15 s)
    _wait("the idle logout", lambda: "Logged out after" in screen() and "Log in" in screen())


def test_serve_listens_on_localhost_by_default_and_needs_an_initialised_database(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from lottrack.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert "[default: localhost]" in shown.stdout
    assert "[default: 8000]" in shown.stdout
    empty = tmp_path / "never-initialised.db"
    result = runner.invoke(app, ["--db", str(empty), "serve"])
    assert result.exit_code == 2
    assert "lottrack init" in result.stderr
    assert not empty.exists()
