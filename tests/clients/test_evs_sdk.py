"""The EVS API driven by Huawei's official SDK (`huaweicloudsdkevs`), signed
with AK/SK (`BasicCredentials`), against a real server; plus the same
volumes seen through the `openstack` CLI (Cinder)."""

import re
import time
import uuid

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkevs.v2 import EvsClient
from huaweicloudsdkevs.v2 import model as m

from conftest import openstack, platter_binary, run
from test_aksk import admin_keys, admin_project_id, signed

# A response field of the wrong type makes the SDK warn; here it fails.
pytestmark = pytest.mark.filterwarnings("error::huaweicloudsdkcore.warning.warning.TypeConversionWarning")

AZ = "nova"


@pytest.fixture(scope="module")
def keys(platter):
    ak, sk, _ = admin_keys(platter)
    project_id = admin_project_id(platter)
    # Room for every test's volumes (the default quota is Cinder's 10).
    run(["openstack", "quota", "set", "--volumes", "200", "--snapshots", "100",
         "--gigabytes", "100000", project_id], platter.env())
    return ak, sk, project_id


def client_for(platter, ak, sk, project_id):
    return (EvsClient.new_builder()
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([platter.volume_url])
            .build())


@pytest.fixture(scope="module")
def evs(platter, keys):
    return client_for(platter, *keys)


def fails(call, status, code):
    """Runs `call`, which must be refused with `status` and EVS `code`."""
    with pytest.raises(ClientRequestException) as e:
        call()
    assert (e.value.status_code, e.value.error_code) == (status, code), e.value
    return e.value


