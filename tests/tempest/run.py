#!/usr/bin/env python3
"""Runs OpenStack Tempest's volume API suite (`tempest.api.volume`) against a
`platter serve` it starts, and prints Tempest's totals and the failures.

Usage (from the repository root, after `cargo build` and with the test
virtualenv, which has `tempest`, on PATH):

    PATH="$PWD/.venv/bin:$PATH" .venv/bin/python tests/tempest/run.py

Knobs (environment): PLATTER_TEMPEST_REGEX (default `^tempest.api.volume`),
PLATTER_TEMPEST_CONCURRENCY (default 2), PLATTER_TEMPEST_KEEP=1 keeps the
workspace and the server log. Exits non-zero when a test fails.

The configuration is that of a cloud with block storage, images and
backups but without compute or network services: Tempest skips what it
gates on them.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "clients"))

from conftest import ADMIN_PASSWORD, Platter  # noqa: E402

CONF = """
[DEFAULT]
log_dir = {ws}/logs
log_file = tempest.log

[auth]
use_dynamic_credentials = True
admin_username = admin
admin_password = {password}
admin_project_name = admin
admin_domain_name = Default
create_isolated_networks = False

[identity]
uri_v3 = {identity}/v3
auth_version = v3
region = RegionOne
v3_endpoint_type = public
disable_ssl_certificate_validation = True

[identity-feature-enabled]
api_v2 = False
api_v3 = True
project_tags = False
application_credentials = False

[service_available]
cinder = True
nova = False
glance = True
neutron = False
swift = False
heat = False

[compute]
# A public raw image the harness uploads before the run.
image_ref = {image_ref}

[compute-feature-enabled]
volume_multiattach = False

[image]
build_interval = 1
build_timeout = 120

[enforce_scope]
# Reads go through the project-reader credentials.
cinder = True

[volume]
catalog_type = volumev3
region = RegionOne
endpoint_type = public
build_interval = 1
build_timeout = 60
volume_size = 1
vendor_name = Platter
storage_protocol = nbd
min_microversion = 3.0
max_microversion = 3.70
backend_names = alpha,beta

[volume-feature-enabled]
multi_backend = True
backup = True
snapshot = True
clone = True
manage_volume = True
manage_snapshot = True
extend_attached_volume = False
api_v2 = False
api_v3 = True
"""


# Two engine pools, so Tempest's multi-backend and migration tests run: a
# type's volume_backend_name (alpha, beta) places its volumes; the seeded
# types name neither and land in the first.
POOLS = """
[[pools]]
name = "alpha"
backend = "engine"

[[pools]]
name = "beta"
backend = "engine"
"""


def public_image(server):
    """Uploads a 1 MiB public raw image as admin; returns its id."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    req = urllib.request.Request(f"{server.identity_url}/v3/auth/tokens",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        token = r.headers["X-Subject-Token"]
    base = f"http://127.0.0.1:{server.image_port}/v2/images"
    req = urllib.request.Request(base, method="POST", data=json.dumps({
        "name": "tempest-image", "disk_format": "raw", "container_format": "bare",
        "visibility": "public"}).encode(),
        headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        image_id = json.load(r)["id"]
    req = urllib.request.Request(f"{base}/{image_id}/file", method="PUT", data=os.urandom(1 << 20),
                                 headers={"X-Auth-Token": token,
                                          "Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req).close()
    return image_id


def main():
    regex = os.environ.get("PLATTER_TEMPEST_REGEX", "^tempest.api.volume")
    concurrency = os.environ.get("PLATTER_TEMPEST_CONCURRENCY", "2")
    keep = os.environ.get("PLATTER_TEMPEST_KEEP") == "1"
    ws = tempfile.mkdtemp(prefix="platter-tempest-")
    server = Platter(config=POOLS)
    server.start()
    try:
        subprocess.run(["tempest", "init", ws], check=True, capture_output=True)
        os.makedirs(os.path.join(ws, "logs"), exist_ok=True)
        with open(os.path.join(ws, "etc", "tempest.conf"), "w") as f:
            f.write(CONF.format(ws=ws, password=ADMIN_PASSWORD, identity=server.identity_url,
                                image_ref=public_image(server)))
        exclude = REPO / "tests" / "tempest" / "exclude.txt"
        proc = subprocess.run(
            ["tempest", "run", "--regex", regex, "--concurrency", concurrency,
             "--exclude-list", str(exclude)],
            cwd=ws, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        failed = sorted(set(re.findall(r"^\{\d+\} (\S+) \[[^\]]*\] \.\.\. FAILED", out, re.M)))
        totals = out[out.rfind("Totals"):] if "Totals" in out else out[-3000:]
        print(totals)
        if failed:
            print(f"\n{len(failed)} failed:")
            for name in failed:
                print("  " + name)
        bad = [line for line in server.log().splitlines() if "panicked" in line]
        if bad:
            print("\nserver panics:\n" + "\n".join(bad))
        return 1 if proc.returncode != 0 or bad else 0
    finally:
        server.stop()
        if keep:
            print(f"workspace: {ws}; server log: {server.log_path}")
        else:
            shutil.rmtree(ws, ignore_errors=True)
            shutil.rmtree(server.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
