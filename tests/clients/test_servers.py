"""Compute (issue 12) through the `openstack` CLI: servers that are real
QEMU guests (TCG) booting from Platter volumes, a volume hot-plugged and
unplugged, power actions, console output, kill -9 recovery; and the
refusals, against a server whose compute driver runs no hypervisor."""

import hashlib
import json
import os
import shutil
import signal
import socket
import time

import pytest
import requests

from conftest import Platter, openstack, run, serving, wait_for
from test_cinder_admin_cli import cinder
from test_images import read_volume
from test_replication import with_nbd

MIB = 1 << 20
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                                reason="qemu-system-x86 is not installed")


def console(env, server):
    _, out, _ = run(["openstack", "console", "log", "show", server], env)
    return out


def wait_console(env, server, text, timeout=180):
    deadline = time.time() + timeout
    while True:
        out = console(env, server)
        if text in out:
            return out
        assert time.time() < deadline, f"the guest never printed {text!r}:\n{out[-3000:]}"
        time.sleep(1)


def guest_command(p, env, server_id, command, expect, timeout=180):
    """Types `command` on the guest's serial console until it answers
    `expect` (a guest just booted may drop what arrives before its prompt
    loop runs; the commands are idempotent)."""
    deadline = time.time() + timeout
    while True:
        term = socket.socket(socket.AF_UNIX)
        term.connect(os.path.join(p.data_dir, "guests", server_id, "serial.sock"))
        try:
            term.sendall(command.encode() + b"\n")
            # The connection stays open until the answer: QEMU drops what a
            # client sent if it leaves at once.
            for _ in range(10):
                if expect in console(env, server_id):
                    return
                time.sleep(1)
        finally:
            term.close()
        assert time.time() < deadline, f"the guest never answered {command!r}"