def wait_job(evs, job_id, timeout=60):
    deadline = time.time() + timeout
    while True:
        job = evs.show_job(m.ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            return job
        assert job.status in ("INIT", "RUNNING"), job
        assert time.time() < deadline, f"job {job_id} still {job.status}"
        time.sleep(0.2)


def wait_volume(evs, volume_id, status, timeout=60):
    deadline = time.time() + timeout
    while True:
        v = evs.show_volume(m.ShowVolumeRequest(volume_id=volume_id)).volume
        if v.status == status:
            return v
        assert not v.status.startswith("error"), v.status
        assert time.time() < deadline, f"volume {volume_id} still {v.status}"
        time.sleep(0.2)


def wait_snapshot(evs, snapshot_id, status, timeout=60):
    deadline = time.time() + timeout
    while True:
        s = evs.show_snapshot(m.ShowSnapshotRequest(snapshot_id=snapshot_id)).snapshot
        if s.status == status:
            return s
        assert time.time() < deadline, f"snapshot {snapshot_id} still {s.status}"
        time.sleep(0.2)


def create(evs, token=None, bss=None, **volume):
    volume.setdefault("availability_zone", AZ)
    volume.setdefault("volume_type", "SAS")
    volume.setdefault("size", 10)
    body = m.CreateVolumeRequestBody(volume=m.CreateVolumeOption(**volume), bss_param=bss)
    return evs.create_volume(m.CreateVolumeRequest(body=body, x_client_token=token))


def test_versions(evs):
    ids = [v.id for v in evs.list_versions(m.ListVersionsRequest()).versions]
    assert ids == ["v1.0", "v2.0", "v3.0"]
    one = evs.show_version(m.ShowVersionRequest(version="v2")).versions
    assert [v.id for v in one] == ["v2.0"]
    # The Cinder calls of the same SDK, on the same endpoint.
    zones = evs.cinder_list_availability_zones(m.CinderListAvailabilityZonesRequest()).availability_zone_info
    assert [z.zone_name for z in zones] == [AZ] and zones[0].zone_state.available is True
    types = {t.name for t in evs.cinder_list_volume_types(m.CinderListVolumeTypesRequest()).volume_types}
    assert {"SATA", "SAS", "SSD", "GPSSD", "ESSD", "GPSSD2", "ESSD2"} <= types


def test_batch_create_job_list_show_update_and_cinder_view(platter, evs):
    out = create(evs, name="batch", count=3, metadata={"purpose": "sdk"},
                 description="three at once", tags={"team": "storage"})
    assert len(out.volume_ids) == 3 and out.job_id
    job = wait_job(evs, out.job_id)
    assert job.status == "SUCCESS" and job.job_type == "batchCreateVolume"
    subs = job.entities.sub_jobs
    assert sorted(s.entities.volume_id for s in subs) == sorted(out.volume_ids)
    assert all(s.status == "SUCCESS" and s.job_type == "createVolume" for s in subs)
    assert job.begin_time.endswith("Z") and job.end_time.endswith("Z")

    listed = evs.list_volumes(m.ListVolumesRequest(ids=str(out.volume_ids), sort_key="name", sort_dir="asc"))
    assert listed.count == 3
    assert [v.name for v in listed.volumes] == ["batch-0001", "batch-0002", "batch-0003"]
    assert all(v.status == "available" and v.size == 10 and v.volume_type == "SAS" for v in listed.volumes)
    assert all(v.tags == {"team": "storage"} and v.enterprise_project_id == "0" for v in listed.volumes)

    # Paging: count is the total, the page is limit long, then the rest.
    page1 = evs.list_volumes(m.ListVolumesRequest(name="batch-0002"))
    assert page1.count == 1 and page1.volumes[0].id in out.volume_ids
    first = evs.list_volumes(m.ListVolumesRequest(limit=2, sort_key="name", sort_dir="asc", metadata='{"purpose": "sdk"}'))
    assert first.count == 3 and len(first.volumes) == 2 and first.volumes_links
    rest = evs.list_volumes(m.ListVolumesRequest(limit=2, sort_key="name", sort_dir="asc",
                                                 marker=first.volumes[-1].id, metadata='{"purpose": "sdk"}'))
    assert [v.name for v in rest.volumes] == ["batch-0003"]
    offset = evs.list_volumes(m.ListVolumesRequest(offset=1, limit=1, sort_key="name", sort_dir="asc",
                                                   metadata='{"purpose": "sdk"}'))
    assert [v.name for v in offset.volumes] == ["batch-0002"]

    vid = out.volume_ids[0]
    shown = evs.show_volume(m.ShowVolumeRequest(volume_id=vid)).volume
    assert shown.metadata == {"purpose": "sdk"} and shown.bootable == "false" and shown.multiattach is False

    updated = evs.update_volume(m.UpdateVolumeRequest(volume_id=vid, body=m.UpdateVolumeRequestBody(
        volume=m.UpdateVolumeOption(name="renamed", description="by the sdk"))))
    assert (updated.id, updated.name, updated.description) == (vid, "renamed", "by the sdk")

    # The same volume through Cinder: same id, size, status and metadata.
    env = platter.env()
    cinder = openstack(env, "volume", "show", vid)
    assert (cinder["id"], cinder["size"], cinder["status"], cinder["name"]) == (vid, 10, "available", "renamed")
    assert cinder["properties"] == {"purpose": "sdk"}

    # And a Cinder-made volume through EVS.
    made = openstack(env, "volume", "create", "--size", "2", "--property", "origin=cinder", "from-cinder")
    seen = wait_volume(evs, made["id"], "available")
    assert (seen.id, seen.size, seen.name, seen.metadata) == (made["id"], 2, "from-cinder", {"origin": "cinder"})


def test_extend_batch_extend_retype_and_qos(evs):
    out = create(evs, name="grow", count=2, volume_type="SAS")
    wait_job(evs, out.job_id)
    a, b = out.volume_ids
    r = evs.resize_volume(m.ResizeVolumeRequest(volume_id=a, body=m.ResizeVolumeRequestBody(
        os_extend=m.OsExtend(new_size=20))))
    job = wait_job(evs, r.job_id)
    assert (job.status, job.job_type) == ("SUCCESS", "extendVolume")
    assert wait_volume(evs, a, "available").size == 20
    fails(lambda: evs.resize_volume(m.ResizeVolumeRequest(volume_id=a, body=m.ResizeVolumeRequestBody(
        os_extend=m.OsExtend(new_size=15)))), 400, "EVS.1015")

    r = evs.batch_resize_volumes(m.BatchResizeVolumesRequest(body=m.BatchResizeVolumeRequestBody(
        volumes=[m.VolumesForBatchResizeVolume(id=a, new_size=30), m.VolumesForBatchResizeVolume(id=b, new_size=40)])))
    job = wait_job(evs, r.job_id)
    assert job.status == "SUCCESS" and len(job.entities.sub_jobs) == 2
    assert [wait_volume(evs, x, "available").size for x in (a, b)] == [30, 40]
    too_many = [m.VolumesForBatchResizeVolume(id=a, new_size=50)] * 51
    fails(lambda: evs.batch_resize_volumes(m.BatchResizeVolumesRequest(
        body=m.BatchResizeVolumeRequestBody(volumes=too_many))), 400, "EVS.2238")

    # Retype: SAS to SSD is allowed, back to SAS is not.
    r = evs.retype_volume(m.RetypeVolumeRequest(volume_id=a, body=m.RetypeVolumeRequestBody(
        os_retype=m.RetypeVolume(new_type="SSD"))))
    job = wait_job(evs, r.job_id)
    assert (job.status, job.job_type) == ("SUCCESS", "retypeVolume")
    assert wait_volume(evs, a, "available").volume_type == "SSD"
    fails(lambda: evs.retype_volume(m.RetypeVolumeRequest(volume_id=a, body=m.RetypeVolumeRequestBody(
        os_retype=m.RetypeVolume(new_type="SAS")))), 400, "EVS.2087")
    fails(lambda: evs.retype_volume(m.RetypeVolumeRequest(volume_id=a, body=m.RetypeVolumeRequestBody(
        os_retype=m.RetypeVolume(new_type="GPSSD2")))), 400, "EVS.2233")
    r = evs.retype_volume(m.RetypeVolumeRequest(volume_id=a, body=m.RetypeVolumeRequestBody(
        os_retype=m.RetypeVolume(new_type="GPSSD2", iops=4000, throughput=150))))
    wait_job(evs, r.job_id)
    v = wait_volume(evs, a, "available")
    assert (v.volume_type, v.iops.total_val, v.throughput.total_val) == ("GPSSD2", 4000, 150)

    # QoS: GPSSD2 changes iops and throughput; SAS has none; ranges hold.
    r = evs.modify_volume_qo_s(m.ModifyVolumeQoSRequest(volume_id=a, body=m.ModifyVolumeQoSRequestBody(
        qos_modify=m.ModifyVolumeQoSOption(iops=9000, throughput=300))))
    assert wait_job(evs, r.job_id).status == "SUCCESS"
    v = evs.show_volume(m.ShowVolumeRequest(volume_id=a)).volume
    assert (v.iops.total_val, v.throughput.total_val) == (9000, 300)
    fails(lambda: evs.modify_volume_qo_s(m.ModifyVolumeQoSRequest(volume_id=b, body=m.ModifyVolumeQoSRequestBody(
        qos_modify=m.ModifyVolumeQoSOption(iops=9000)))), 400, "EVS.2234")
    fails(lambda: evs.modify_volume_qo_s(m.ModifyVolumeQoSRequest(volume_id=a, body=m.ModifyVolumeQoSRequestBody(
        qos_modify=m.ModifyVolumeQoSOption(iops=10, throughput=300)))), 400, "EVS.2231")

    # ESSD2: iops only.
    e = create(evs, name="essd2", volume_type="ESSD2", iops=2000)
    wait_job(evs, e.job_id)
    assert wait_volume(evs, e.volume_ids[0], "available").iops.total_val == 2000
    fails(lambda: create(evs, volume_type="ESSD2", iops=2000, throughput=100), 400, "EVS.2232")
    fails(lambda: create(evs, volume_type="SAS", iops=2000), 400, "EVS.2235")


def test_tags(evs):
    out = create(evs, name="tagged", count=2, tags={"env": "prod"})
    wait_job(evs, out.job_id)
    a, b = out.volume_ids
    evs.batch_create_volume_tags(m.BatchCreateVolumeTagsRequest(volume_id=a, body=m.BatchCreateVolumeTagsRequestBody(
        action="create", tags=[m.CreateResourceTag(key="app", value="db"), m.CreateResourceTag(key="env", value="test")])))
    tags = evs.show_volume_tags(m.ShowVolumeTagsRequest(volume_id=a)).tags
    assert sorted((t.key, t.value) for t in tags) == [("app", "db"), ("env", "test")]
    summary = evs.list_volume_tags(m.ListVolumeTagsRequest()).tags
    assert sorted(summary["env"]) == ["prod", "test"] and summary["app"] == ["db"]

    def by_tags(*tags, **kw):
        body = m.ListVolumesByTagsRequestBody(action="filter", tags=[m.TagsForListVolumes(key=k, values=v) for k, v in tags], **kw)
        return evs.list_volumes_by_tags(m.ListVolumesByTagsRequest(body=body))

    assert {r.resource_id for r in by_tags(("env", ["prod", "test"])).resources} >= {a, b}
    found = by_tags(("env", ["prod", "test"]), ("app", []))
    assert [r.resource_id for r in found.resources] == [a] and found.total_count == 1
    assert found.resources[0].resource_detail.id == a
    named = by_tags(("env", []), matches=[m.Match(key="resource_name", value="tagged-000")])
    assert named.total_count == 2
    assert by_tags(("env", ["nope"])).total_count == 0

    evs.batch_delete_volume_tags(m.BatchDeleteVolumeTagsRequest(volume_id=a, body=m.BatchDeleteVolumeTagsRequestBody(
        action="delete", tags=[m.DeleteTagsOption(key="app"), m.DeleteTagsOption(key="absent")])))
    assert [(t.key, t.value) for t in evs.show_volume_tags(m.ShowVolumeTagsRequest(volume_id=a)).tags] == [("env", "test")]

    eleven = [m.CreateResourceTag(key=f"k{i}", value="v") for i in range(11)]
    fails(lambda: evs.batch_create_volume_tags(m.BatchCreateVolumeTagsRequest(volume_id=b, body=m.BatchCreateVolumeTagsRequestBody(
        action="create", tags=eleven))), 400, "EVS.1061")
    fails(lambda: evs.batch_create_volume_tags(m.BatchCreateVolumeTagsRequest(volume_id=b, body=m.BatchCreateVolumeTagsRequestBody(
        action="create", tags=[m.CreateResourceTag(key="bad key!", value="v")]))), 400, "EVS.1062")


def test_quota_details(evs, keys):
    project_id = keys[2]
    q = evs.cinder_list_quotas(m.CinderListQuotasRequest(target_project_id=project_id, usage="True")).quota_set
    volumes = evs.list_volumes(m.ListVolumesRequest()).count
    assert q.id == project_id
    assert q.volumes.in_use == volumes and q.volumes.limit == 200 and q.volumes.reserved == 0
    sas = evs.list_volumes(m.ListVolumesRequest()).volumes
    assert q.volumes_sas.in_use == sum(1 for v in sas if v.volume_type == "SAS")
    assert q.gigabytes.in_use >= sum(v.size for v in sas)
    assert q.volumes_ssd.limit == -1


def test_snapshots_and_rollback(evs):
    out = create(evs, name="snapped")
    wait_job(evs, out.job_id)
    vid = out.volume_ids[0]
    snap = evs.create_snapshot(m.CreateSnapshotRequest(body=m.CreateSnapshotRequestBody(snapshot=m.CreateSnapshotOption(
        volume_id=vid, name="snap-001", description="Daily backup", metadata={"k": "v"})))).snapshot
    assert snap.status == "creating" and snap.volume_id == vid
    wait_snapshot(evs, snap.id, "available")
    listed = evs.list_snapshots(m.ListSnapshotsRequest(volume_id=vid))
    assert listed.count == 1 and listed.snapshots[0].id == snap.id and listed.snapshots[0].metadata == {"k": "v"}
    upd = evs.update_snapshot(m.UpdateSnapshotRequest(snapshot_id=snap.id, body=m.UpdateSnapshotRequestBody(
        snapshot=m.UpdateSnapshotOption(name="snap-002", description="renamed")))).snapshot
    assert (upd.name, upd.description) == ("snap-002", "renamed")

    r = evs.rollback_snapshot(m.RollbackSnapshotRequest(snapshot_id=snap.id, body=m.RollbackSnapshotRequestBody(
        rollback=m.RollbackSnapshotOption(volume_id=vid))))
    assert r.rollback.volume_id == vid
    wait_volume(evs, vid, "available")
    other = create(evs, name="other")
    wait_job(evs, other.job_id)
    fails(lambda: evs.rollback_snapshot(m.RollbackSnapshotRequest(snapshot_id=snap.id, body=m.RollbackSnapshotRequestBody(
        rollback=m.RollbackSnapshotOption(volume_id=other.volume_ids[0])))), 400, "EVS.5400")

    evs.delete_snapshot(m.DeleteSnapshotRequest(snapshot_id=snap.id))
    deadline = time.time() + 30
    while evs.list_snapshots(m.ListSnapshotsRequest(volume_id=vid)).count:
        assert time.time() < deadline
        time.sleep(0.2)


def test_v5_standard_snapshots(evs):
    out = create(evs, name="v5-source")
    wait_job(evs, out.job_id)
    vid = out.volume_ids[0]
    r = evs.create_standard_snapshot(m.CreateStandardSnapshotRequest(body=m.CreateStandardSnapshotRequestBody(
        snapshot=m.CreateStandardSnapshot(volume_id=vid, name="std", description="v5", tags={"tier": "gold"}))))
    assert wait_job(evs, r.job_id).status == "SUCCESS"
    shown = evs.show_standard_snapshot(m.ShowStandardSnapshotRequest(snapshot_id=r.snapshot_id)).snapshot
    assert (shown.id, shown.volume_id, shown.status, shown.category) == (r.snapshot_id, vid, "available", "standard")
    assert shown.tags == {"tier": "gold"} and shown.availability_zone == AZ and shown.enterprise_project_id == "0"
    listed = evs.list_snapshots_details(m.ListSnapshotsDetailsRequest(volume_id=vid)).snapshots
    assert [s.id for s in listed] == [r.snapshot_id]
    assert evs.list_snapshots_details(m.ListSnapshotsDetailsRequest(tag_key="tier")).snapshots
    updated = evs.update_standard_snapshot(m.UpdateStandardSnapshotRequest(snapshot_id=r.snapshot_id,
        body=m.UpdateSnapshotRequestBody(snapshot=m.CinderUpdateSnapshotOptionV5(name="std-2", instant_access=True))))
    assert (updated.snapshot.name, updated.snapshot.instant_access) == ("std-2", True)
    d = evs.delete_standard_snapshot(m.DeleteStandardSnapshotRequest(snapshot_id=r.snapshot_id))
    assert wait_job(evs, d.job_id).status == "SUCCESS"
    fails(lambda: evs.show_standard_snapshot(m.ShowStandardSnapshotRequest(snapshot_id=r.snapshot_id)), 404, "EVS.5404")


def test_delete_and_invalid_requests(evs):
    out = create(evs, name="doomed")
    wait_job(evs, out.job_id)
    vid = out.volume_ids[0]
    snap = evs.create_snapshot(m.CreateSnapshotRequest(body=m.CreateSnapshotRequestBody(
        snapshot=m.CreateSnapshotOption(volume_id=vid)))).snapshot
    wait_snapshot(evs, snap.id, "available")
    job = wait_job(evs, evs.delete_volume(m.DeleteVolumeRequest(volume_id=vid)).job_id)
    assert (job.status, job.job_type) == ("SUCCESS", "deleteVolume")
    fails(lambda: evs.show_volume(m.ShowVolumeRequest(volume_id=vid)), 404, "EVS.5404")
    fails(lambda: evs.show_snapshot(m.ShowSnapshotRequest(snapshot_id=snap.id)), 404, "EVS.5404")

    fails(lambda: create(evs, count=101), 400, "EVS.1021")
    fails(lambda: create(evs, snapshot_id=str(uuid.uuid4()), image_ref=str(uuid.uuid4())), 400, "EVS.1016")
    fails(lambda: create(evs, name="n" * 65), 400, "EVS.1003")
    fails(lambda: create(evs, description="d" * 86), 400, "EVS.1004")
    fails(lambda: create(evs, size=5), 400, "EVS.1010")
    fails(lambda: create(evs, size=40000), 400, "EVS.1010")
    fails(lambda: create(evs, volume_type="FLOPPY"), 400, "EVS.1020")
    fails(lambda: create(evs, availability_zone="mars"), 400, "EVS.1036")
    fails(lambda: create(evs, enterprise_project_id="not-an-ep"), 400, "EVS.2059")
    fails(lambda: evs.show_volume(m.ShowVolumeRequest(volume_id="not-a-uuid")), 400, "EVS.1002")
    fails(lambda: evs.show_volume(m.ShowVolumeRequest(volume_id=str(uuid.uuid4()))), 404, "EVS.5404")
    fails(lambda: evs.show_job(m.ShowJobRequest(job_id="ff8080816b512df7016b6ab8982b496b")), 400, "Common.0011")
    fails(lambda: evs.list_volumes(m.ListVolumesRequest(limit=1001)), 400, "EVS.2142")
    fails(lambda: evs.list_volumes(m.ListVolumesRequest(marker="nope")), 400, "EVS.1024")
    fails(lambda: evs.update_volume(m.UpdateVolumeRequest(volume_id=str(uuid.uuid4()), body=m.UpdateVolumeRequestBody(
        volume=m.UpdateVolumeOption()))), 400, "EVS.1007")


def test_idempotent_create(evs):
    token = str(uuid.uuid4())
    first = create(evs, token=token, name="once")
    again = create(evs, token=token, name="once")
    assert (again.job_id, again.volume_ids) == (first.job_id, first.volume_ids)
    wait_job(evs, first.job_id)
    assert evs.list_volumes(m.ListVolumesRequest(name="once")).count == 1
    fails(lambda: create(evs, token=token, name="twice"), 400, "EVS.2219")
    fails(lambda: create(evs, token="not-a-uuid", name="x"), 400, "EVS.2218")


def test_prepaid_volumes_are_orders(platter, evs):
    bss = m.BssParamForCreateVolume(charging_mode="prePaid", period_type="month", period_num=1,
                                    is_auto_pay="true", is_auto_renew="false")
    out = create(evs, name="yearly", bss=bss)
    assert out.order_id and re.fullmatch(r"CS\d{12}[A-Z]{5}", out.order_id) and not out.job_id
    vid = out.volume_ids[0]
    v = wait_volume(evs, vid, "available")
    assert v.metadata["orderID"] == out.order_id
    fails(lambda: evs.delete_volume(m.DeleteVolumeRequest(volume_id=vid)), 400, "EVS.1035")
    # The billing marker cannot be removed or forged through Cinder either.
    env = platter.env()
    code, _, err = run(["openstack", "volume", "unset", "--property", "orderID", vid], env, check=False)
    assert code != 0
    code, _, err = run(["openstack", "volume", "delete", vid], env, check=False)
    assert code != 0
    assert evs.show_volume(m.ShowVolumeRequest(volume_id=vid)).volume.metadata["orderID"] == out.order_id
    r = evs.resize_volume(m.ResizeVolumeRequest(volume_id=vid, body=m.ResizeVolumeRequestBody(
        os_extend=m.OsExtend(new_size=20), bss_param=m.BssParamForResizeVolume(is_auto_pay="true"))))
    assert r.order_id and not r.job_id
    assert wait_volume(evs, vid, "available").size == 20
    fails(lambda: create(evs, bss=m.BssParamForCreateVolume(charging_mode="prePaid", period_type="month", period_num=12)),
          400, "EVS.2147")

    on_demand = create(evs, name="on-demand")
    wait_job(evs, on_demand.job_id)
    res = evs.unsubscribe_postpaid_volume(m.UnsubscribePostpaidVolumeRequest(body=m.UnsubscribeVolumeRequestBody(
        volume_ids=[vid, on_demand.volume_ids[0]]))).body
    by_id = {r["volume_id"]: r for r in res["results"]}
    assert by_id[vid]["result"] == "SUCCESS" and by_id[vid]["order_id"].startswith("CS")
    assert by_id[on_demand.volume_ids[0]]["result"] == "FAIL"
    deadline = time.time() + 30
    while True:
        try:
            evs.show_volume(m.ShowVolumeRequest(volume_id=vid))
        except ClientRequestException as e:
            assert e.status_code == 404
            break
        assert time.time() < deadline
        time.sleep(0.2)
    fails(lambda: evs.unsubscribe_postpaid_volume(m.UnsubscribePostpaidVolumeRequest(body=m.UnsubscribeVolumeRequestBody(
        volume_ids=[str(uuid.uuid4())]))), 400, "EVS.2203")


def test_refused_signatures_never_reach_the_service(platter, evs, keys):
    ak, sk, project_id = keys
    before = evs.list_volumes(m.ListVolumesRequest()).count
    fails(lambda: create(client_for(platter, ak, "x" * 40, project_id), name="wrong-sk"), 401, "EVS.5401")
    fails(lambda: create(client_for(platter, "A" * 20, sk, project_id), name="unknown-ak"), 401, "EVS.5401")

    body = {"volume": {"availability_zone": AZ, "volume_type": "SAS", "size": 10, "name": "tampered"}}
    url, headers, data = signed(platter, ak, sk, project_id, "POST", f"/v2.1/{project_id}/cloudvolumes", body=body)
    r = requests.post(url, headers=headers, data=data.replace(b'"size": 10', b'"size": 90'), timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "EVS.5401"), r.text

    url, headers, data = signed(platter, ak, sk, project_id, "POST", f"/v2.1/{project_id}/cloudvolumes", body=body)
    stale = dict(headers, **{"X-Sdk-Date": "20200101T000000Z"})
    r = requests.post(url, headers=stale, data=data, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "EVS.5401"), r.text

    # The signed-for project must be the URL's.
    other = str(uuid.uuid4()).replace("-", "")
    url, headers, data = signed(platter, ak, sk, other, "GET", f"/v2/{other}/cloudvolumes/detail")
    r = requests.get(url, headers=headers, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "Common.0018"), r.text

    assert evs.list_volumes(m.ListVolumesRequest()).count == before


def test_legacy_and_v3_paths_tokens_and_enterprise_projects(platter, evs, keys):
    """The deprecated paths clients still call, signed by hand, and the same
    API with a Keystone token."""
    ak, sk, project_id = keys

    def call(method, path, body=None, query=None):
        url, headers, data = signed(platter, ak, sk, project_id, method, path, query=query, body=body)
        return requests.request(method, url, headers=headers, data=data or None, timeout=30)

    ep = str(uuid.uuid4())
    vol = {"availability_zone": AZ, "volume_type": "SAS", "size": 10, "name": "legacy",
           "enterprise_project_id": ep, "shareable": "true"}
    r = call("POST", f"/v2/{project_id}/cloudvolumes", {"volume": vol})
    assert r.status_code == 202, r.text
    legacy_id = r.json()["volume_ids"][0]
    assert wait_job(evs, r.json()["job_id"]).status == "SUCCESS"
    r = call("POST", f"/v3/{project_id}/cloudvolumes", {"volume": dict(vol, name="v3", shareable=None)})
    assert r.status_code == 200 and set(r.json()) == {"job_id"}, r.text
    v3_job = wait_job(evs, r.json()["job_id"])
    v3_id = v3_job.entities.volume_id

    # Enterprise projects: a filter, and all_granted_eps for every one.
    in_ep = evs.list_volumes(m.ListVolumesRequest(enterprise_project_id=ep))
    assert sorted(v.id for v in in_ep.volumes) == sorted([legacy_id, v3_id])
    everything = evs.list_volumes(m.ListVolumesRequest(enterprise_project_id="all_granted_eps")).count
    assert everything > in_ep.count == 2
    assert evs.show_volume(m.ShowVolumeRequest(volume_id=legacy_id)).volume.shareable == "true"

    summary = call("GET", f"/v2/{project_id}/cloudvolumes", query=[("name", "legacy")]).json()
    assert [set(v) for v in summary["volumes"]] == [{"id", "links", "name"}]
    vendor = call("GET", f"/v2/{project_id}/os-vendor-volumes/detail", query=[("id", legacy_id)]).json()
    assert vendor["count"] == 1 and vendor["volumes"][0]["encrypted"] is False
    shown = call("GET", f"/v3/{project_id}/os-vendor-volumes/{v3_id}").json()["volume"]
    assert shown["id"] == v3_id and "/v3/" in shown["links"][0]["href"]

    r = call("POST", f"/v2/{project_id}/cloudvolumes/{legacy_id}/action", {"os-extend": {"new_size": 12}})
    assert r.status_code == 200, r.text
    wait_job(evs, r.json()["job_id"])

    snap = evs.create_snapshot(m.CreateSnapshotRequest(body=m.CreateSnapshotRequestBody(
        snapshot=m.CreateSnapshotOption(volume_id=legacy_id)))).snapshot
    wait_snapshot(evs, snap.id, "available")
    r = call("POST", f"/v2/{project_id}/os-vendor-snapshots/{snap.id}/rollback", {"rollback": {"name": "x"}})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "EVS.5400"), r.text
    r = call("POST", f"/v2/{project_id}/os-vendor-snapshots/{snap.id}/rollback", {"rollback": {}})
    assert r.status_code == 202 and r.json() == {"rollback": {"volume_id": legacy_id}}, r.text
    wait_volume(evs, legacy_id, "available")
    r = call("POST", f"/v3/{project_id}/os-vendor-snapshots/{snap.id}/rollback", {"rollback": {"volume_id": legacy_id}})
    assert r.status_code == 202, r.text
    wait_volume(evs, legacy_id, "available")

    # A Keystone token works on the EVS paths too, for its own project only.
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"name": "Default"}, "password": "client-tests-admin"}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
    token = requests.post(f"{platter.identity_url}/v3/auth/tokens", json=auth, timeout=30).headers["X-Subject-Token"]
    r = requests.get(f"{platter.volume_url}/v2/{project_id}/cloudvolumes/{v3_id}",
                     headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 200 and r.json()["volume"]["id"] == v3_id
    other = uuid.uuid4().hex
    r = requests.get(f"{platter.volume_url}/v2/{other}/cloudvolumes/detail", headers={"X-Auth-Token": token}, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "Common.0018"), r.text
    r = requests.get(f"{platter.volume_url}/v2/{project_id}/cloudvolumes/detail", timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "EVS.5401"), r.text
    r = requests.get(f"{platter.volume_url}/v2/{project_id}/cloudvolumes/detail",
                     headers={"X-Auth-Token": "garbage"}, timeout=30)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "Common.0013"), r.text


def test_a_disk_from_a_backup(platter, evs):
    env = platter.env()
    out = create(evs, name="evs-bk-src")
    wait_job(evs, out.job_id)
    src = out.volume_ids[0]
    b = openstack(env, "volume", "backup", "create", "--name", "evs-bk", src)
    deadline = time.time() + 120
    while openstack(env, "volume", "backup", "show", b["id"])["status"] != "available":
        assert time.time() < deadline
        time.sleep(0.5)

    made = create(evs, name="evs-from-backup", backup_id=b["id"], size=None)
    job = wait_job(evs, made.job_id)
    assert job.status == "SUCCESS", job
    v = evs.show_volume(m.ShowVolumeRequest(volume_id=made.volume_ids[0])).volume
    assert (v.size, v.status) == (10, "available")
    # Smaller than the backup, a malformed id, an unknown backup.
    fails(lambda: create(evs, backup_id=b["id"], size=5), 400, "EVS.1010")
    fails(lambda: create(evs, backup_id="not-a-uuid"), 400, "EVS.1006")
    fails(lambda: create(evs, backup_id=str(uuid.uuid4())), 404, "EVS.5404")
