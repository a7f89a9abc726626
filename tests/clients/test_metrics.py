"""The admin listener: `/metrics` passes Prometheus' own checker
(`promtool check metrics`) and moves with real traffic (the openstack CLI,
qemu-io over NBD, failed logins); `platter status` describes the server."""

import ast
import re
import shutil
import subprocess
import urllib.request

import pytest

from conftest import openstack, platter_binary, run, wait_for

SERVER = "0b6d7d8e-3f55-4a57-9bd4-0b5f1e1c2d11"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def scrape(platter):
    with urllib.request.urlopen(f"{platter.admin_url}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def value(text, name, **labels):
    """The sample of `name` whose labels include `labels` (0 if none)."""
    total = 0.0
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def promtool_check(text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    # promtool prints lint findings and exits non-zero on any.
    assert p.returncode == 0, f"promtool check metrics:\n{p.stdout}\n{p.stderr}"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="Debian's prometheus package")
def test_metrics_pass_promtool_and_move_with_traffic(platter):
    env = platter.env()
    before = scrape(platter)
    promtool_check(before)
    created_before = value(before, "platter_http_requests_total", family="cinder",
                           method="POST", route="/v3/{project_id}/volumes", status="202")

    v = openstack(env, "volume", "create", "--size", "1", "metered")
    wait_for(lambda: openstack(env, "volume", "show", "metered")["status"], "available")
    _, out, _ = run(["cinder", "--os-volume-api-version", "3.54", "attachment-create", v["id"],
                     SERVER, "--connect", "True", "--host", "h1", "--ip", "127.0.0.1",
                     "--mode", "rw"], env)
    uri = ast.literal_eval(re.search(r"^\|\s*data\s*\|\s*(.*?)\s*\|$", out, re.M).group(1))["uri"]
    run(["qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 1M", "-c", "read -P 0x5a 0 1M", uri], env)
    # A failed login.
    p = subprocess.run(["openstack", "token", "issue"], env=platter.env(password="wrong"),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0

    after = scrape(platter)
    promtool_check(after)
    assert value(after, "platter_http_requests_total", family="cinder", method="POST",
                 route="/v3/{project_id}/volumes", status="202") == created_before + 1
    assert value(after, "platter_http_request_duration_seconds_count", family="cinder",
                 method="POST", route="/v3/{project_id}/volumes") >= 1
    # Route templates, never ids, label HTTP requests.
    assert v["id"] not in "\n".join(l for l in after.splitlines() if "platter_http_" in l)
    # The data path, per volume.
    assert value(after, "platter_nbd_bytes_total", volume=v["id"], op="write") >= 1 << 20
    assert value(after, "platter_nbd_bytes_total", volume=v["id"], op="read") >= 1 << 20
    assert value(after, "platter_nbd_requests_total", volume=v["id"], op="write") >= 1
    # Jobs, pools, authentication.
    assert value(after, "platter_jobs_total", kind="volume_create", outcome="succeeded") >= 1
    assert value(after, "platter_pool_capacity_bytes") > 0
    assert value(after, "platter_pool_provisioned_bytes") >= 1 << 30
    assert value(after, "platter_auth_failures_total", method="password", reason="invalid") >= 1
    assert value(after, "platter_engine_commit_duration_seconds_count") >= 1


def test_platter_status_describes_the_running_server(platter):
    p = subprocess.run([platter_binary(), "status", "--admin-url", platter.admin_url],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert re.search(r"^platter \S+: ok \(since ", out, re.M), out
    assert re.search(rf"^\s+identity\s+127\.0\.0\.1:{platter.identity_port}$", out, re.M), out
    assert re.search(rf"^\s+nbd\s+127\.0\.0\.1:{platter.nbd_port}$", out, re.M), out
    assert re.search(r"^\s+pool\s+engine\s+[\d.]+ GiB free of [\d.]+ GiB", out, re.M), out
    assert re.search(r"^jobs: \d+ running, \d+ unfinished$", out, re.M), out
    assert re.search(r"^guests: ", out, re.M), out
    # Nobody listening: a clear error and a failing exit code.
    p = subprocess.run([platter_binary(), "status", "--admin-url", "http://127.0.0.1:9"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "no server answers at http://127.0.0.1:9/status" in p.stderr
