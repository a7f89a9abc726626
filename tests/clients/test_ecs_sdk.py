"""The ECS API driven by Huawei's official SDK (`huaweicloudsdkecs`), signed
with AK/SK: a server with a root and a data volume (a real QEMU guest
under TCG), another EVS volume attached and detached by jobs, block
devices, batch stop/start, and deletes that keep or remove the volumes;
the same volumes seen through EVS and Cinder."""

import shutil
import time

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkecs.v2 import EcsClient
from huaweicloudsdkecs.v2 import model as e
from huaweicloudsdkevs.v2 import model as m

from conftest import openstack, wait_for
from test_servers import console
from test_evs_sdk import client_for, keys, wait_volume  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.filterwarnings("error::huaweicloudsdkcore.warning.warning.TypeConversionWarning"),
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="qemu-system-x86 is not installed"),
]

VPC = "0dae26c9-9a70-4392-93f3-87d53115d171"
SUBNET = "157ee789-03ea-45b1-a698-76c92660dd83"


@pytest.fixture(scope="module")
def ecs(platter, keys):  # noqa: F811
    ak, sk, project_id = keys
    return (EcsClient.new_builder()
            .with_credentials(BasicCredentials(ak, sk, project_id))
            .with_endpoints([platter.compute_url])
            .build())


@pytest.fixture(scope="module")
def evs(platter, keys):  # noqa: F811
    return client_for(platter, *keys)


@pytest.fixture(scope="module")
def image(platter, guest_image):
    img = openstack(platter.env(), "image", "create", "--file", str(guest_image),
                    "--disk-format", "raw", "--container-format", "bare", "ecs-guest")
    return img["id"]


