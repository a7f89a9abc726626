#!/usr/bin/env python3
"""fio through NBD, in one run on one machine: Platter against qemu-nbd on a
raw file, qemu-nbd on a qcow2 file and nbdkit's file plugin. Workloads: 4 KiB
random read and write at queue depth 32, 1 MiB sequential write; on fresh
images and on images with snapshots (a qcow2 backing chain for qemu-nbd).
Prints a Markdown report with Platter's ratio to each peer.

Usage: bench/nbd.sh [--runtime SECONDS] [--size GIB] [--snapshots N]
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def fio(uri, rw, bs, iodepth, runtime, size_gib, extra=()):
    cmd = ["fio", "--name=bench", "--ioengine=nbd", f"--uri={uri}", f"--rw={rw}", f"--bs={bs}",
           f"--iodepth={iodepth}", f"--size={size_gib}G", "--output-format=json", *extra]
    if runtime:
        cmd += ["--time_based", f"--runtime={runtime}", "--ramp_time=1"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    job = json.loads(out[out.index("{"):])["jobs"][0]
    side = job["read"] if "read" in rw else job["write"]
    if rw in ("randwrite", "write"):
        side = job["write"]
    return {"iops": side["iops"], "bw": side["bw_bytes"]}


def prefill(uri, size_gib):
    fio(uri, "write", "1M", 8, 0, size_gib)


def dirty(uri, size_gib, ios):
    fio(uri, "randwrite", "4k", 16, 0, size_gib, extra=[f"--number_ios={ios}"])


class Proc:
    def __init__(self, cmd, port, **kw):
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        wait_port(port)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()


class Platter:
    """A release `platter serve`, driven through its API."""

    def __init__(self, tmp):
        self.ports = [free_port() for _ in range(5)]
        binary = os.path.join(REPO, "target", "release", "platter")
        env = dict(os.environ, PLATTER_ADMIN_PASSWORD="bench", PLATTER_LOG="warn")
        self.proc = Proc([binary, "serve", "--data-dir", os.path.join(tmp, "platter"),
                          "--identity-port", str(self.ports[0]), "--block-storage-port", str(self.ports[1]),
                          "--nbd-port", str(self.ports[2]), "--image-port", str(self.ports[3]),
                          "--compute-port", str(self.ports[4])],
                         self.ports[1], env=env)
        wait_port(self.ports[0])
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "bench"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports[0]}/v3/auth/tokens",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            self.token = r.headers["X-Subject-Token"]
            self.project = json.load(r)["token"]["project"]["id"]

    def call(self, method, path, body=None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.ports[1]}/v3/{self.project}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-Auth-Token": self.token, "Content-Type": "application/json",
                     "OpenStack-API-Version": "volume 3.54"})
        with urllib.request.urlopen(req) as r:
            text = r.read()
            return json.loads(text) if text else None

    def wait(self, kind, id_, status):
        for _ in range(600):
            if self.call("GET", f"/{kind}s/{id_}")[kind]["status"] == status:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{kind} {id_} never became {status}")

    def volume(self, size_gib):
        vid = self.call("POST", "/volumes", {"volume": {"size": size_gib}})["volume"]["id"]
        self.wait("volume", vid, "available")
        return vid

    def attach(self, vid):
        a = self.call("POST", "/attachments", {"attachment": {"volume_uuid": vid, "connector": {"host": "bench"}}})
        self.call("POST", f"/attachments/{a['attachment']['id']}/action", {"os-complete": None})
        return a["attachment"]["id"], a["attachment"]["connection_info"]["data"]["uri"]

    def snapshot(self, vid):
        sid = self.call("POST", "/snapshots", {"snapshot": {"volume_id": vid, "force": True}})["snapshot"]["id"]
        self.wait("snapshot", sid, "available")

    def stop(self):
        self.proc.stop()


def qemu_nbd(path, fmt):
    port = free_port()
    proc = Proc(["qemu-nbd", "-f", fmt, "-p", str(port), "-b", "127.0.0.1", "-x", "bench", "-t",
                 "--cache=writeback", "--aio=threads", "--discard=unmap", path], port)
    return proc, f"nbd://127.0.0.1:{port}/bench"


def nbdkit_file(path):
    port = free_port()
    proc = Proc(["nbdkit", "-f", "-p", str(port), "-i", "127.0.0.1", "file", f"file={path}"], port)
    return proc, f"nbd://127.0.0.1:{port}"


WORKLOADS = [
    ("4 KiB random read, QD32", "randread", "4k", 32),
    ("4 KiB random write, QD32", "randwrite", "4k", 32),
    ("1 MiB sequential write, QD8", "write", "1M", 8),
]


def measure(uri, args):
    prefill(uri, args.size)
    return {name: fio(uri, rw, bs, qd, args.runtime, args.size) for name, rw, bs, qd in WORKLOADS}


def fmt(result, name):
    r = result[name]
    if "1 MiB" in name:
        return f"{r['bw'] / 2**20:,.0f} MiB/s"
    return f"{r['iops']:,.0f} IOPS"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", type=int, default=8)
    ap.add_argument("--size", type=int, default=1, help="GiB of each image the workloads cover")
    ap.add_argument("--snapshots", type=int, default=5)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="platter-nbd-bench-")
    results = {"fresh": {}, "snapshots": {}}
    try:
        # Fresh images.
        platter = Platter(tmp)
        vid = platter.volume(args.size + 1)
        _, uri = platter.attach(vid)
        results["fresh"]["Platter"] = measure(uri, args)

        raw = os.path.join(tmp, "fresh.raw")
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", raw, f"{args.size + 1}G"], check=True)
        proc, u = qemu_nbd(raw, "raw")
        results["fresh"]["qemu-nbd raw"] = measure(u, args)
        proc.stop()

        qcow = os.path.join(tmp, "fresh.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow, f"{args.size + 1}G"], check=True)
        proc, u = qemu_nbd(qcow, "qcow2")
        results["fresh"]["qemu-nbd qcow2"] = measure(u, args)
        proc.stop()

        raw2 = os.path.join(tmp, "nbdkit.raw")
        subprocess.run(["qemu-img", "create", "-q", "-f", "raw", raw2, f"{args.size + 1}G"], check=True)
        proc, u = nbdkit_file(raw2)
        results["fresh"]["nbdkit file"] = measure(u, args)
        proc.stop()

        # With snapshots: Platter snapshots against a qcow2 backing chain,
        # each layer holding 2000 random 4 KiB writes over a full image.
        vid = platter.volume(args.size + 1)
        _, uri = platter.attach(vid)
        prefill(uri, args.size)
        for _ in range(args.snapshots):
            dirty(uri, args.size, 2000)
            platter.snapshot(vid)
        results["snapshots"]["Platter"] = {n: fio(uri, rw, bs, qd, args.runtime, args.size)
                                           for n, rw, bs, qd in WORKLOADS}
        platter.stop()

        base = os.path.join(tmp, "chain0.qcow2")
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, f"{args.size + 1}G"], check=True)
        proc, u = qemu_nbd(base, "qcow2")
        prefill(u, args.size)
        proc.stop()
        top = base
        for i in range(1, args.snapshots + 1):
            layer = os.path.join(tmp, f"chain{i}.qcow2")
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", top, "-F", "qcow2", layer], check=True)
            top = layer
            proc, u = qemu_nbd(top, "qcow2")
            dirty(u, args.size, 2000)
            proc.stop()
        proc, u = qemu_nbd(top, "qcow2")
        results["snapshots"]["qemu-nbd qcow2 chain"] = {n: fio(u, rw, bs, qd, args.runtime, args.size)
                                                        for n, rw, bs, qd in WORKLOADS}
        proc.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("# NBD benchmark: fio through NBD\n")
    print(f"fio {args.runtime}s per workload after a 1s ramp, over {args.size} GiB written first; "
          f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}.\n")
    for case, title in [("fresh", "Fresh images"), ("snapshots", f"With {args.snapshots} snapshots")]:
        peers = [k for k in results[case] if k != "Platter"]
        print(f"## {title}\n")
        print("| workload | Platter | " + " | ".join(peers) + " | " + " | ".join(f"Platter / {p}" for p in peers) + " |")
        print("|---" * (2 + 2 * len(peers)) + "|")
        for name, *_ in WORKLOADS:
            key = "bw" if "1 MiB" in name else "iops"
            mine = results[case]["Platter"][name][key]
            cells = [fmt(results[case][p], name) for p in peers]
            ratios = [f"{mine / results[case][p][name][key]:.2f}" for p in peers]
            print(f"| {name} | {fmt(results[case]['Platter'], name)} | " + " | ".join(cells) + " | "
                  + " | ".join(ratios) + " |")
        print()


if __name__ == "__main__":
    sys.exit(main())
