"""The web console (issue 14) in a real browser: Debian's headless Chromium
(`chromium`, `chromium-driver`) driven by Selenium against a real
`platter serve`. Logs in, creates a volume and watches it become
available, runs fio over the volume's NBD export and watches the IOPS plot
move, uses the actions; keeps screenshots under docs/console/.

Also the console's own endpoints: the series of a volume refused to
another project (404) and to a request without a token (401)."""

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, REPO, openstack, run

SHOTS = REPO / "docs" / "console"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SERVER = "0b6c9f3e-2c1e-4f0a-9d51-c0a50e5e0a14"


def http(method, url, token=None, body=None, headers=None):
    """(status, headers, parsed JSON body or None)."""
    h = {"Accept": "application/json", **(headers or {})}
    if token:
        h["X-Auth-Token"] = token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, r.headers, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return e.code, e.headers, parsed


def login(base, user, password, project):
    """A project-scoped token by password: (token, project id)."""
    status, headers, body = http("POST", f"{base}/v3/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}})
    assert status == 201, body
    return headers["X-Subject-Token"], body["token"]["project"]["id"]


@pytest.fixture(scope="module")
def browser():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            pytest.fail(f"{path} not found: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1360,1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    # The app must not have logged errors (a CSP refusal, an exception).
    logs = driver.get_log("browser")
    driver.quit()
    severe = [entry for entry in logs if entry["level"] == "SEVERE"
              and "favicon" not in entry["message"]
              # Refused requests (a 4xx the app expects and reports) are logged too.
              and "the server responded with a status of 4" not in entry["message"]]
    assert not severe, severe


def until(driver, predicate, timeout=30, message=""):
    # The app redraws its tables every few seconds: an element found just
    # before a redraw is stale, and the question is asked again.
    return WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: predicate(d), message)


# Rows are read and buttons clicked in the page itself, in one step, so a
# redraw cannot come between finding a row and reading or clicking it.
ROWS_JS = """
const [table, name] = arguments;
return [...document.querySelectorAll('#' + table + ' tbody tr')]
  .filter((tr) => Object.keys(tr.dataset).length > 0)
  .map((tr) => ({data: Object.assign({}, tr.dataset),
                 cells: [...tr.cells].map((td) => td.textContent)}))
  .filter((row) => name === null || row.cells[0] === name);
"""

CLICK_JS = """
const [table, name, label] = arguments;
for (const tr of document.querySelectorAll('#' + table + ' tbody tr')) {
  if (tr.cells[0].textContent !== name) continue;
  const button = [...tr.querySelectorAll('button')].find((b) => b.textContent.startsWith(label));
  if (button) { button.click(); return true; }
}
return false;
"""


def rows(driver, table, name=None):
    """[{"data": the row's data attributes, "cells": its cells' text}]."""
    return driver.execute_script(ROWS_JS, table, name)


def row(driver, table, name):
    found = rows(driver, table, name)
    return found[0] if found else None


def row_status(driver, name):
    r = row(driver, "volumes-table", name)
    return r["data"]["status"] if r else None


def click_in_row(driver, table, name, label):
    """Clicks the button whose text starts with `label` in the row whose
    first cell is `name`."""
    until(driver, lambda d: d.execute_script(CLICK_JS, table, name, label),
          message=f"no {label} button for {name} in {table}")


def console_login(driver, platter):
    driver.get(platter.console_url + "/")
    until(driver, lambda d: d.find_element(By.ID, "login-form").is_displayed())
    for field, value in (("login-user", "admin"), ("login-password", ADMIN_PASSWORD),
                         ("login-project", "admin")):
        driver.find_element(By.ID, field).clear()
        driver.find_element(By.ID, field).send_keys(value)
    assert driver.find_element(By.ID, "login-domain").get_attribute("value") == "Default"
    driver.find_element(By.ID, "login-submit").click()
    until(driver, lambda d: d.find_element(By.ID, "view-volumes").is_displayed(), message="no volumes view")
    assert "admin" in driver.find_element(By.ID, "who").text
    # Admins see the pools.
    assert driver.find_element(By.CSS_SELECTOR, "#nav button[data-view=pools]").is_displayed()


def create_in_ui(driver, name, size=1):
    field = driver.find_element(By.ID, "new-volume-name")
    field.clear()
    field.send_keys(name)
    size_field = driver.find_element(By.ID, "new-volume-size")
    size_field.clear()
    size_field.send_keys(str(size))
    driver.find_element(By.ID, "create-volume-submit").click()
    until(driver, lambda d: row_status(d, name) == "available", timeout=60,
          message=f"{name} never became available in the list")
    return row(driver, "volumes-table", name)["data"]["volumeId"]


def select(driver, name, vid):
    click_in_row(driver, "volumes-table", name, "Details")
    until(driver, lambda d: d.find_element(By.ID, "detail-id").text == vid)


def nav(driver, view):
    driver.find_element(By.CSS_SELECTOR, f"#nav button[data-view={view}]").click()
    until(driver, lambda d: d.find_element(By.ID, f"view-{view}").is_displayed())


def shoot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(SHOTS / name)), name