def wait_job(ecs, job_id, timeout=240):
    deadline = time.time() + timeout
    while True:
        job = ecs.show_job(e.ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            return job
        assert job.status in ("INIT", "RUNNING"), job
        assert time.time() < deadline, f"job {job_id} still {job.status}"
        time.sleep(0.5)


def create_server(ecs, image, name, data_volumes=()):
    server = e.PostPaidServer(
        name=name, image_ref=image, flavor_ref="s6.small.1", vpcid=VPC,
        nics=[e.PostPaidServerNic(subnet_id=SUBNET)],
        root_volume=e.PostPaidServerRootVolume(volumetype="SSD"),
        data_volumes=[e.PostPaidServerDataVolume(volumetype="SSD", size=s) for s in data_volumes],
        availability_zone="nova")
    r = ecs.create_post_paid_servers(e.CreatePostPaidServersRequest(
        body=e.CreatePostPaidServersRequestBody(server=server)))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    assert job.job_type == "createServer"
    assert job.entities.sub_jobs_total == 1
    sub = job.entities.sub_jobs[0]
    assert (sub.job_type, sub.status) == ("createSingleServer", "SUCCESS")
    assert sub.entities.server_id == r.server_ids[0]
    return r.server_ids[0]


def devices(ecs, server_id):
    r = ecs.list_server_block_devices(e.ListServerBlockDevicesRequest(server_id=server_id))
    return {d.device: d for d in r.volume_attachments}


def test_servers_with_disks_through_the_ecs_sdk(platter, ecs, evs, image):
    env = platter.env()
    flavors = ecs.list_flavors(e.ListFlavorsRequest(availability_zone="nova")).flavors
    assert "s6.small.1" in [f.id for f in flavors]
    limits = ecs.show_server_limits(e.ShowServerLimitsRequest()).absolute
    used_before = limits.total_instances_used

    sid = create_server(ecs, image, "ecs-1", data_volumes=[10])
    devs = devices(ecs, sid)
    assert sorted(devs) == ["/dev/vda", "/dev/vdb"]
    assert (devs["/dev/vda"].boot_index, devs["/dev/vda"].size) == (0, 1)
    assert devs["/dev/vdb"].size == 10 and devs["/dev/vdb"].bus == "virtio"
    root_id, data_id = devs["/dev/vda"].volume_id, devs["/dev/vdb"].volume_id
    # EVS and Cinder show both volumes in use by the server.
    for vid in (root_id, data_id):
        v = evs.show_volume(m.ShowVolumeRequest(volume_id=vid)).volume
        assert v.status == "in-use" and v.attachments[0].server_id == sid
        c = openstack(env, "volume", "show", vid)
        assert c["attachments"][0]["server_id"] == sid
    one = ecs.show_server_block_device(e.ShowServerBlockDeviceRequest(
        server_id=sid, volume_id=data_id)).volume_attachment
    assert (one.device, one.server_id) == ("/dev/vdb", sid)
    assert ecs.show_server_limits(e.ShowServerLimitsRequest()).absolute.total_instances_used \
        == used_before + 1

    # Another EVS volume, attached and detached by jobs.
    v = evs.create_volume(m.CreateVolumeRequest(body=m.CreateVolumeRequestBody(
        volume=m.CreateVolumeOption(availability_zone="nova", volume_type="SSD", size=10,
                                    name="extra")))).volume_ids[0]
    wait_volume(evs, v, "available")
    r = ecs.attach_server_volume(e.AttachServerVolumeRequest(
        server_id=sid, body=e.AttachServerVolumeRequestBody(
            volume_attachment=e.AttachServerVolumeOption(volume_id=v, device="/dev/sdc"))))
    job = wait_job(ecs, r.job_id)
    assert (job.status, job.job_type, job.entities.server_id) == ("SUCCESS", "attachVolume", sid)
    assert devices(ecs, sid)["/dev/vdc"].volume_id == v, "KVM: /dev/sdc becomes /dev/vdc"
    assert wait_volume(evs, v, "in-use").attachments[0].server_id == sid
    # Attaching it again is refused (Ecs.0057), and nothing changes.
    with pytest.raises(ClientRequestException) as err:
        ecs.attach_server_volume(e.AttachServerVolumeRequest(
            server_id=sid, body=e.AttachServerVolumeRequestBody(
                volume_attachment=e.AttachServerVolumeOption(volume_id=v))))
    assert (err.value.status_code, err.value.error_code) == (400, "Ecs.0057")
    # Unplugging needs the guest's OS up (as on ECS).
    wait_for(lambda: "PLATTER-GUEST: booted" in console(env, sid), True, timeout=180)
    r = ecs.detach_server_volume(e.DetachServerVolumeRequest(server_id=sid, volume_id=v))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    wait_volume(evs, v, "available")
    assert sorted(devices(ecs, sid)) == ["/dev/vda", "/dev/vdb"]

    # Batch stop and start.
    r = ecs.batch_stop_servers(e.BatchStopServersRequest(body=e.BatchStopServersRequestBody(
        os_stop=e.BatchStopServersOption(servers=[e.ServerId(id=sid)], type="HARD"))))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    assert openstack(env, "server", "show", sid)["status"] == "SHUTOFF"
    # Resize while stopped (ECS's rule), confirmed as the job ends.
    r = ecs.resize_server(e.ResizeServerRequest(server_id=sid, body=e.ResizeServerRequestBody(
        resize=e.ResizePrePaidServerOption(flavor_ref="s6.medium.2"))))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    shown = openstack(env, "server", "show", sid)
    assert shown["status"] == "SHUTOFF" and "s6.medium.2" in str(shown["flavor"])
    # Reinstall (stopped): the root volume rewritten from the image, the
    # guest started; the data disk keeps what it had.
    r = ecs.reinstall_server_with_cloud_init(e.ReinstallServerWithCloudInitRequest(
        server_id=sid, body=e.ReinstallServerWithCloudInitRequestBody(
            os_reinstall=e.ReinstallServerWithCloudInitOption(keyname="k", userid="u"))))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    assert openstack(env, "server", "show", sid)["status"] == "ACTIVE"
    assert sorted(devices(ecs, sid)) == ["/dev/vda", "/dev/vdb"]
    # Starting an active server is refused.
    with pytest.raises(ClientRequestException) as err:
        ecs.batch_start_servers(e.BatchStartServersRequest(body=e.BatchStartServersRequestBody(
            os_start=e.BatchStartServersOption(servers=[e.ServerId(id=sid)]))))
    assert (err.value.status_code, err.value.error_code) == (400, "Ecs.0100")

    # Delete with delete_volume: false: the data disk stays, available.
    r = ecs.delete_servers(e.DeleteServersRequest(body=e.DeleteServersRequestBody(
        servers=[e.ServerId(id=sid)], delete_volume=False)))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    assert wait_volume(evs, data_id, "available").attachments == []
    wait_for(lambda: openstack(env, "volume", "show", root_id, check=False), None, timeout=60)

    # Delete with delete_volume: true: every disk goes.
    sid2 = create_server(ecs, image, "ecs-2", data_volumes=[10])
    disks = [d.volume_id for d in devices(ecs, sid2).values()]
    r = ecs.delete_servers(e.DeleteServersRequest(body=e.DeleteServersRequestBody(
        servers=[e.ServerId(id=sid2)], delete_volume=True)))
    job = wait_job(ecs, r.job_id)
    assert job.status == "SUCCESS", job
    for vid in disks:
        wait_for(lambda: openstack(env, "volume", "show", vid, check=False), None, timeout=60)
    with pytest.raises(ClientRequestException) as err:
        devices(ecs, sid2)
    assert (err.value.status_code, err.value.error_code) == (404, "Ecs.0114")


def test_refusals_in_ecs_format(platter, ecs, evs, image):
    bad = e.PostPaidServer(
        name="bad name!", image_ref=image, flavor_ref="s6.small.1", vpcid=VPC,
        nics=[e.PostPaidServerNic(subnet_id=SUBNET)],
        root_volume=e.PostPaidServerRootVolume(volumetype="SSD"))
    before = len(openstack(platter.env(), "volume", "list"))
    for server, code in [
        (bad, "Ecs.0915"),
        (e.PostPaidServer(name="ok", image_ref=image, flavor_ref="nope", vpcid=VPC,
                          nics=[e.PostPaidServerNic(subnet_id=SUBNET)],
                          root_volume=e.PostPaidServerRootVolume(volumetype="SSD")), "Ecs.0005"),
        (e.PostPaidServer(name="ok", image_ref=image, flavor_ref="s6.small.1", vpcid=VPC,
                          nics=[], root_volume=e.PostPaidServerRootVolume(volumetype="SSD")),
         "Ecs.0005"),
        (e.PostPaidServer(name="ok", image_ref=image, flavor_ref="s6.small.1", vpcid=VPC,
                          nics=[e.PostPaidServerNic(subnet_id=SUBNET)],
                          root_volume=e.PostPaidServerRootVolume(volumetype="SSD"),
                          data_volumes=[e.PostPaidServerDataVolume(volumetype="SSD", size=5)]),
         "Ecs.0005"),
    ]:
        with pytest.raises(ClientRequestException) as err:
            ecs.create_post_paid_servers(e.CreatePostPaidServersRequest(
                body=e.CreatePostPaidServersRequestBody(server=server)))
        assert (err.value.status_code, err.value.error_code) == (400, code), err.value
    assert len(openstack(platter.env(), "volume", "list")) == before
    with pytest.raises(ClientRequestException) as err:
        ecs.show_job(e.ShowJobRequest(job_id="0123456789abcdef0123456789abcdef"))
    assert (err.value.status_code, err.value.error_code) == (400, "Common.0011")
    with pytest.raises(ClientRequestException) as err:
        ecs.detach_server_volume(e.DetachServerVolumeRequest(
            server_id="9b0a8d5c-0000-4000-8000-000000000000",
            volume_id="9b0a8d5c-0000-4000-8000-000000000001"))
    assert (err.value.status_code, err.value.error_code) == (404, "Ecs.0114")
