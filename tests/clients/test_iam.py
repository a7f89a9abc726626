"""IAM policies (issue 13) with real clients: groups and grants made with
the `openstack` CLI, a restricted user's calls refused in each family's
format (Cinder through the CLI, EVS through Huawei's SDK signed with the
user's AK/SK), custom policies and Deny statements through
`/v3.0/OS-ROLE/roles`, enterprise-project grants through
`/v3.0/OS-PERMISSION/...`, and decisions that follow a policy change
within one token."""

import re
import time
import uuid

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkevs.v2 import EvsClient
from huaweicloudsdkevs.v2 import model as m

from conftest import ADMIN_PASSWORD, openstack, platter_binary, run, serving, wait_for

PASSWORD = "iam-Passw0rd"


def token(platter, user, project):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    r = requests.post(f"{platter.identity_url}/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"], r.json()["token"]["project"]["id"]


def admin_token(platter, project="admin"):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    r = requests.post(f"{platter.identity_url}/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def call(platter, tok, method, path, body=None, port="volume"):
    base = platter.volume_url if port == "volume" else platter.identity_url
    return requests.request(method, base + path, json=body, timeout=30,
                            headers={"X-Auth-Token": tok, "OpenStack-API-Version": "volume 3.0"})


def wait_available(platter, tok, project, vid):
    deadline = time.time() + 60
    while True:
        status = call(platter, tok, "GET", f"/v3/{project}/volumes/{vid}").json()["volume"]["status"]
        if status == "available":
            return
        assert status != "error" and time.time() < deadline, status
        time.sleep(0.3)


@pytest.fixture(scope="module")
def platter():
    """Servers without a hypervisor: their disks are real attachments."""
    yield from serving('compute_driver = "none"\n')


def htaiyun_headers(platter, user, password, project, app=None):
    r = requests.post(platter.volume_url + "/services/openstack/session", timeout=30,
                      data={"username": user, "password": password, "project": project})
    assert r.status_code == 200, r.text
    s = r.json()["result"]
    headers = {"IMR-SESSION-TOKEN": s["sessionToken"], "IMR-SESSION-SECRET": s["sessionSecret"]}
    if app is None:
        r = requests.post(platter.volume_url + "/services/openstack/apptoken", headers=headers,
                          timeout=30)
        assert r.status_code == 200, r.text
        app = r.json()["result"]["accessToken"]
    return dict(headers, **{"HT-ACCESS-TOKEN": app})


@pytest.fixture(scope="module")
def world(platter):
    """Project `iam-p` with a volume; users, each in its own group."""
    env = platter.env()
    openstack(env, "project", "create", "iam-p")
    run(["openstack", "role", "add", "--user", "admin", "--project", "iam-p", "admin"], env)
    for name in ["ro", "snap", "deny", "ep"]:
        openstack(env, "user", "create", "--password", PASSWORD, f"{name}-user")
        openstack(env, "group", "create", f"{name}-group")
        run(["openstack", "group", "add", "user", f"{name}-group", f"{name}-user"], env)
    admin_env = platter.env(project="iam-p")
    v = openstack(admin_env, "volume", "create", "--size", "1", "shared")
    tok = admin_token(platter)
    project = openstack(env, "project", "show", "iam-p")["id"]
    # A volume made through htaiyun, and a server whose root disk is another.
    ht = htaiyun_headers(platter, "admin", ADMIN_PASSWORD, "iam-p")
    r = requests.post(platter.volume_url + "/services/openstack/volume/create", headers=ht,
                      data={"name": "platform", "size": "1"}, timeout=30)
    assert r.status_code == 200, r.text
    unique = r.json()["result"]["unique"]
    root = openstack(admin_env, "volume", "create", "--size", "1", "root")
    wait_for(lambda: openstack(admin_env, "volume", "show", root["id"])["status"], "available")
    iam_p = admin_token(platter, "iam-p")
    r = requests.post(f"{platter.compute_url}/v2.1/{project}/servers",
                      headers={"X-Auth-Token": iam_p}, timeout=30,
                      json={"server": {"name": "srv", "flavorRef": "1", "networks": "none",
                                       "block_device_mapping_v2": [{
                                           "boot_index": 0, "uuid": root["id"],
                                           "source_type": "volume",
                                           "destination_type": "volume"}]}})
    assert r.status_code == 202, r.text
    server = r.json()["server"]["id"]
    wait_for(lambda: openstack(admin_env, "server", "show", server)["status"], "ACTIVE")
    wait_for(lambda: openstack(admin_env, "volume", "show", v["id"])["status"], "available")
    return {"env": env, "project": project, "volume": v["id"], "admin": tok,
            "app": ht["HT-ACCESS-TOKEN"], "unique": unique, "server": server, "root": root["id"]}


def group_id(world, name):
    return openstack(world["env"], "group", "show", f"{name}-group")["id"]


def custom_policy(platter, world, name, statements):
    r = call(platter, world["admin"], "POST", "/v3.0/OS-ROLE/roles", port="identity", body={
        "role": {"display_name": name, "type": "AX", "description": name,
                 "policy": {"Version": "1.1", "Statement": statements}}})
    assert r.status_code == 201, r.text
    return r.json()["role"]


def test_a_group_granted_evs_readonly_reads_and_every_write_is_refused(platter, world):
    env, project = world["env"], world["project"]
    # System policies are roles under their names.
    names = {r["Name"] for r in openstack(env, "role", "list")}
    assert {"EVS ReadOnlyAccess", "EVS FullAccess", "ECS ReadOnlyAccess", "Tenant Guest",
            "Tenant Administrator", "admin", "member", "reader"} <= names, names
    run(["openstack", "role", "add", "--group", "ro-group", "--project", "iam-p",
         "EVS ReadOnlyAccess"], env)

    ro = platter.env(user="ro-user", password=PASSWORD, project="iam-p")
    # Cinder through the CLI: reads work, writes are refused with Cinder's 403.
    listed = openstack(ro, "volume", "list")
    assert world["volume"] in [v["ID"] for v in listed] and len(listed) == 3
    assert openstack(ro, "volume", "show", world["volume"])["name"] == "shared"
    code, _, err = run(["openstack", "volume", "create", "--size", "1", "nope"], ro, check=False)
    assert code != 0 and "Policy doesn't allow volume:create to be performed." in err, err
    code, _, err = run(["openstack", "volume", "delete", world["volume"]], ro, check=False)
    assert code != 0 and "volume:delete" in err, err
    code, _, err = run(["openstack", "volume", "snapshot", "create", "--volume", world["volume"],
                        "nope"], ro, check=False)
    assert code != 0 and "volume:create_snapshot" in err, err
    assert len(openstack(ro, "volume", "list")) == 3
    assert openstack(ro, "volume", "snapshot", "list") == []

    # EVS through Huawei's SDK, signed with the user's own access key.
    _, out, _ = run([platter_binary(), "admin", "--data-dir", platter.data_dir, "credential",
                     "create", "--user", "ro-user"], env=None)
    fields = dict(re.findall(r"^(\w+): (\S+)$", out, re.M))
    evs = (EvsClient.new_builder()
           .with_credentials(BasicCredentials(fields["access_key"], fields["secret_key"], project))
           .with_endpoints([platter.volume_url]).build())
    got = evs.list_volumes(m.ListVolumesRequest())
    assert world["volume"] in [v.id for v in got.volumes] and len(got.volumes) == 3
    assert evs.show_volume(m.ShowVolumeRequest(volume_id=world["volume"])).volume.name == "shared"
    with pytest.raises(ClientRequestException) as e:
        evs.create_volume(m.CreateVolumeRequest(body=m.CreateVolumeRequestBody(
            volume=m.CreateVolumeOption(availability_zone="nova", volume_type="SAS", size=10,
                                        name="refused"))))
    assert (e.value.status_code, e.value.error_code) == (403, "EVS.5403"), e.value
    assert "evs:volumes:create" in e.value.error_msg
    # The denial is in the audit log: who, where, what, on what.
    audit = [line for line in platter.log().splitlines()
             if "platter::audit" in line and "evs:volumes:create" in line]
    assert any(fields["user_id"] in line and project in line and "/cloudvolumes" in line
               for line in audit), audit
    with pytest.raises(ClientRequestException) as e:
        evs.delete_volume(m.DeleteVolumeRequest(volume_id=world["volume"]))
    assert (e.value.status_code, e.value.error_code) == (403, "EVS.5403"), e.value
    assert len(evs.list_volumes(m.ListVolumesRequest()).volumes) == 3

    # htaiyun: the user's own session, the project's application token.
    ht = htaiyun_headers(platter, "ro-user", PASSWORD, "iam-p", app=world["app"])
    base = platter.volume_url + "/services/openstack/volume"
    r = requests.get(base + "/list", headers=ht, timeout=30)
    assert r.status_code == 200, r.text
    assert [e["unique"] for e in r.json()["result"]["entites"]] == [world["unique"]]
    r = requests.post(f"{base}/{world['unique']}/get", headers=ht, timeout=30)
    assert r.status_code == 200 and r.json()["result"]["name"] == "platform", r.text
    for path, data in [("/create", {"name": "no", "size": "1"}),
                       (f"/{world['unique']}/delete", {}),
                       (f"/{world['unique']}/extend", {"size": "5"})]:
        r = requests.post(base + path, headers=ht, data=data, timeout=30)
        body = r.json()
        assert (r.status_code, body["message"]) == (403, "volumes.error.access-denied"), r.text
        assert "Policy doesn't allow evs:volumes:" in body["description"], r.text

    # ECS: the server's disks, listed and shown through ECS's block_device.
    tok, _ = token(platter, "ro-user", "iam-p")
    r = requests.get(f"{platter.compute_url}/v1/{project}/cloudservers/{world['server']}/block_device",
                     headers={"X-Auth-Token": tok}, timeout=30)
    assert r.status_code == 200, r.text
    assert [d["volumeId"] for d in r.json()["volumeAttachments"]] == [world["root"]]
    r = requests.get(f"{platter.compute_url}/v1/{project}/cloudservers/{world['server']}"
                     f"/block_device/{world['root']}", headers={"X-Auth-Token": tok}, timeout=30)
    assert r.status_code == 200, r.text
    # ... but not to attach one: refused in ECS's format.
    r = requests.post(f"{platter.compute_url}/v1/{project}/cloudservers/{world['server']}"
                      f"/attachvolume", headers={"X-Auth-Token": tok}, timeout=30,
                      json={"volumeAttachment": {"volumeId": world["volume"]}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "Pdp.0001", r.text


def test_seed_002_rows_1_and_2_and_a_policy_change_within_one_token(platter, world):
    project = world["project"]
    role = custom_policy(platter, world, "snapshots-only", [
        {"Effect": "Allow", "Action": ["evs:snapshots:create"]}])
    gid = group_id(world, "snap")
    r = call(platter, world["admin"], "PUT",
             f"/v3/projects/{project}/groups/{gid}/roles/{role['id']}", port="identity")
    assert r.status_code == 204, r.text
    # A second grant keeps the user's token valid when the first goes.
    keep = custom_policy(platter, world, "images-only", [
        {"Effect": "Allow", "Action": ["ims:images:list"]}])
    r = call(platter, world["admin"], "PUT",
             f"/v3/projects/{project}/groups/{gid}/roles/{keep['id']}", port="identity")
    assert r.status_code == 204, r.text
    tok, _ = token(platter, "snap-user", "iam-p")

    # Row 1: the Cinder create also needs evs:volumes:get; refused, nothing made.
    body = {"snapshot": {"volume_id": world["volume"], "name": "cinder-snap"}}
    r = call(platter, tok, "POST", f"/v3/{project}/snapshots", body)
    assert r.status_code == 403, r.text
    assert r.json()["forbidden"]["message"] == "Policy doesn't allow volume:get to be performed."
    # Row 2: the native create needs only evs:snapshots:create.
    r = call(platter, tok, "POST", f"/v2/{project}/cloudsnapshots",
             {"snapshot": {"volume_id": world["volume"], "name": "native-snap"}})
    assert r.status_code == 202, r.text
    # Listing is another action: refused in EVS's format.
    r = call(platter, tok, "GET", f"/v2/{project}/cloudsnapshots/detail")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "EVS.5403"), r.text

    # The policy grows: the same token is allowed at once (no stale cache).
    r = call(platter, world["admin"], "PATCH", f"/v3.0/OS-ROLE/roles/{role['id']}",
             port="identity", body={"role": {"policy": {"Version": "1.1", "Statement": [
                 {"Effect": "Allow", "Action": ["evs:snapshots:*", "evs:volumes:get"]}]}}})
    assert r.status_code == 200, r.text
    assert r.json()["role"]["policy"]["Statement"][0]["Action"] == [
        "evs:snapshots:*", "evs:volumes:get"]
    r = call(platter, tok, "POST", f"/v3/{project}/snapshots", body)
    assert r.status_code == 202, r.text
    r = call(platter, tok, "GET", f"/v2/{project}/cloudsnapshots/detail")
    names = sorted(s["name"] for s in r.json()["snapshots"])
    assert names == ["cinder-snap", "native-snap"], r.text
    # Revoked: refused again, same token.
    r = call(platter, world["admin"], "DELETE",
             f"/v3/projects/{project}/groups/{gid}/roles/{role['id']}", port="identity")
    assert r.status_code == 204, r.text
    r = call(platter, tok, "GET", f"/v2/{project}/cloudsnapshots/detail")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "EVS.5403"), r.text


def test_a_deny_statement_overrides_a_system_allow(platter, world):
    project, env = world["project"], world["env"]
    run(["openstack", "role", "add", "--group", "deny-group", "--project", "iam-p",
         "EVS FullAccess"], env)
    role = custom_policy(platter, world, "no-deletes", [
        {"Effect": "Deny", "Action": ["evs:volumes:delete"]}])
    run(["openstack", "role", "add", "--group", "deny-group", "--project", "iam-p",
         role["id"]], env)
    user = platter.env(user="deny-user", password=PASSWORD, project="iam-p")
    made = openstack(user, "volume", "create", "--size", "1", "mine")
    code, _, err = run(["openstack", "volume", "delete", made["id"]], user, check=False)
    assert code != 0 and "volume:delete" in err, err
    assert openstack(user, "volume", "show", made["id"])["name"] == "mine"
    # Bad documents are refused, naming what is wrong.
    r = call(platter, world["admin"], "POST", "/v3.0/OS-ROLE/roles", port="identity", body={
        "role": {"display_name": "bad", "type": "AX", "policy": {"Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["evs"]}]}}})
    assert r.status_code == 400 and "not an action" in r.text, r.text


def test_an_enterprise_project_grant_reaches_native_calls_on_its_resources_only(platter, world):
    project = world["project"]
    ep = str(uuid.uuid4())
    admin = admin_token(platter, "iam-p")
    # A volume in the enterprise project, made by the admin through EVS.
    r = call(platter, admin, "POST", f"/v2/{project}/cloudvolumes", {"volume": {
        "availability_zone": "nova", "volume_type": "SAS", "size": 10, "name": "in-ep",
        "enterprise_project_id": ep}})
    assert r.status_code in (200, 202), r.text
    deadline = time.time() + 60
    while True:
        vols = call(platter, admin, "GET",
                    f"/v2/{project}/cloudvolumes/detail?name=in-ep").json()["volumes"]
        if vols and vols[0]["status"] == "available":
            break
        assert time.time() < deadline, vols
        time.sleep(0.3)
    in_ep = vols[0]["id"]

    gid = group_id(world, "ep")
    full = openstack(world["env"], "role", "show", "EVS FullAccess")["id"]
    r = call(platter, world["admin"], "PUT",
             f"/v3.0/OS-PERMISSION/enterprise-projects/{ep}/groups/{gid}/roles/{full}",
             port="identity")
    assert r.status_code == 204, r.text
    tok, _ = token(platter, "ep-user", "iam-p")

    # Native calls: allowed on the enterprise project's resources.
    r = call(platter, tok, "GET", f"/v2/{project}/cloudvolumes/detail")
    assert [v["id"] for v in r.json()["volumes"]] == [in_ep], r.text
    r = call(platter, tok, "POST", f"/v2/{project}/cloudsnapshots",
             {"snapshot": {"volume_id": in_ep, "name": "ep-snap"}})
    assert r.status_code == 202, r.text
    # ... and not on others' (the default enterprise project's volume).
    r = call(platter, tok, "POST", f"/v2/{project}/cloudsnapshots",
             {"snapshot": {"volume_id": world["volume"], "name": "outside"}})
    assert r.status_code == 404, r.text
    # Cinder paths accept no enterprise-project scope: refused.
    r = call(platter, tok, "POST", f"/v3/{project}/snapshots",
             {"snapshot": {"volume_id": in_ep, "name": "cinder-path"}})
    assert r.status_code == 403, r.text
    r = call(platter, tok, "GET", f"/v3/{project}/volumes")
    assert r.status_code == 403, r.text


def test_platter_admin_manages_groups_policies_and_grants_while_the_server_runs(
        platter, world, tmp_path):
    env = world["env"]
    openstack(env, "user", "create", "--password", PASSWORD, "cli-user")

    def admin(*args):
        return run([platter_binary(), "admin", "--data-dir", platter.data_dir, *args],
                   env=None)[1]

    admin("group", "create", "cli-group")
    admin("group", "add-user", "cli-group", "cli-user")
    doc = tmp_path / "list.json"
    doc.write_text('{"Version": "1.1", "Statement": [{"Effect": "Allow", '
                   '"Action": ["evs:volumes:list", "evs:volumes:get"]}]}')
    admin("policy", "create", "cli-list", "--file", str(doc))
    assert "cli-list" in admin("policy", "list")
    admin("grant", "add", "--group", "cli-group", "cli-list", "--project", "iam-p")
    assert "cli-list\tproject" in admin("grant", "list")
    # The server picks the new policy up (within a second).
    user = platter.env(user="cli-user", password=PASSWORD, project="iam-p")
    deadline = time.time() + 10
    while True:
        code, out, err = run(["openstack", "volume", "list", "-f", "json"], user, check=False)
        if code == 0:
            break
        assert time.time() < deadline, err
        time.sleep(0.3)
    assert world["volume"] in out
    code, _, err = run(["openstack", "volume", "create", "--size", "1", "no"], user, check=False)
    assert code != 0 and "volume:create" in err, err
    # A bad document is refused by the command, naming what is wrong.
    doc.write_text('{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["x"]}]}')
    code, _, err = run([platter_binary(), "admin", "--data-dir", platter.data_dir, "policy",
                        "create", "bad", "--file", str(doc)], env=None, check=False)
    assert code != 0 and "not an action" in err, err
    admin("grant", "remove", "--group", "cli-group", "cli-list", "--project", "iam-p")
    code, _, _ = run(["openstack", "volume", "list"], user, check=False)
    assert code != 0
