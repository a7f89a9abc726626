"""The disk path of issue 12 under a real guest, before the compute API: the
test guest (scripts/build-test-guest.sh) uploaded as an image, a bootable
volume made from it, a QEMU guest (TCG) booted from that volume over NBD
through its Cinder attachment; a second volume, written beforehand over
NBD, hot-plugged through QMP: the guest reports its size and the sha256 of
its first MiB; the guest writes a pattern; the disk is unplugged and the
pattern read back with nbdcopy."""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

import pytest

from conftest import openstack, run, wait_for
from test_cinder_admin_cli import cinder
from test_images import read_volume
from test_replication import with_nbd

MIB = 1 << 20
pytestmark = pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                                reason="qemu-system-x86 is not installed")


class Qmp:
    def __init__(self, path):
        deadline = time.time() + 10
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                assert time.time() < deadline, "no QMP socket"
                time.sleep(0.1)
        self.f = self.sock.makefile("rw")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if "return" in reply:
                return reply["return"]
            assert "error" not in reply, reply


def nbd_server(uri):
    u = urllib.parse.urlparse(uri)
    return {"type": "inet", "host": u.hostname, "port": str(u.port)}, u.path.lstrip("/")


def wait_console(log, text, timeout=180):
    deadline = time.time() + timeout
    while True:
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                seen = f.read()
            if text in seen:
                return seen
        assert time.time() < deadline, f"the guest never printed {text!r}:\n{seen[-2000:]}"
        time.sleep(0.5)


def test_a_guest_boots_from_a_volume_and_hot_plugs_another(platter, guest_image, tmp_path):
    env = platter.env()
    c = cinder(platter, version="3.54")
    img = openstack(env, "image", "create", "--file", str(guest_image), "--disk-format", "raw",
                    "--container-format", "bare", "test-guest")
    root = openstack(env, "volume", "create", "--image", img["id"], "--size", "1", "guest-root")
    wait_for(lambda: openstack(env, "volume", "show", root["id"])["status"], "available",
             timeout=120)
    assert openstack(env, "volume", "show", root["id"])["bootable"] in (True, "true")

    data = openstack(env, "volume", "create", "--size", "1", "guest-data")
    wait_for(lambda: openstack(env, "volume", "show", data["id"])["status"], "available")
    with_nbd(c, data["id"], "write -P 0x42 0 1M", "write -P 0x43 1M 1M", "flush")

    connector = {"host": "guest-host", "ip": "127.0.0.1", "initiator": None}
    root_att = c.attachments.create(root["id"], connector, mode="rw")
    server, export = nbd_server(root_att["connection_info"]["data"]["uri"])
    qmp_path, console = str(tmp_path / "qmp.sock"), str(tmp_path / "console.log")
    serial = str(tmp_path / "serial.sock")
    qemu = subprocess.Popen([
        "qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "256", "-smp", "1",
        "-nographic", "-nodefaults", "-uuid", root["id"], "-name", "platter-test-guest",
        "-chardev", f"socket,id=ser0,path={serial},server=on,wait=off,logfile={console}",
        "-serial", "chardev:ser0", "-qmp", f"unix:{qmp_path},server=on,wait=off",
        "-blockdev", f"driver=nbd,node-name=root,server.type=inet,server.host={server['host']},"
                     f"server.port={server['port']},export={export}",
        "-device", "virtio-blk-pci,drive=root,bootindex=0",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_console(console, "PLATTER-GUEST: booted")
        wait_console(console, "PLATTER-GUEST: disk vda ")
        qmp = Qmp(qmp_path)

        data_att = c.attachments.create(data["id"], connector, mode="rw")
        server, export = nbd_server(data_att["connection_info"]["data"]["uri"])
        qmp.cmd("blockdev-add", driver="nbd", **{"node-name": "data"}, server=server,
                export=export)
        qmp.cmd("device_add", driver="virtio-blk-pci", id="data-disk", drive="data")
        expect = hashlib.sha256(b"\x42" * MIB).hexdigest()
        wait_console(console, f"PLATTER-GUEST: disk vdb size={1 << 30} sha256_1m={expect}")

        term = socket.socket(socket.AF_UNIX)
        term.connect(serial)
        term.sendall(b"write vdb 90 2\n")
        wrote = hashlib.sha256(bytes([90]) * MIB).hexdigest()
        wait_console(console, f"PLATTER-GUEST: wrote vdb 90 2 sha256_1m={wrote}")
        term.close()

        qmp.cmd("device_del", id="data-disk")
        wait_console(console, "PLATTER-GUEST: disk vdb removed")
        # The guest reports the removal before QEMU has let go of the node.
        deadline = time.time() + 20
        while True:
            try:
                qmp.cmd("blockdev-del", **{"node-name": "data"})
                break
            except AssertionError as e:
                assert "in use" in str(e) and time.time() < deadline, e
                time.sleep(0.5)
        c.attachments.delete(data_att["id"])
        wait_for(lambda: c.volumes.get(data["id"]).status, "available")
    finally:
        qemu.kill()
        qemu.wait()
    c.attachments.delete(root_att["id"])
    wait_for(lambda: c.volumes.get(root["id"]).status, "available")

    got = tmp_path / "data.raw"
    read_volume(c, data["id"], str(got))
    with open(got, "rb") as f:
        head = f.read(3 * MIB)
    assert head[:2 * MIB] == bytes([90]) * (2 * MIB), "the guest's pattern"
    assert head[2 * MIB:] == bytes(MIB), "nothing past it"
