"""The acceptance flow with openstacksdk's block-storage proxy."""

import openstack

from conftest import ADMIN_PASSWORD, wait_for


def test_sdk_volume_snapshot_clone_extend_delete(platter):
    conn = openstack.connect(
        auth_url=f"{platter.identity_url}/v3", username="admin", password=ADMIN_PASSWORD,
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne")
    bs = conn.block_storage

    vol = bs.create_volume(size=1, name="sdk1")
    vol = bs.wait_for_status(vol, status="available", failures=["error"], interval=0.3, wait=60)
    assert vol.size == 1 and vol.name == "sdk1"

    snap = bs.create_snapshot(volume_id=vol.id, name="sdksnap")
    snap = bs.wait_for_status(snap, status="available", failures=["error"], interval=0.3, wait=60)
    assert snap.volume_id == vol.id and snap.size == 1

    clone = bs.create_volume(snapshot_id=snap.id, name="sdkclone")
    clone = bs.wait_for_status(clone, status="available", failures=["error"], interval=0.3, wait=60)
    assert clone.snapshot_id == snap.id

    bs.extend_volume(clone, 2)
    # wait_for_status trusts the cached "available" of `clone`: poll afresh.
    wait_for(lambda: (bs.get_volume(clone.id).status, bs.get_volume(clone.id).size), ("available", 2))

    names = sorted(v.name for v in bs.volumes(details=True))
    assert names == ["sdk1", "sdkclone"]
    types = sorted(t.name for t in bs.types())
    assert "SSD" in types and "GPSSD2" in types

    bs.delete_volume(clone)
    bs.wait_for_delete(clone, interval=0.3, wait=60)
    bs.delete_snapshot(snap)
    bs.wait_for_delete(snap, interval=0.3, wait=60)
    bs.delete_volume(vol)
    bs.wait_for_delete(vol, interval=0.3, wait=60)
    assert list(bs.volumes()) == []
