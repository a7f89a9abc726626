"""Starts a real `platter serve` for the client tests and hands out its
credentials as the environment a user would `source`."""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "client-tests-admin"


def free_ports(n):
    """`n` distinct free ports (held open together while chosen, so the
    system cannot hand out the same one twice)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def platter_binary():
    path = os.environ.get("PLATTER_BIN") or str(REPO / "target" / "debug" / "platter")
    if not os.path.exists(path):
        pytest.fail(f"platter binary not found at {path}; run `cargo build` first")
    return path


class Platter:
    def __init__(self, config=None):
        """`config`: the text of a platter.toml to serve with, if any."""
        self.tmp = tempfile.mkdtemp(prefix="platter-clients-")
        self.config = None
        if config is not None:
            self.config = os.path.join(self.tmp, "platter.toml")
            with open(self.config, "w") as f:
                f.write(config)
        self.data_dir = os.path.join(self.tmp, "data")
        (self.identity_port, self.volume_port, self.image_port, self.nbd_port, self.compute_port,
         self.admin_port, self.console_port) = free_ports(7)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.proc = None

    def start(self):
        """Starts the server; a port taken between our probe and its bind
        (tests run servers side by side) means new ports and a retry."""
        for attempt in range(5):
            try:
                return self._spawn()
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 4:
                    raise
                ports = free_ports(7)
                (self.identity_port, self.volume_port, self.image_port, self.nbd_port,
                 self.compute_port, self.admin_port, self.console_port) = ports

    def _spawn(self):
        log = open(self.log_path, "ab")
        env = dict(os.environ, PLATTER_ADMIN_PASSWORD=ADMIN_PASSWORD, PLATTER_LOG="info,sqlx=warn",
                   PLATTER_METRICS_SAMPLE_SECONDS="1")
        if self.config:
            env["PLATTER_CONFIG"] = self.config
        self.proc = subprocess.Popen(
            [platter_binary(), "serve", "--data-dir", self.data_dir,
             "--identity-port", str(self.identity_port),
             "--block-storage-port", str(self.volume_port),
             "--image-port", str(self.image_port),
             "--nbd-port", str(self.nbd_port),
             "--compute-port", str(self.compute_port),
             "--admin-port", str(self.admin_port),
             "--console-port", str(self.console_port)],
            stdout=subprocess.DEVNULL, stderr=log, env=env)
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.identity_url}/v3", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("platter exited:\n" + self.log())
            if time.time() > deadline:
                raise RuntimeError("platter did not start:\n" + self.log())
            time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def log(self):
        try:
            return open(self.log_path, encoding="utf-8", errors="replace").read()
        except OSError:
            return ""

    @property
    def identity_url(self):
        return f"http://127.0.0.1:{self.identity_port}"

    @property
    def volume_url(self):
        return f"http://127.0.0.1:{self.volume_port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def console_url(self):
        return f"http://127.0.0.1:{self.console_port}"

    @property
    def compute_url(self):
        return f"http://127.0.0.1:{self.compute_port}"

    @property
    def openrc(self):
        return os.path.join(self.data_dir, "admin-openrc.sh")

    def env(self, user="admin", password=ADMIN_PASSWORD, project="admin"):
        """The environment `source admin-openrc.sh` gives, for another user if asked."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({
            "OS_AUTH_URL": f"{self.identity_url}/v3",
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": user,
            "OS_PASSWORD": password,
            "OS_PROJECT_NAME": project,
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": "RegionOne",
            "OS_INTERFACE": "public",
            "OS_VOLUME_API_VERSION": "3",
        })
        return env


def serving(config=None):
    """A fixture's body: a started server, stopped afterwards; fails if it
    answered a 5xx or panicked meanwhile."""
    p = Platter(config)
    p.start()
    yield p
    p.stop()
    failures = [line for line in p.log().splitlines() if "request failed" in line or "panicked" in line]
    shutil.rmtree(p.tmp, ignore_errors=True)
    assert not failures, "server answered 5xx or panicked:\n" + "\n".join(failures)


@pytest.fixture(scope="session")
def guest_image(tmp_path_factory):
    """The test guest (scripts/build-test-guest.sh), built once per run."""
    out = tmp_path_factory.mktemp("guest") / "guest.raw"
    subprocess.run([str(REPO / "scripts" / "build-test-guest.sh"), str(out)], check=True,
                   capture_output=True)
    return out


@pytest.fixture(scope="module")
def platter():
    yield from serving()


def run(cmd, env, check=True):
    """Runs a client command; returns (exit code, stdout, stderr)."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def openstack(env, *args, check=True):
    """`openstack ARGS -f json`, parsed."""
    _, out, _ = run(["openstack", *args, "-f", "json"], env, check=check)
    return json.loads(out) if out.strip() else None


def wait_for(fetch, want, timeout=60):
    """Polls fetch() until it returns `want`; fails on an error status."""
    deadline = time.time() + timeout
    while True:
        got = fetch()
        if got == want:
            return
        assert not (isinstance(got, str) and got.startswith("error")), f"reached {got} waiting for {want}"
        assert time.time() < deadline, f"still {got}, wanted {want}"
        time.sleep(0.3)
