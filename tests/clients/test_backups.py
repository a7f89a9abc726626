"""Cinder backups through the `openstack` CLI, python-cinderclient and
Huawei's EVS SDK: a full backup, an incremental one after a small change,
their views, quota usage, and deletes (the parent only after its
incremental); restores into new and existing volumes with the data read
back over NBD, snapshot backups, volumes from backups (Cinder 3.47, EVS),
updates, records exported and imported, reset status, and
`platter admin backup-check`."""

import json
import hashlib
import os
import subprocess

import pytest

from conftest import openstack, platter_binary, run, wait_for
from test_cinder_admin_cli import cinder
from test_replication import with_nbd


@pytest.fixture(autouse=True, scope="module")
def room(platter):
    """Room for every test's volumes (the default quota is Cinder's 10)."""
    run(["openstack", "quota", "set", "--volumes", "100", "--gigabytes", "1000", "admin"],
        platter.env())


def repository_chunks(platter):
    root = os.path.join(platter.data_dir, "backups", "chunks")
    return sum(len(files) for _, _, files in os.walk(root))


def test_full_and_incremental_backups(platter):
    env = platter.env()
    c = cinder(platter, version="3.54")
    v = openstack(env, "volume", "create", "--size", "1", "bk-src")
    wait_for(lambda: openstack(env, "volume", "show", v["id"])["status"], "available")
    with_nbd(c, v["id"], "write -P 0x11 0 8M", "write -P 0x22 512M 4M", "flush")

    full = openstack(env, "volume", "backup", "create", "--name", "full", v["id"])
    wait_for(lambda: openstack(env, "volume", "backup", "show", full["id"])["status"], "available")
    shown = openstack(env, "volume", "backup", "show", full["id"])
    assert shown["is_incremental"] is False and shown["size"] == 1
    assert shown["object_count"] == 12, shown  # 12 MiB of data, 1 MiB chunks
    assert repository_chunks(platter) == 2  # two distinct patterns of chunk
    assert openstack(env, "volume", "show", v["id"])["status"] == "available"

    # One chunk changes: the incremental backup reads and stores only it.
    with_nbd(c, v["id"], "write -P 0x33 4M 4K", "flush")
    inc = openstack(env, "volume", "backup", "create", "--incremental", "--name", "inc", v["id"])
    wait_for(lambda: openstack(env, "volume", "backup", "show", inc["id"])["status"], "available")
    shown = openstack(env, "volume", "backup", "show", inc["id"])
    assert shown["is_incremental"] is True and shown["object_count"] == 12
    assert repository_chunks(platter) == 3
    assert openstack(env, "volume", "backup", "show", full["id"])["has_dependent_backups"] is True

    listed = {b["Name"] for b in openstack(env, "volume", "backup", "list")}
    assert {"full", "inc"} <= listed
    limits = {lim.name: lim.value for lim in c.limits.get().absolute}
    assert limits["totalBackupsUsed"] == 2 and limits["totalBackupGigabytesUsed"] == 2

    # The parent is not deleted while the incremental builds on it.
    code, _, err = run(["openstack", "volume", "backup", "delete", "full"], env, check=False)
    assert code != 0 and "Incremental backups exist" in err, err
    run(["openstack", "volume", "backup", "delete", "inc"], env)
    wait_for(lambda: [b["Name"] for b in openstack(env, "volume", "backup", "list")
                      if b["Name"] == "inc"], [])
    assert repository_chunks(platter) == 2, "the incremental's own chunk is collected"
    run(["openstack", "volume", "backup", "delete", "full"], env)
    wait_for(lambda: [b["Name"] for b in openstack(env, "volume", "backup", "list")
                      if b["Name"] == "full"], [])
    assert repository_chunks(platter) == 0

    # An incremental backup without a full one: 400.
    code, _, err = run(["openstack", "volume", "backup", "create", "--incremental", v["id"]], env,
                       check=False)
    assert code != 0 and "No backups available" in err, err


def backup_available(env, backup_id):
    wait_for(lambda: openstack(env, "volume", "backup", "show", backup_id)["status"], "available")


def volume_available(env, volume_id):
    wait_for(lambda: openstack(env, "volume", "show", volume_id)["status"], "available")