def guest_pids(server_id):
    """Processes whose command line carries the server's id as -uuid."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(a == b"-uuid" and b == server_id.encode() for a, b in zip(args, args[1:])):
            pids.append(int(pid))
    return pids


def server_status(env, name):
    return openstack(env, "server", "show", name)["status"]


def create_guest(env, image, name, *extra):
    s = openstack(env, "server", "create", "--flavor", "m1.tiny", "--image", image,
                  "--boot-from-volume", "1", *extra, name)
    wait_for(lambda: server_status(env, name), "ACTIVE", timeout=180)
    return s


@needs_qemu
def test_a_server_boots_from_a_volume_and_takes_a_hot_plugged_disk(platter, guest_image, tmp_path):
    env = platter.env()
    c = cinder(platter, version="3.54")
    img = openstack(env, "image", "create", "--file", str(guest_image), "--disk-format", "raw",
                    "--container-format", "bare", "guest")
    s1 = create_guest(env, img["id"], "s1")
    shown = openstack(env, "server", "show", "s1")
    assert "m1.tiny" in json.dumps(shown["flavor"])
    root = shown["volumes_attached"][0]["id"]
    assert guest_pids(s1["id"]), "a QEMU process carries the server's id"
    out = wait_console(env, "s1", "PLATTER-GUEST: disk vda ")
    assert "PLATTER-GUEST: booted" in out
    vol = openstack(env, "volume", "show", root)
    assert vol["status"] == "in-use" and vol["attachments"][0]["server_id"] == s1["id"]

    # v2, written beforehand over NBD, hot-plugged: the guest sees its bytes.
    v2 = openstack(env, "volume", "create", "--size", "1", "v2")
    wait_for(lambda: openstack(env, "volume", "show", "v2")["status"], "available")
    with_nbd(c, v2["id"], "write -P 0x42 0 1M")
    run(["openstack", "server", "add", "volume", "s1", "v2"], env)
    wait_for(lambda: openstack(env, "volume", "show", "v2")["status"], "in-use")
    att = openstack(env, "volume", "show", "v2")["attachments"]
    assert [a["server_id"] for a in att] == [s1["id"]]
    assert att[0]["device"] == "/dev/vdb"
    expect = hashlib.sha256(b"\x42" * MIB).hexdigest()
    wait_console(env, "s1", f"PLATTER-GUEST: disk vdb size={1 << 30} sha256_1m={expect}")
    listed = openstack(env, "server", "volume", "list", "s1")
    assert sorted(a["Device"] for a in listed) == ["/dev/vda", "/dev/vdb"]

    # The guest writes a pattern on its console's command.
    wrote = hashlib.sha256(bytes([90]) * MIB).hexdigest()
    guest_command(platter, env, s1["id"], "write vdb 90 2",
                  f"PLATTER-GUEST: wrote vdb 90 2 sha256_1m={wrote}")

    run(["openstack", "server", "remove", "volume", "s1", "v2"], env)
    wait_for(lambda: openstack(env, "volume", "show", "v2")["status"], "available")
    wait_console(env, "s1", "PLATTER-GUEST: disk vdb removed")
    got = tmp_path / "v2.raw"
    read_volume(c, v2["id"], str(got))
    with open(got, "rb") as f:
        head = f.read(3 * MIB)
    assert head[:2 * MIB] == bytes([90]) * (2 * MIB), "the guest's pattern, read back over NBD"
    assert head[2 * MIB:] == bytes(MIB)

    # Power: stop ends the process, start makes a new one.
    run(["openstack", "server", "stop", "s1"], env)
    wait_for(lambda: server_status(env, "s1"), "SHUTOFF", timeout=60)
    assert openstack(env, "server", "show", "s1")["OS-EXT-STS:power_state"] in (4, "Shutdown")
    assert guest_pids(s1["id"]) == []
    run(["openstack", "server", "start", "s1"], env)
    wait_for(lambda: server_status(env, "s1"), "ACTIVE", timeout=60)
    assert guest_pids(s1["id"])
    run(["openstack", "server", "reboot", "--hard", "s1"], env)
    wait_for(lambda: server_status(env, "s1"), "ACTIVE", timeout=60)

    # The guest wrecks its own boot disk; a rebuild rewrites it from the
    # image in place (same volume) and the guest boots again.
    boots = wait_console(env, "s1", "PLATTER-GUEST: disk vda ").count("PLATTER-GUEST: booted")
    guest_command(platter, env, s1["id"], "write vda 0 4", "PLATTER-GUEST: wrote vda 0 4")
    run(["openstack", "server", "rebuild", "--image", img["id"], "--wait", "s1"], env)
    assert server_status(env, "s1") == "ACTIVE"
    assert openstack(env, "server", "show", "s1")["volumes_attached"][0]["id"] == root
    deadline = time.time() + 180
    while console(env, "s1").count("PLATTER-GUEST: booted") <= boots:
        assert time.time() < deadline, "the rebuilt guest did not boot"
        time.sleep(1)

    # Delete: the process goes; the root volume stays (the CLI's
    # boot-from-volume does not delete on termination) and is available.
    run(["openstack", "server", "delete", "--wait", "s1"], env)
    assert guest_pids(s1["id"]) == []
    assert openstack(env, "volume", "show", root)["status"] == "available"


@needs_qemu
def test_kill_9_with_a_create_and_an_attach_in_flight(guest_image):
    p = Platter()
    p.start()
    env = p.env()
    s1 = s2 = {"id": "none"}
    try:
        img = openstack(env, "image", "create", "--file", str(guest_image), "--disk-format",
                        "raw", "--container-format", "bare", "guest")
        s1 = create_guest(env, img["id"], "k1")
        vol = openstack(env, "volume", "create", "--size", "1", "kv")
        wait_for(lambda: openstack(env, "volume", "show", "kv")["status"], "available")
        p.stop()
        # Restarted with slow jobs: the create and the attach stay in flight.
        os.environ["PLATTER_TEST_JOB_DELAY_MS"] = "4000"
        try:
            p.start()
        finally:
            del os.environ["PLATTER_TEST_JOB_DELAY_MS"]
        s2 = openstack(env, "server", "create", "--flavor", "m1.tiny", "--image", img["id"],
                       "--boot-from-volume", "1", "k2")
        run(["openstack", "server", "add", "volume", "k1", "kv"], env)
        time.sleep(1)
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait()
        p.start()
        wait_for(lambda: server_status(env, "k2"), "ACTIVE", timeout=180)
        wait_for(lambda: openstack(env, "volume", "show", "kv")["status"], "in-use", timeout=60)
        for s in openstack(env, "server", "list", "--long"):
            running = bool(guest_pids(s["ID"]))
            assert running == (s["Status"] == "ACTIVE"), s
            assert s["Status"] in ("ACTIVE", "SHUTOFF"), s
        stuck = [v for v in openstack(env, "volume", "list", "--long")
                 if v["Status"] in ("attaching", "reserved", "creating", "detaching")]
        assert stuck == []
        for name in ("k1", "k2"):
            run(["openstack", "server", "delete", "--wait", name], env)
        assert guest_pids(s1["id"]) == [] and guest_pids(s2["id"]) == []
    finally:
        p.stop()
        for server in (s1, s2):
            for pid in guest_pids(server["id"]):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(p.tmp, ignore_errors=True)


NONE_DRIVER = """
compute_driver = "none"
[quota]
instances = 2
cores = 8
ram = 8192
"""


@pytest.fixture(scope="module")
def headless():
    yield from serving(NONE_DRIVER)


def nova(p, method, path, body=None, token=None, version=None):
    headers = {"X-Auth-Token": token}
    if version:
        headers["X-OpenStack-Nova-API-Version"] = version
    return requests.request(method, f"{p.compute_url}/v2.1/{path}", headers=headers,
                            json=body, timeout=30)


def token_and_project(env):
    tok = openstack(env, "token", "issue")
    return tok["id"], tok["project_id"]


def test_refusals_are_novas_and_leave_nothing(headless):
    env = headless.env()
    tok, project = token_and_project(env)
    v = openstack(env, "volume", "create", "--size", "1", "--property", "k=v", "r1")
    wait_for(lambda: openstack(env, "volume", "show", "r1")["status"], "available")

    def create(**server):
        body = {"server": {"name": "x", "flavorRef": "1", "networks": "none", **server}}
        return nova(headless, "POST", f"{project}/servers", body, tok, "2.60")

    bdm = [{"source_type": "volume", "destination_type": "volume", "uuid": v["id"],
            "boot_index": 0}]
    for body, status, key in [
        ({"flavorRef": "no-such-flavor", "block_device_mapping_v2": bdm}, 400, "badRequest"),
        ({"imageRef": "9b0a8d5c-0000-4000-8000-000000000000"}, 400, "badRequest"),
        ({"block_device_mapping_v2": [{**bdm[0], "uuid": "9b0a8d5c-0000-4000-8000-0000000000aa"}]},
         400, "badRequest"),
        ({}, 400, "badRequest"),
    ]:
        r = create(**body)
        assert r.status_code == status, r.text
        assert key in r.json(), r.text
    assert openstack(env, "server", "list") == []
    assert openstack(env, "volume", "show", "r1")["status"] == "available"

    # A server booted from r1 (no hypervisor: attachments and connectors only).
    r = create(block_device_mapping_v2=bdm)
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_for(lambda: server_status(env, sid), "ACTIVE")
    att = openstack(env, "volume", "show", "r1")["attachments"]
    assert att[0]["server_id"] == sid
    # Cinder cannot pull a server's disk from under it: refused, unchanged.
    c = cinder(headless, version="3.54")
    with pytest.raises(Exception) as refused:
        c.attachments.delete(att[0]["attachment_id"])
    assert "compute API" in str(refused.value)
    assert openstack(env, "volume", "show", "r1")["status"] == "in-use"

    # r1 is attached and not multiattach: a second server cannot boot from it.
    r = create(block_device_mapping_v2=bdm, name="y")
    assert r.status_code == 400, r.text
    assert len(openstack(env, "server", "list")) == 1

    # Another project's volume is not found.
    run(["openstack", "project", "create", "other"], env)
    run(["openstack", "role", "add", "--user", "admin", "--project", "other", "member"], env)
    other = headless.env(project="other")
    ov = openstack(other, "volume", "create", "--size", "1", "ov")
    wait_for(lambda: openstack(other, "volume", "show", "ov")["status"], "available")
    # Alice, a member (not admin) of this project, cannot reach it.
    run(["openstack", "user", "create", "--password", "alice-pw", "alice"], env)
    run(["openstack", "role", "add", "--user", "alice", "--project", "admin", "member"], env)
    alice, _ = token_and_project(headless.env(user="alice", password="alice-pw"))
    r = nova(headless, "POST", f"{project}/servers/{sid}/os-volume_attachments",
             {"volumeAttachment": {"volumeId": ov["id"]}}, alice)
    assert r.status_code == 404 and "itemNotFound" in r.json(), r.text
    assert openstack(other, "volume", "show", "ov")["status"] == "available"

    # A device name already in use.
    v3 = openstack(env, "volume", "create", "--size", "1", "r3")
    wait_for(lambda: openstack(env, "volume", "show", "r3")["status"], "available")
    r = nova(headless, "POST", f"{project}/servers/{sid}/os-volume_attachments",
             {"volumeAttachment": {"volumeId": v3["id"], "device": "/dev/vda"}}, tok)
    assert r.status_code == 409 and "conflictingRequest" in r.json(), r.text
    # Stopping a stopped server: 409; starting an active one: 409.
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"os-start": None}, tok)
    assert r.status_code == 409, r.text
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"no-such-action": {}}, tok)
    assert r.status_code == 400, r.text
    # A microversion above the maximum.
    r = nova(headless, "GET", f"{project}/servers", token=tok, version="2.99")
    assert r.status_code == 406, r.text

    # Quota: instances = 2, so the third server is refused whole.
    blank = [{"source_type": "blank", "destination_type": "volume", "volume_size": 1,
              "boot_index": 0, "delete_on_termination": True}]
    r = create(block_device_mapping_v2=blank, name="q2")
    assert r.status_code == 202, r.text
    volumes_before = len(openstack(env, "volume", "list"))
    r = create(block_device_mapping_v2=blank, name="q3")
    assert r.status_code == 403 and "instances" in r.json()["forbidden"]["message"], r.text
    assert len(openstack(env, "volume", "list")) == volumes_before
    q2 = [s for s in openstack(env, "server", "list") if s["Name"] == "q2"][0]
    wait_for(lambda: server_status(env, q2["ID"]), "ACTIVE")
    # Its volume goes with it (delete_on_termination).
    q2_root = openstack(env, "server", "show", q2["ID"])["volumes_attached"][0]["id"]
    run(["openstack", "server", "delete", "--wait", q2["ID"]], env)
    wait_for(lambda: openstack(env, "volume", "show", q2_root, check=False), None, timeout=60)

    # Locked by the admin, the server refuses Alice's stop (409); unlocked,
    # it stops.
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"lock": None}, tok)
    assert r.status_code == 202, r.text
    assert nova(headless, "GET", f"{project}/servers/{sid}", token=tok,
                version="2.9").json()["server"]["locked"] is True
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"os-stop": None}, alice)
    assert r.status_code == 409 and "locked" in r.json()["conflictingRequest"]["message"], r.text
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"unlock": None}, tok)
    assert r.status_code == 202, r.text
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"os-stop": None}, alice)
    assert r.status_code == 202, r.text
    wait_for(lambda: server_status(env, sid), "SHUTOFF")

    # A resize (stopped): VERIFY_RESIZE with the new flavor, then confirmed;
    # another, reverted to the old flavor.
    run(["openstack", "server", "resize", "--flavor", "m1.small", "--wait", sid], env)
    assert server_status(env, sid) == "VERIFY_RESIZE"
    run(["openstack", "server", "resize", "confirm", sid], env)
    shown = openstack(env, "server", "show", sid)
    assert shown["status"] == "SHUTOFF" and "m1.small" in json.dumps(shown["flavor"])
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"resize": {"flavorRef": "3"}}, tok)
    assert r.status_code == 202, r.text
    wait_for(lambda: server_status(env, sid), "VERIFY_RESIZE")
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"revertResize": None}, tok)
    assert r.status_code == 202, r.text
    wait_for(lambda: server_status(env, sid), "SHUTOFF")
    assert "m1.small" in json.dumps(openstack(env, "server", "show", sid)["flavor"])
    r = nova(headless, "POST", f"{project}/servers/{sid}/action", {"resize": {"flavorRef": "2"}}, tok)
    assert r.status_code == 400, "the same flavor"

    # createImage: an image of the root volume (Location before 2.45,
    # image_id from 2.45).
    run(["openstack", "server", "image", "create", "--name", "snap1", "--wait", sid], env)
    img = openstack(env, "image", "show", "snap1")
    assert img["status"] == "active" and img["size"] == 1 << 30
    r = nova(headless, "POST", f"{project}/servers/{sid}/action",
             {"createImage": {"name": "snap2"}}, tok, "2.45")
    assert r.status_code == 202 and "image_id" in r.json(), r.text
    r = requests.post(f"{headless.compute_url}/v1.0/servers/{sid}/action",
                      json={"monitorMetrics": None}, headers={"X-Auth-Token": tok}, timeout=30)
    assert r.status_code == 204, r.text

    # Limits report what is used.
    r = nova(headless, "GET", f"{project}/limits", token=tok)
    absolute = r.json()["limits"]["absolute"]
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (2, 1)
    assert absolute["totalRAMUsed"] == 2048, "m1.small since the resize"
    q = nova(headless, "GET", f"{project}/os-quota-sets/{project}", token=tok).json()["quota_set"]
    assert (q["instances"], q["cores"], q["ram"]) == (2, 8, 8192)
    r = nova(headless, "GET", f"{project}/os-quota-sets/{project}", token=alice)
    assert r.status_code == 200, r.text
    other_id = openstack(env, "project", "show", "other")["id"]
    r = nova(headless, "GET", f"{project}/os-quota-sets/{other_id}", token=alice)
    assert r.status_code == 403 and "forbidden" in r.json(), r.text


def test_novas_volume_and_snapshot_proxies(headless):
    env = headless.env()
    tok, project = token_and_project(env)
    r = nova(headless, "POST", f"{project}/os-volumes",
             {"volume": {"size": 1, "display_name": "pv", "metadata": {"k": "v"}}}, tok)
    assert r.status_code == 200, r.text
    vid = r.json()["volume"]["id"]
    wait_for(lambda: nova(headless, "GET", f"{project}/os-volumes/{vid}", token=tok)
             .json()["volume"]["status"], "available")
    shown = nova(headless, "GET", f"{project}/os-volumes/{vid}", token=tok).json()["volume"]
    assert (shown["displayName"], shown["size"], shown["metadata"]) == ("pv", 1, {"k": "v"})
    assert shown["attachments"] == [{}]
    listed = nova(headless, "GET", f"{project}/os-volumes/detail", token=tok).json()["volumes"]
    assert vid in [v["id"] for v in listed]
    # The same volume through Cinder.
    assert openstack(env, "volume", "show", vid)["name"] == "pv"

    r = nova(headless, "POST", f"{project}/os-snapshots",
             {"snapshot": {"volume_id": vid, "display_name": "ps"}}, tok)
    assert r.status_code == 200, r.text
    sid = r.json()["snapshot"]["id"]
    wait_for(lambda: nova(headless, "GET", f"{project}/os-snapshots/{sid}", token=tok)
             .json()["snapshot"]["status"], "available")
    assert openstack(env, "volume", "snapshot", "show", sid)["name"] == "ps"
    # A volume with a snapshot is not deleted (Cinder's rule, Nova's status).
    r = nova(headless, "DELETE", f"{project}/os-volumes/{vid}", token=tok)
    assert r.status_code == 400 and "badRequest" in r.json(), r.text
    assert nova(headless, "DELETE", f"{project}/os-snapshots/{sid}", token=tok).status_code == 202
    wait_for(lambda: nova(headless, "GET", f"{project}/os-snapshots/{sid}", token=tok).status_code, 404)
    assert nova(headless, "DELETE", f"{project}/os-volumes/{vid}", token=tok).status_code == 202
    wait_for(lambda: nova(headless, "GET", f"{project}/os-volumes/{vid}", token=tok).status_code, 404)
    r = nova(headless, "POST", f"{project}/os-volumes", {"volume": {"bogus": 1, "size": 1}}, tok)
    assert r.status_code == 400, r.text
