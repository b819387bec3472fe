"""GraphiQL in a real headless Chromium that can reach nothing but 127.0.0.1.

The issue's acceptance test: the page must work without internet, so every other host is
unresolvable and every proxied request goes to a dead port. The test pastes a key into the
header editor, runs ``{ viewer { name } }``, sees the key's name in the result pane, and
writes a screenshot to ``test-output/``. It skips when Chromium, its driver, Selenium or the
fetched GraphiQL assets are missing, except under ``CI=true``, where it fails instead.

The others check where the key ends up: nowhere in the browser's storage unless the user
ticks "Remember headers in this browser", and nowhere again once it is unticked.
"""

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gql_server.app import create_app
from gql_server.config import Settings
from gql_server.db.engine import create_db_engine
from gql_server.db.session import Database
from gql_server.web import graphiql
from gql_server.web.graphiql import (
    FETCH_COMMAND,
    REMEMBER_HEADERS_ID,
    REMEMBER_HEADERS_LABEL,
    missing_assets,
)
from tests.graphql.conftest import make_key
from tests.support.live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
KEY_NAME = "browser-test-key"
QUERY = "{ viewer { name } }"
WAIT_SECONDS = 20.0
IN_CI = os.environ.get("CI", "").lower() == "true"

# Everything but loopback is unreachable: no name resolves, and the proxy is a dead port.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1400,900",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)


def _unavailable(reason: str) -> None:
    """Skip on a developer's machine; under CI the browser test must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser test must run, not skip)")
    pytest.skip(reason)


def _require_browser() -> None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            _unavailable(f"{path} missing: apt-get install {package}")


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only: the page does not depend on the dialect, so one run is enough."""
    path = tmp_path / "browser.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(create_db_engine(f"sqlite:///{path}"))
    yield database
    database.dispose()


@pytest.fixture
def server(sqlite_database: Database) -> Iterator[LiveServer]:
    app = create_app(Settings(database_url="sqlite://"), database=sqlite_database)
    config = {"ws": "websockets-sansio"}  # as `serve` runs it: subscriptions need websockets
    with LiveServer(app, name="graphiql-browser", config=config) as live:
        yield live


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Chromium through Debian's chromedriver, named explicitly so Selenium Manager never
    downloads a driver or a browser."""
    _require_browser()
    if missing_assets():
        _unavailable(f"GraphiQL assets missing: run {FETCH_COMMAND}")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(condition: Callable[[], Any], what: str, driver: Any) -> Any:
    """Poll ``condition`` until it returns something truthy, at most WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    _save_screenshot(driver, "graphiql-browser-timeout.png")
    raise AssertionError(f"timed out after {WAIT_SECONDS} s waiting for {what}")


def _save_screenshot(driver: Any, name: str) -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    path = OUTPUT_DIR / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def _find(driver: Any, css: str) -> Any:
    """The first visible match, or None (hidden editors stay in the DOM)."""
    from selenium.webdriver.common.by import By

    shown = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
    return shown[0] if shown else None


def _type_into_editor(driver: Any, codemirror: Any, text: str) -> str:
    """Like a person: click into the CodeMirror editor, select all, type. Returns what the
    editor then holds (its bracket auto-closing types over the closers we type)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    codemirror.click()
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    ActionChains(driver).send_keys(Keys.DELETE).send_keys(text).perform()
    return driver.execute_script("return arguments[0].CodeMirror.getValue();", codemirror)


def _open_headers_editor(driver: Any) -> Any:
    from selenium.webdriver.common.by import By

    tab = driver.find_element(
        By.XPATH, "//div[contains(@class, 'graphiql-editor-tools')]//button[.='Headers']"
    )
    tab.click()
    return _wait_for(
        lambda: _find(driver, "section.graphiql-editor-tool[aria-label='Headers'] .CodeMirror"),
        "the header editor",
        driver,
    )


def _wait_for_graphiql(driver: Any) -> None:
    _wait_for(lambda: _find(driver, ".graphiql-query-editor .CodeMirror"), "GraphiQL", driver)


def _reload(driver: Any) -> None:
    driver.refresh()
    _wait_for_graphiql(driver)


def _run_query(driver: Any, expected: str = KEY_NAME) -> str:
    """Click run and wait for ``expected`` in the result pane: by default the key's name,
    which proves the request carried the key."""
    _find(driver, ".graphiql-execute-button").click()
    response_text = "return document.querySelector('.graphiql-response').innerText;"
    result: str = _wait_for(
        lambda: (
            expected in driver.execute_script(response_text)
            and driver.execute_script(response_text)
        ),
        f"{expected!r} in the result pane",
        driver,
    )
    return result


def _paste_key_and_run(driver: Any, key: str, query: str = QUERY, expected: str = KEY_NAME) -> str:
    """Like a person: the key into the header editor, the query into the query editor, run.
    Returns the result pane's text once it shows ``expected``."""
    header_editor = _open_headers_editor(driver)
    headers = _type_into_editor(driver, header_editor, json.dumps({"X-API-Key": key}))
    assert json.loads(headers) == {"X-API-Key": key}
    query_editor = _find(driver, ".graphiql-query-editor .CodeMirror")
    assert _type_into_editor(driver, query_editor, query) == query
    return _run_query(driver, expected)