def canvas_number(driver, canvas, key):
    value = driver.find_element(By.ID, canvas).get_attribute(f"data-{key}")
    return float(value) if value else 0.0


def test_log_in_create_a_volume_and_watch_its_iops_under_fio(platter, browser):
    # Two volumes made elsewhere, for company in the list.
    token, project = login(platter.identity_url, "admin", ADMIN_PASSWORD, "admin")
    for name, size in (("database", 4), ("logs", 2)):
        status, _, body = http("POST", f"{platter.volume_url}/v3/{project}/volumes", token,
                               {"volume": {"size": size, "name": name}})
        assert status == 202, body

    console_login(browser, platter)
    vid = create_in_ui(browser, "console-demo")
    until(browser, lambda d: row_status(d, "database") == "available" and row_status(d, "logs") == "available")
    shoot(browser, "volumes.png")

    # An NBD export of the volume: a Cinder attachment with a connector.
    status, _, body = http(
        "POST", f"{platter.volume_url}/v3/{project}/attachments", token,
        {"attachment": {"volume_uuid": vid, "instance_uuid": SERVER, "mode": "rw",
                        "connector": {"host": "console-test", "ip": "127.0.0.1"}}},
        {"OpenStack-API-Version": "volume 3.54"})
    assert status == 200, body
    attachment = body["attachment"]["id"]
    uri = body["attachment"]["connection_info"]["data"]["uri"]

    # Watch the volume's plots while fio writes and reads through NBD.
    select(browser, "console-demo", vid)
    assert canvas_number(browser, "iops-plot", "peak") == 0
    fio = subprocess.Popen(
        ["fio", "--name=console", "--ioengine=nbd", f"--uri={uri}", "--rw=randrw", "--rwmixread=70",
         "--bs=4k", "--size=64M", "--iodepth=8", "--time_based", "--runtime=10", "--output-format=json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until(browser, lambda d: canvas_number(d, "iops-plot", "peak") > 0, timeout=25,
              message="the IOPS plot did not move under fio")
        until(browser, lambda d: canvas_number(d, "throughput-plot", "peak") > 0, timeout=10)
        # A few seconds of the run on the plot, while it runs.
        until(browser, lambda d: canvas_number(d, "iops-plot", "points") >= 10, timeout=15)
        assert canvas_number(browser, "iops-plot", "last") > 0
        shoot(browser, "iops.png")
        out, err = fio.communicate(timeout=60)
    finally:
        if fio.poll() is None:
            fio.kill()
    assert fio.returncode == 0, out + err
    report = json.loads(out[out.find("{"):])
    assert report["jobs"][0]["error"] == 0

    # The attachment shows, and detaches from the console.
    nav(browser, "attachments")
    until(browser, lambda d: row(d, "attachments-table", attachment))
    shoot(browser, "attachments.png")
    click_in_row(browser, "attachments-table", attachment, "Detach")
    click_in_row(browser, "attachments-table", attachment, "Confirm")  # the second click confirms
    until(browser, lambda d: not row(d, "attachments-table", attachment), timeout=30)
    nav(browser, "volumes")
    until(browser, lambda d: row_status(d, "console-demo") == "available", timeout=30)


def test_volume_actions_and_the_other_views(platter, browser):
    if not browser.find_elements(By.CSS_SELECTOR, "#nav:not([hidden])"):
        console_login(browser, platter)
    nav(browser, "volumes")
    vid = create_in_ui(browser, "console-actions")
    select(browser, "console-actions", vid)

    # Extend 1 → 2 GiB.
    size = browser.find_element(By.ID, "extend-size")
    size.clear()
    size.send_keys("2")
    browser.find_element(By.CSS_SELECTOR, "#extend-form button").click()
    until(browser, lambda d: row(d, "volumes-table", "console-actions")["cells"][3] == "2 GiB"
          and row_status(d, "console-actions") == "available", timeout=60)

    # Snapshot it; it shows in the snapshots view, and is deleted there.
    name = browser.find_element(By.ID, "snapshot-name")
    name.send_keys("console-snap")
    browser.find_element(By.CSS_SELECTOR, "#snapshot-form button").click()
    nav(browser, "snapshots")

    def snapshot_status(d):
        r = row(d, "snapshots-table", "console-snap")
        return r["data"]["status"] if r else None

    until(browser, lambda d: snapshot_status(d) == "available", timeout=60)
    shoot(browser, "snapshots.png")
    click_in_row(browser, "snapshots-table", "console-snap", "Delete")
    click_in_row(browser, "snapshots-table", "console-snap", "Confirm")
    until(browser, lambda d: snapshot_status(d) is None, timeout=60)

    # Quotas count the volumes; pools list the default pool; jobs load.
    nav(browser, "quotas")
    until(browser, lambda d: row(d, "quotas-table", "volumes"))
    assert int(row(browser, "quotas-table", "volumes")["cells"][1]) >= 1
    nav(browser, "pools")
    until(browser, lambda d: rows(d, "pools-table"))
    shoot(browser, "pools.png")
    nav(browser, "jobs")
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs-table tbody tr"))
    nav(browser, "servers")
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#servers-table tbody tr"))

    # Names are shown as text, never as markup.
    nav(browser, "volumes")
    token, project = login(platter.identity_url, "admin", ADMIN_PASSWORD, "admin")
    markup = '<img src=x id=injected onerror="window.injected=1">'
    status, _, body = http("POST", f"{platter.volume_url}/v3/{project}/volumes", token,
                           {"volume": {"size": 1, "name": markup}})
    assert status == 202, body
    until(browser, lambda d: row(d, "volumes-table", markup))
    assert not browser.find_elements(By.ID, "injected")
    assert browser.execute_script("return window.injected === undefined")

    # Delete, confirmed by a second click.
    nav(browser, "volumes")
    select(browser, "console-actions", vid)
    browser.find_element(By.ID, "delete-volume").click()
    until(browser, lambda d: d.find_element(By.ID, "delete-volume").text == "Confirm delete")
    browser.find_element(By.ID, "delete-volume").click()
    until(browser, lambda d: row(d, "volumes-table", "console-actions") is None, timeout=60)
    assert browser.find_element(By.ID, "status").get_attribute("data-kind") == "ok"

    # Logging out forgets the token.
    browser.find_element(By.ID, "logout").click()
    until(browser, lambda d: d.find_element(By.ID, "login-form").is_displayed())
    assert browser.execute_script("return sessionStorage.length") == 0


def test_series_refused_to_other_projects_and_without_a_token(platter):
    base = platter.console_url
    admin, admin_project = login(platter.identity_url, "admin", ADMIN_PASSWORD, "admin")
    status, _, body = http("POST", f"{platter.volume_url}/v3/{admin_project}/volumes", admin,
                           {"volume": {"size": 1, "name": "console-private"}})
    assert status == 202, body
    vid = body["volume"]["id"]

    env = platter.env()
    suffix = uuid.uuid4().hex[:8]
    project, user, password = f"console-p-{suffix}", f"console-u-{suffix}", "console-pw-1"
    openstack(env, "project", "create", "--domain", "Default", project)
    openstack(env, "user", "create", "--domain", "Default", "--project", project,
              "--password", password, user)
    run(["openstack", "role", "add", "--project", project, "--user", user, "member"], env)
    other, _ = login(platter.identity_url, user, password, project)

    series = f"{base}/console/series/volumes/{vid}"
    status, headers, body = http("GET", series, admin)
    assert status == 200, body
    assert body["volume_id"] == vid and body["iops"] == [] and body["throughput"] == []
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert http("GET", series)[0] == 401
    assert http("GET", series, "not-a-token")[0] == 401
    status, _, body = http("GET", series, other)
    assert status == 404, body
    assert http("GET", f"{base}/console/series/volumes/{uuid.uuid4()}", admin)[0] == 404

    # Pools are the admins'; jobs are one's own project's.
    assert http("GET", f"{base}/console/series/pools", admin)[0] == 200
    assert http("GET", f"{base}/console/series/pools", other)[0] == 403
    assert http("GET", f"{base}/console/series/pools")[0] == 401
    status, _, body = http("GET", f"{base}/console/jobs", other)
    assert status == 200 and all(j["project_id"] != admin_project for j in body["jobs"])

    # The public APIs through the console's origin are the same APIs: the
    # other project's token does not reach the admin project's volumes.
    status, _, _ = http("GET", f"{base}/api/volume/v3/{admin_project}/volumes/{vid}", other)
    assert status in (400, 401, 403, 404)
    status, _, body = http("GET", f"{base}/api/volume/v3/{admin_project}/volumes/{vid}", admin)
    assert status == 200 and body["volume"]["name"] == "console-private"
