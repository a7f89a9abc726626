"""Property-based runs of Schemathesis (issue 14) against every family's
OpenAPI document (docs/openapi/<family>.json, generated from the route
tables) on a real `platter serve`: whatever Schemathesis sends, the server
answers no 5xx, and every error body matches the family's error schema.

Bounded: PLATTER_SCHEMATHESIS_EXAMPLES test cases per operation and phase
(default 5; the coverage phase adds its own boundary cases), a seed from
PLATTER_SCHEMATHESIS_SEED if set (Schemathesis prints the one it used)."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import requests

from conftest import ADMIN_PASSWORD, REPO, serving

DOCS = REPO / "docs" / "openapi"
HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("PLATTER_SCHEMATHESIS_EXAMPLES", "5"))
SEED = os.environ.get("PLATTER_SCHEMATHESIS_SEED")
# Each family's run is cut off after this long (a safety net: with the
# default examples the slowest family, Cinder, takes about 30 seconds).
FAMILY_TIMEOUT = int(os.environ.get("PLATTER_SCHEMATHESIS_TIMEOUT", "600"))

# Servers run on the no-hypervisor driver: a server Schemathesis manages to
# create starts no QEMU guest.
CONFIG = 'compute_driver = "none"\n'

# Operations left out of a family's run, because they would break the run
# itself rather than test anything: the admin's own token, user, project and
# role are what every later request authenticates with (the identity run
# also goes last), and htaiyun's application token is re-issued, and the one
# in use revoked, by every `apptoken` call.
EXCLUDED = {
    "identity": [
        ("DELETE", "/v3/auth/tokens"),
        ("DELETE", "/v3/users/{user_id}"),
        ("PATCH", "/v3/users/{user_id}"),
        ("DELETE", "/v3/projects/{project_id}"),
        ("PATCH", "/v3/projects/{project_id}"),
        ("DELETE", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"),
    ],
    "htaiyun": [
        ("POST", "/services/openstack/apptoken"),
    ],
}

# The listener each document's server names (its default port).
DEFAULT_PORTS = {"5000": "identity_port", "8776": "volume_port", "9292": "image_port",
                 "8774": "compute_port"}


@pytest.fixture(scope="module")
def server():
    yield from serving(CONFIG)


def admin_login(p):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}},
    }}
    r = requests.post(p.identity_url + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"], r.json()["token"]["project"]["id"]


def htaiyun_headers(p):
    """A session and its project's application token, as test_htaiyun.py
    gets them."""
    r = requests.post(p.volume_url + "/services/openstack/session", timeout=30,
                      data={"username": "admin", "password": ADMIN_PASSWORD, "project": "admin"})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    session = {"IMR-SESSION-TOKEN": result["sessionToken"],
               "IMR-SESSION-SECRET": result["sessionSecret"]}
    r = requests.post(p.volume_url + "/services/openstack/apptoken", headers=session, timeout=30)
    assert r.status_code == 200, r.text
    return dict(session, **{"HT-ACCESS-TOKEN": r.json()["result"]["accessToken"]})


def families():
    """Every checked-in document, the identity family last."""
    names = sorted(f.stem for f in DOCS.glob("*.json"))
    assert names, f"no OpenAPI documents under {DOCS}"
    return sorted(names, key=lambda n: n == "identity")


def base_url(p, document):
    port = document["servers"][0]["variables"]["port"]["default"]
    return f"http://127.0.0.1:{getattr(p, DEFAULT_PORTS[port])}"


def schemathesis(p, family, headers, project_id, workdir):
    doc_path = DOCS / f"{family}.json"
    document = json.loads(doc_path.read_text())
    config = workdir / f"{family}.toml"
    # Project-scoped URLs must name the token's project, or every request
    # stops at authentication. Identity's `{project_id}` stays random: there
    # it names the project an operation changes.
    scoped = family != "identity" and "{project_id}" in "".join(document["paths"])
    config.write_text(f'[parameters]\n"path.project_id" = "{project_id}"\n' if scoped else "")
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
           str(doc_path), "--url", base_url(p, document),
           "--checks", "not_a_server_error,response_schema_conformance",
           "--max-examples", str(EXAMPLES),
           "--generation-database", "none",
           # The credentials are the ones given here, not generated ones.
           "--generation-with-security-parameters", "false",
           "--request-timeout", "30",
           "--no-color"]
    if SEED:
        cmd += ["--seed", SEED]
    for name, value in headers.items():
        cmd += ["--header", f"{name}: {value}"]
    for method, path in EXCLUDED.get(family, []):
        operation = document["paths"].get(path, {}).get(method.lower())
        assert operation, f"{family}: excluded {method} {path} is not in the document"
        cmd += ["--exclude-operation-id", operation["operationId"]]
    env = dict(os.environ, SCHEMATHESIS_HOOKS="schemathesis_hooks",
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    run = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                         timeout=FAMILY_TIMEOUT)
    operations = sum(1 for item in document["paths"].values() for key in item if key != "parameters")
    return run.returncode, run.stdout + run.stderr, operations - len(EXCLUDED.get(family, []))


def test_every_family_survives_schemathesis(server, tmp_path):
    token, project_id = admin_login(server)
    ht = htaiyun_headers(server)
    failed = []
    for family in families():
        headers = ht if family == "htaiyun" else {"X-Auth-Token": token}
        if family == "glance":
            # Glance answers errors in HTML unless asked for JSON; JSON is
            # what the error schema can check.
            headers = dict(headers, Accept="application/json")
        code, out, operations = schemathesis(server, family, headers, project_id, tmp_path)
        cases = [line.strip() for line in out.splitlines() if " generated, " in line]
        tested = re.search(r"^\s*Tested: (\d+)$", out, re.M)
        print(f"{family}: exit {code}; {cases[-1] if cases else 'no test cases'}")
        if code != 0:
            failed.append(f"==== {family} (exit {code}) ====\n{out[-20000:]}")
        elif not tested or int(tested.group(1)) != operations:
            failed.append(f"==== {family}: not every operation was tested "
                          f"(wanted {operations}) ====\n{out[-5000:]}")
    assert not failed, "\n".join(failed)