def test_restores_write_the_backed_up_bytes_and_metadata(platter):
    env = platter.env()
    c = cinder(platter, version="3.64")
    v = openstack(env, "volume", "create", "--size", "1", "--property", "tier=gold",
                  "--property", "owner=ops", "rs-src")
    volume_available(env, v["id"])
    with_nbd(c, v["id"], "write -P 0x41 0 2M", "write -P 0x42 1020M 1M", "flush")
    b = openstack(env, "volume", "backup", "create", "--name", "rs-full", v["id"])
    backup_available(env, b["id"])
    # Newer bytes on the source: a restore brings back the backup's.
    with_nbd(c, v["id"], "write -P 0x43 0 1M", "flush")

    # Into a new volume, named by the restore.
    r = openstack(env, "volume", "backup", "restore", b["id"], "rs-new")
    assert r["id"] == b["id"] and r["volume_name"] == "rs-new", r
    volume_available(env, r["volume_id"])
    backup_available(env, b["id"])
    new = openstack(env, "volume", "show", r["volume_id"])
    assert new["size"] == 1
    props = new["properties"]
    assert props.get("tier") == "gold" and props.get("owner") == "ops", props
    with_nbd(c, r["volume_id"], "read -P 0x41 0 2M", "read -P 0 2M 1M", "read -P 0x42 1020M 1M")

    # Onto an existing, larger volume: its bytes past the backup stay.
    t = openstack(env, "volume", "create", "--size", "2", "rs-target")
    volume_available(env, t["id"])
    with_nbd(c, t["id"], "write -P 0x77 0 4M", "write -P 0x78 1500M 1M", "flush")
    r = openstack(env, "volume", "backup", "restore", "--force", b["id"], t["id"])
    assert r["volume_id"] == t["id"], r
    volume_available(env, t["id"])
    with_nbd(c, t["id"], "read -P 0x41 0 2M", "read -P 0 2M 2M", "read -P 0x78 1500M 1M")

    # Refusals: a volume too small, or not available; an unknown backup.
    small = c.volumes.create(1, name="rs-small")
    wait_for(lambda: c.volumes.get(small.id).status, "available")
    big = openstack(env, "volume", "create", "--size", "2", "rs-big")
    volume_available(env, big["id"])
    bb = openstack(env, "volume", "backup", "create", big["id"])
    backup_available(env, bb["id"])
    code, _, err = run(["openstack", "volume", "backup", "restore", "--force", bb["id"], small.id],
                       env, check=False)
    assert code != 0 and "too small" in err, err
    assert c.volumes.get(small.id).status == "available"
    code, _, err = run(["openstack", "volume", "backup", "restore", "no-such-backup"], env,
                       check=False)
    assert code != 0, err


def test_snapshot_backups_and_volumes_from_backups(platter):
    env = platter.env()
    c = cinder(platter, version="3.47")
    v = openstack(env, "volume", "create", "--size", "1", "sb-src")
    volume_available(env, v["id"])
    with_nbd(c, v["id"], "write -P 0x51 0 1M", "flush")
    s = openstack(env, "volume", "snapshot", "create", "--volume", v["id"], "sb-snap")
    wait_for(lambda: openstack(env, "volume", "snapshot", "show", s["id"])["status"], "available")
    with_nbd(c, v["id"], "write -P 0x52 0 1M", "flush")

    b = openstack(env, "volume", "backup", "create", "--snapshot", s["id"], "--name", "sb",
                  v["id"])
    backup_available(env, b["id"])
    shown = openstack(env, "volume", "backup", "show", b["id"])
    assert shown["snapshot_id"] == s["id"] and shown["volume_id"] == v["id"], shown
    assert openstack(env, "volume", "snapshot", "show", s["id"])["status"] == "available"
    # The snapshot may go: the backup keeps its own copy of the data.
    run(["openstack", "volume", "snapshot", "delete", s["id"]], env)
    wait_for(lambda: [x for x in openstack(env, "volume", "snapshot", "list")
                      if x["ID"] == s["id"]], [])

    # Cinder 3.47: a volume created from a backup holds its bytes.
    nv = c.volumes.create(1, name="from-backup", backup_id=b["id"])
    wait_for(lambda: c.volumes.get(nv.id).status, "available")
    with_nbd(c, nv.id, "read -P 0x51 0 1M")
    assert openstack(env, "volume", "backup", "show", b["id"])["status"] == "available"
    # A backup of another volume's snapshot: refused.
    other = openstack(env, "volume", "create", "--size", "1", "sb-other")
    volume_available(env, other["id"])
    s2 = openstack(env, "volume", "snapshot", "create", "--volume", other["id"], "sb-snap2")
    wait_for(lambda: openstack(env, "volume", "snapshot", "show", s2["id"])["status"],
             "available")
    code, _, err = run(["openstack", "volume", "backup", "create", "--snapshot", s2["id"],
                        v["id"]], env, check=False)
    assert code != 0 and "not a snapshot of volume" in err, err