_STORED = """
return [localStorage, sessionStorage].map(function (area) {
  return Object.keys(area).map(function (key) { return key + "=" + area.getItem(key); });
}).join("\\n");
"""


def _stored(driver: Any) -> str:
    """Every key and value in the page's localStorage and sessionStorage."""
    stored: str = driver.execute_script(_STORED)
    return stored


def _wait_until_stored(driver: Any, text: str) -> None:
    """GraphiQL writes its tabs and history with a delay; once they hold ``text`` (the query
    typed after the key), every write that could carry the key has happened."""
    _wait_for(
        lambda: _stored(driver).count(json.dumps(text)) >= 2,
        f"{text!r} in GraphiQL's stored tabs and history",
        driver,
    )


def _header_editor_text(driver: Any) -> str:
    editor = _open_headers_editor(driver)
    text: str = driver.execute_script("return arguments[0].CodeMirror.getValue();", editor)
    return text


def _remember_toggle(driver: Any) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, REMEMBER_HEADERS_ID)


def test_graphiql_runs_a_query_with_a_pasted_key_offline(
    browser: Any, server: LiveServer, sqlite_database: Database
) -> None:
    key = make_key(sqlite_database, scopes="READ", name=KEY_NAME)
    started = time.monotonic()
    browser.get(f"{server.url}/graphql")
    _wait_for_graphiql(browser)
    result = _paste_key_and_run(browser, key)
    _save_screenshot(browser, "graphiql-browser.png")
    print(f"browser test: page to result in {time.monotonic() - started:.1f} s")
    assert '"viewer"' in result

    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);"
    )
    assert resources, "the page loaded no resources at all"
    assert all(url.startswith(f"{server.url}/") for url in resources), resources
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def test_graphiql_runs_a_subscription_over_the_same_origin_websocket(
    browser: Any, server: LiveServer, sqlite_database: Database
) -> None:
    """The key from the Headers tab authenticates the socket (a refused one would show
    "Socket closed with event 4401"); without live mode the subscription answers at once
    with its LIVE_MODE_OFF error, which can only have come over the websocket."""
    key = make_key(sqlite_database, scopes="READ", name=KEY_NAME)
    browser.get(f"{server.url}/graphql")
    _wait_for_graphiql(browser)
    subscription = "subscription { printJobChanged { action } }"
    result = _paste_key_and_run(browser, key, subscription, expected="LIVE_MODE_OFF")
    assert "4401" not in result
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def test_pasted_key_is_not_stored_by_default(
    browser: Any, server: LiveServer, sqlite_database: Database
) -> None:
    key = make_key(sqlite_database, scopes="READ", name=KEY_NAME)
    browser.get(f"{server.url}/graphql")
    _wait_for_graphiql(browser)
    assert not _remember_toggle(browser).is_selected()
    _paste_key_and_run(browser, key)
    _wait_until_stored(browser, QUERY)
    assert key not in _stored(browser)

    _reload(browser)
    assert key not in _header_editor_text(browser)
    assert key not in _stored(browser)


