"""Cinder backups through the `openstack` CLI and python-cinderclient: a
full backup, an incremental one after a small change, their views, quota
usage, and deletes (the parent only after its incremental). Restores come
with the next part of issue 11."""

import os

from conftest import openstack, run, wait_for
from test_cinder_admin_cli import cinder
from test_replication import with_nbd


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