def test_update_export_import_reset_and_check(platter):
    env = platter.env()
    c = cinder(platter, version="3.64")
    v = openstack(env, "volume", "create", "--size", "1", "ex-src")
    volume_available(env, v["id"])
    with_nbd(c, v["id"], "write -P 0x61 0 3M", "flush")
    b = openstack(env, "volume", "backup", "create", "--name", "ex", v["id"])
    backup_available(env, b["id"])

    # Update (3.9), with metadata (3.43).
    c.backups.update(b["id"], name="ex-renamed", description="kept", metadata={"k": "v"})
    got = c.backups.get(b["id"])
    assert (got.name, got.description, got.metadata) == ("ex-renamed", "kept", {"k": "v"})
    assert got.encryption_key_id is None

    # Export, then import under a new id: both name the same chunks.
    record = c.backups.export_record(b["id"])
    assert record["backup_service"].startswith("cinder.backup.drivers"), record
    import base64
    data = json.loads(base64.b64decode(record["backup_url"]))
    assert data["id"] == b["id"] and data["size"] == 1
    import uuid
    data["id"] = str(uuid.uuid4())
    url = base64.b64encode(json.dumps(data).encode()).decode()
    imported = c.backups.import_record(record["backup_service"], url)
    assert imported["id"] == data["id"]
    assert c.backups.get(data["id"]).status == "available"
    # The same record again: 400; a record naming a chunk not held: 400.
    code, _, err = run(["cinder", "backup-import", record["backup_service"], url], env,
                       check=False)
    assert code != 0 and "already exists" in err, err
    data2 = dict(data, id=str(uuid.uuid4()))
    data2["manifest"] = dict(data["manifest"], chunks=["ab" * 32] + data["manifest"]["chunks"][1:])
    bad = base64.b64encode(json.dumps(data2).encode()).decode()
    code, _, err = run(["cinder", "backup-import", record["backup_service"], bad], env,
                       check=False)
    assert code != 0 and "missing" in err, err
    assert data2["id"] not in [x.id for x in c.backups.list()], "a refused import leaves no row"

    # Deleting the original keeps the imported backup whole.
    c.backups.delete(b["id"])
    wait_for(lambda: [x.id for x in c.backups.list() if x.id == b["id"]], [])
    r = c.restores.restore(data["id"], name="from-import")
    wait_for(lambda: c.volumes.get(r.volume_id).status, "available")
    with_nbd(c, r.volume_id, "read -P 0x61 0 3M")

    # Reset status (admin): error, then available again.
    run(["openstack", "volume", "backup", "set", "--state", "error", data["id"]], env)
    assert c.backups.get(data["id"]).status == "error"
    run(["openstack", "volume", "backup", "set", "--state", "available", data["id"]], env)
    assert c.backups.get(data["id"]).status == "available"

    # Paging: sorted by name, one at a time through the marker, counted (3.45).
    c45 = cinder(platter, version="3.45")
    names = sorted(b.name or "" for b in c45.backups.list())
    assert [b.name or "" for b in c45.backups.list(sort="name:asc")] == names
    first = c45.backups.list(limit=1, sort="name:asc")
    second = c45.backups.list(limit=1, marker=first[0].id, sort="name:asc")
    assert len(first) == len(second) == 1 and second[0].name == names[1]
    listed = c45.client.get("/backups?with_count=true")[1]
    assert listed["count"] == len(names)
    code, _, err = run(["cinder", "backup-list", "--marker", "no-such-marker"], env, check=False)
    assert code != 0 and "could not be found" in err, err

    # The repository checks clean; a corrupted chunk is found.
    check = [platter_binary(), "admin", "--data-dir", platter.data_dir, "backup-check"]
    out = subprocess.run(check, capture_output=True, text=True)
    assert out.returncode == 0 and "0 problems" in out.stdout, out.stdout + out.stderr
    root = os.path.join(platter.data_dir, "backups", "chunks")
    victim = next(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)
    with open(victim, "r+b") as f:
        f.seek(0)
        f.write(b"\xff\xff\xff\xff")
    out = subprocess.run(check, capture_output=True, text=True)
    assert out.returncode != 0 and "corrupt" in out.stdout, out.stdout + out.stderr