def test_ticked_toggle_keeps_the_key_across_reloads_and_unticking_deletes_it(
    browser: Any, server: LiveServer, sqlite_database: Database
) -> None:
    key = make_key(sqlite_database, scopes="READ", name=KEY_NAME)
    browser.get(f"{server.url}/graphql")
    _wait_for_graphiql(browser)
    _remember_toggle(browser).click()
    _paste_key_and_run(browser, key)
    _wait_until_stored(browser, QUERY)
    history = browser.execute_script("return localStorage.getItem('graphiql:queries');")
    assert key in history, "while ticked, GraphiQL's history keeps the headers too"

    for _ in range(2):  # GraphiQL's own persistence lost the headers on the second reload
        _reload(browser)
        assert _remember_toggle(browser).is_selected()
        assert json.loads(_header_editor_text(browser)) == {"X-API-Key": key}
        _run_query(browser)

    _remember_toggle(browser).click()
    assert key not in _stored(browser)
    _reload(browser)
    assert not _remember_toggle(browser).is_selected()
    assert key not in _header_editor_text(browser)
    assert key not in _stored(browser)


def test_key_stored_by_an_older_page_is_deleted_on_load(
    browser: Any, server: LiveServer, sqlite_database: Database
) -> None:
    """Before the toggle existed GraphiQL kept the headers in its editor slot and in its
    history; the first visit to this page must leave neither behind."""
    key = make_key(sqlite_database, scopes="READ", name=KEY_NAME)
    headers = json.dumps({"X-API-Key": key})
    old_page_storage = {
        "graphiql:headers": headers,
        "graphiql:shouldPersistHeaders": "true",
        "graphiql:queries": json.dumps(
            {"queries": [{"query": QUERY, "variables": None, "headers": headers}]}
        ),
    }
    browser.get(f"{server.url}/graphql")
    _wait_for_graphiql(browser)
    browser.execute_script(
        "localStorage.clear();"
        "Object.entries(arguments[0]).forEach(e => localStorage.setItem(e[0], e[1]));",
        old_page_storage,
    )
    _reload(browser)
    assert not _remember_toggle(browser).is_selected()
    assert key not in _header_editor_text(browser)
    assert key not in _stored(browser)
    assert json.dumps(QUERY) in _stored(browser), "the history stays, without its headers"


class _CheckboxFinder(HTMLParser):
    """The attributes of the input with a given id, and the text of the label around it."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.attributes: dict[str, str | None] | None = None
        self.label_text = ""
        self._label: list[str] | None = None  # text so far, inside a <label>
        self._label_holds_it = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "label":
            self._label, self._label_holds_it = [], False
        if tag == "input" and dict(attrs).get("id") == self.element_id:
            self.attributes = dict(attrs)
            self._label_holds_it = self._label is not None

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label is not None:
            if self._label_holds_it:
                self.label_text = " ".join("".join(self._label).split())
            self._label = None

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label.append(data)


def test_page_offers_the_remember_toggle_switched_off(server: LiveServer) -> None:
    page = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
    if page.status_code == 503:
        _unavailable(f"GraphiQL assets missing: run {FETCH_COMMAND}")
    finder = _CheckboxFinder(REMEMBER_HEADERS_ID)
    finder.feed(page.text)
    assert finder.attributes is not None, f"no #{REMEMBER_HEADERS_ID} on the page"
    assert finder.attributes.get("type") == "checkbox"
    assert "checked" not in finder.attributes
    assert finder.label_text == REMEMBER_HEADERS_LABEL


def test_page_references_only_our_own_origin(server: LiveServer) -> None:
    """No browser needed: the page a key-less GET gets names no other host."""
    page = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
    if page.status_code == 503:
        _unavailable(f"GraphiQL assets missing: run {FETCH_COMMAND}")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert urls and all(u.startswith(("/static/graphiql/", "data:")) for u in urls), urls
    assert "://" not in page.headers["content-security-policy"]
    assert "'unsafe-eval'" not in page.headers["content-security-policy"]
    asset = httpx.get(f"{server.url}{urls[-1]}", timeout=10)
    assert asset.status_code == 200


def test_missing_assets_give_a_readable_page(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the fetch script has run: an explanation, not a blank page, and no 500s."""
    monkeypatch.setattr(graphiql, "VENDOR_DIR", tmp_path / "no-vendor")
    page = httpx.get(f"{server.url}/graphql", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 503
    assert FETCH_COMMAND in page.text
    with LiveServer(Starlette(routes=[graphiql.graphiql_static_mount()])) as files:
        asset = httpx.get(f"{files.url}/static/graphiql/graphiql.min.js", timeout=10)
    assert asset.status_code == 404
