"""Replicated volumes through python-cinderclient and the `openstack` CLI,
on a server with two pools: a type with `replication_enabled`, a volume
written over NBD, `os-promote-replica` and `os-reenable-replica` (the
seed's two replication actions), and the data read back from each new
primary with qemu-io."""

import pytest

from conftest import openstack, run, serving, wait_for
from test_cinder_admin_cli import cinder

TWO_POOLS = """
[[pools]]
name = "east"
backend = "engine"
path = "east"

[[pools]]
name = "west"
backend = "engine"
path = "west"
"""

CONNECTOR = {"host": "client-host", "ip": "127.0.0.1", "initiator": None}


@pytest.fixture(scope="module")
def two_pools():
    yield from serving(TWO_POOLS)


def with_nbd(c, volume_id, *commands):
    """Attaches the volume, runs qemu-io commands on its export, detaches."""
    att = c.attachments.create(volume_id, CONNECTOR, mode="rw")
    uri = att["connection_info"]["data"]["uri"]
    args = ["qemu-io", "-f", "raw"]
    for cmd in commands:
        args += ["-c", cmd]
    _, out, err = run(args + [uri], {})
    assert "Pattern verification failed" not in out + err, out + err
    c.attachments.delete(att["id"])
    wait_for(lambda: c.volumes.get(volume_id).status, "available")


def host(c, volume_id):
    return getattr(c.volumes.get(volume_id), "os-vol-host-attr:host")


def test_promote_and_reenable_keep_the_data(two_pools):
    env = two_pools.env()
    t = openstack(env, "volume", "type", "create", "--property",
                  "replication_enabled=<is> True", "gold-replicated")
    assert t["name"] == "gold-replicated"
    v = openstack(env, "volume", "create", "--size", "1", "--type", "gold-replicated", "rv")
    wait_for(lambda: openstack(env, "volume", "show", "rv")["status"], "available")
    shown = openstack(env, "volume", "show", "rv")
    assert shown["replication_status"] == "active"
    assert shown["os-vol-host-attr:host"] == "platter@east#east"

    c = cinder(two_pools, version="3.54")
    vid = v["id"]
    with_nbd(c, vid, "write -P 0x61 0 1M", "write -P 0x62 1023M 1M", "flush")

    # The replica in west becomes the primary, holding what was written.
    c.volumes._action("os-promote-replica", vid)
    assert host(c, vid) == "platter@west#west"
    assert c.volumes.get(vid).replication_status == "inactive"
    with_nbd(c, vid, "read -P 0x61 0 1M", "read -P 0x62 1023M 1M", "write -P 0x63 4M 1M", "flush")

    # Promoting a stale replica is refused with Cinder's 400.
    from cinderclient import exceptions
    with pytest.raises(exceptions.BadRequest) as e:
        c.volumes._action("os-promote-replica", vid)
    assert "must be active" in str(e.value)

    # Re-enabled: east is made again from west, then promoted back.
    c.volumes._action("os-reenable-replica", vid)
    wait_for(lambda: c.volumes.get(vid).replication_status, "active")
    wait_for(lambda: c.volumes.get(vid).status, "available")
    c.volumes._action("os-promote-replica", vid)
    assert host(c, vid) == "platter@east#east"
    with_nbd(c, vid, "read -P 0x61 0 1M", "read -P 0x63 4M 1M", "read -P 0x62 1023M 1M")

    # Deleting it removes both copies.
    run(["openstack", "volume", "delete", "rv"], env)
    wait_for(lambda: [x["Name"] for x in openstack(env, "volume", "list")], [])