def test_round_trip_by_sha256_and_a_one_percent_incremental(platter, tmp_path):
    """Issue 11's acceptance with independent tools: a 1 GiB volume of
    random bytes written and read with nbdcopy; backup, write over the
    volume, restore: the original bytes. Changing 1% of it (ten 1 MiB
    pieces written with qemu-io) makes an incremental backup store about
    1% new chunks."""
    from test_images import read_volume, sha256
    env = platter.env()
    c = cinder(platter, version="3.54")
    v = openstack(env, "volume", "create", "--size", "1", "rt-src")
    volume_available(env, v["id"])
    original = tmp_path / "original.raw"
    with open(original, "wb") as f:
        for _ in range(1024):
            f.write(os.urandom(1 << 20))
    att = c.attachments.create(v["id"], {"host": "rt", "ip": "127.0.0.1", "initiator": None},
                               mode="rw")
    uri = att["connection_info"]["data"]["uri"]
    run(["nbdcopy", str(original), uri], {})
    c.attachments.delete(att["id"])
    volume_available(env, v["id"])

    full = openstack(env, "volume", "backup", "create", "--name", "rt-full", v["id"])
    backup_available(env, full["id"])
    before = repository_chunks(platter)

    # 1%: ten 1 MiB pieces of distinct bytes, spread over the volume. The
    # expected bytes are hashed as they stream, not written out: CI's disk
    # is small.
    pieces = {(k * 101 + 7): bytes([0x10 + k]) * (1 << 20) for k in range(10)}
    writes = [f"write -P {p[0]} {mib << 20} 1M" for mib, p in pieces.items()]
    expected = hashlib.sha256()
    with open(original, "rb") as f:
        for mib in range(1024):
            chunk = f.read(1 << 20)
            expected.update(pieces.get(mib, chunk))
    changed = expected.hexdigest()
    with_nbd(c, v["id"], *writes, "flush")
    inc = openstack(env, "volume", "backup", "create", "--incremental", "--name", "rt-inc",
                    v["id"])
    backup_available(env, inc["id"])
    new = repository_chunks(platter) - before
    print(f"\nincremental after changing 1% of a 1 GiB volume: {new} new chunks of 1024 "
          f"({new / 1024:.2%})")
    assert 10 <= new <= 12, new

    # Write over the volume, then restore each backup and read it back.
    with_nbd(c, v["id"], "write -P 0xee 0 1G", "flush")
    openstack(env, "volume", "backup", "restore", "--force", inc["id"], v["id"])
    volume_available(env, v["id"])
    got = tmp_path / "got.raw"
    read_volume(c, v["id"], str(got))
    assert sha256(got) == changed
    os.unlink(got)
    r = openstack(env, "volume", "backup", "restore", full["id"], "rt-restored")
    volume_available(env, r["volume_id"])
    read_volume(c, r["volume_id"], str(got))
    assert sha256(got) == sha256(original)
    os.unlink(got)
    os.unlink(original)

    # Refused: a restore onto an in-use volume; a backup over quota.
    att = c.attachments.create(v["id"], {"host": "rt", "ip": "127.0.0.1", "initiator": None},
                               mode="rw")
    code, _, err = run(["openstack", "volume", "backup", "restore", "--force", full["id"],
                        v["id"]], env, check=False)
    assert code != 0 and "must be available" in err, err
    c.attachments.delete(att["id"])
    volume_available(env, v["id"])
    used = len(c.backups.list())
    run(["openstack", "quota", "set", "--backups", str(used), "admin"], env)
    try:
        code, _, err = run(["openstack", "volume", "backup", "create", v["id"]], env,
                           check=False)
        assert code != 0 and "413" in err, err
        assert len(c.backups.list()) == used, "nothing half-made"
    finally:
        run(["openstack", "quota", "set", "--backups", "100", "admin"], env)
