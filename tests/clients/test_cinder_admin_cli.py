"""Issue 10's client acceptance: volume types with properties, QoS specs,
transfers and services through the `openstack` CLI and python-cinderclient,
as an operator runs them."""

from cinderclient import client as cinder_client
from keystoneauth1 import loading, session

from conftest import openstack, run, wait_for


def volume_status(env, name):
    return openstack(env, "volume", "show", name)["status"]


def cinder(platter, user="admin", password=None, project="admin", version="3.59"):
    """A python-cinderclient Client for a user, at a microversion."""
    from conftest import ADMIN_PASSWORD
    auth = loading.get_plugin_loader("password").load_from_options(
        auth_url=f"{platter.identity_url}/v3", username=user,
        password=password or ADMIN_PASSWORD, project_name=project,
        user_domain_name="Default", project_domain_name="Default")
    return cinder_client.Client(version, session=session.Session(auth=auth))


def test_volume_type_properties_and_qos(platter):
    env = platter.env()
    t = openstack(env, "volume", "type", "create", "--property", "tier=gold",
                  "--private", "goldtype")
    assert t["name"] == "goldtype"
    run(["openstack", "volume", "type", "set", "--property", "color=blue", "goldtype"], env)
    run(["openstack", "volume", "type", "unset", "--property", "tier", "goldtype"], env)
    shown = openstack(env, "volume", "type", "show", "goldtype")
    props = shown["properties"]
    assert props == {"color": "blue"} or props == "color='blue'"
    assert shown["is_public"] is False

    qos = openstack(env, "volume", "qos", "create", "--consumer", "front-end",
                    "--property", "total_iops_sec=500", "gold")
    assert qos["consumer"] == "front-end"
    run(["openstack", "volume", "qos", "associate", "gold", "goldtype"], env)
    shown = openstack(env, "volume", "qos", "show", "gold")
    assert "goldtype" in str(shown["associations"])
    assert "total_iops_sec" in str(shown["properties"])
    assert cinder(platter).volume_types.get(t["id"]).qos_specs_id == qos["id"]
    code, _, err = run(["openstack", "volume", "qos", "delete", "gold"], env, check=False)
    assert code != 0, "in use: refused without --force"
    run(["openstack", "volume", "qos", "disassociate", "--all", "gold"], env)
    run(["openstack", "volume", "qos", "delete", "gold"], env)
    assert [q["Name"] for q in openstack(env, "volume", "qos", "list")] == []


def test_transfer_request_create_and_accept(platter):
    env = platter.env()
    openstack(env, "project", "create", "taker")
    openstack(env, "user", "create", "--password", "t-secret", "--project", "taker", "t")
    run(["openstack", "role", "add", "--project", "taker", "--user", "t", "member"], env)
    env2 = platter.env(user="t", password="t-secret", project="taker")

    v = openstack(env, "volume", "create", "--size", "1", "gift")
    wait_for(lambda: volume_status(env, "gift"), "available")
    req = openstack(env, "volume", "transfer", "request", "create", "--name", "tr", "gift")
    assert req["volume_id"] == v["id"] and len(req["auth_key"]) == 16
    assert volume_status(env, "gift") == "awaiting-transfer"
    listed = openstack(env, "volume", "transfer", "request", "list")
    assert [r["ID"] for r in listed] == [req["id"]]

    code, _, err = run(["openstack", "volume", "transfer", "request", "accept",
                        "--auth-key", "wrongwrongwrong1", req["id"]], env2, check=False)
    assert code != 0 and "auth key" in err.lower()
    accepted = openstack(env2, "volume", "transfer", "request", "accept",
                         "--auth-key", req["auth_key"], req["id"])
    assert accepted["volume_id"] == v["id"]
    mine = openstack(env2, "volume", "show", v["id"])
    assert mine["status"] == "available"
    assert openstack(env, "volume", "list") == [] or v["id"] not in [
        x["ID"] for x in openstack(env, "volume", "list")]

    # python-cinderclient: the 3.57 view of a transfer, withdrawn again.
    c = cinder(platter, user="t", password="t-secret", project="taker")
    t = c.transfers.create(v["id"], name="back")
    assert t.volume_id == v["id"] and t.source_project_id and t.accepted is False
    assert [x.id for x in c.transfers.list()] == [t.id]
    c.transfers.delete(t.id)
    assert c.volumes.get(v["id"]).status == "available"


def test_volume_service_list_and_disable(platter):
    env = platter.env()
    services = openstack(env, "volume", "service", "list")
    by_binary = {s["Binary"]: s for s in services}
    assert set(by_binary) == {"cinder-scheduler", "cinder-volume"}
    host = by_binary["cinder-volume"]["Host"]
    assert host == "platter@pool"
    run(["openstack", "volume", "service", "set", "--disable", "--disable-reason", "maint",
         host, "cinder-volume"], env)
    listed = openstack(env, "volume", "service", "list", "--long")
    vol = next(s for s in listed if s["Binary"] == "cinder-volume")
    assert vol["Status"] == "disabled" and vol["Disabled Reason"] == "maint"

    # No pool takes new volumes: they fail, and say so in a user message.
    openstack(env, "volume", "create", "--size", "1", "unplaced")
    wait_for(lambda: volume_status(env, "unplaced"), "error")
    c = cinder(platter)
    msgs = [m for m in c.messages.list() if m.resource_uuid == openstack(
        env, "volume", "show", "unplaced")["id"]]
    assert len(msgs) == 1 and msgs[0].event_id == "VOLUME_VOLUME_001_003"

    run(["openstack", "volume", "service", "set", "--enable", host, "cinder-volume"], env)
    listed = openstack(env, "volume", "service", "list")
    assert next(s for s in listed if s["Binary"] == "cinder-volume")["Status"] == "enabled"
    openstack(env, "volume", "create", "--size", "1", "placed")
    wait_for(lambda: volume_status(env, "placed"), "available")


def test_volume_group_and_group_snapshot(platter):
    env = dict(platter.env(), OS_VOLUME_API_VERSION="3.14")
    gt = openstack(env, "volume", "group", "type", "create", "cli-gt")
    assert gt["Name"] == "cli-gt"
    g = openstack(env, "volume", "group", "create", "--volume-group-type", "cli-gt",
                  "--volume-type", "SAS", "--name", "cli-g")
    assert g["Name"] == "cli-g" and g["Status"] == "available"
    c = cinder(platter, version="3.14")
    v = c.volumes.create(1, name="member", volume_type="SAS", group_id=g["ID"])
    wait_for(lambda: c.volumes.get(v.id).status, "available")
    gs = openstack(env, "volume", "group", "snapshot", "create", "--name", "cli-gs", "cli-g")
    assert gs["Name"] == "cli-gs"
    wait_for(lambda: openstack(env, "volume", "group", "snapshot", "show", "cli-gs")["Status"],
             "available")
    members = [s for s in c.volume_snapshots.list() if s.volume_id == v.id]
    assert len(members) == 1 and members[0].group_snapshot_id == gs["ID"]
    listed = openstack(env, "volume", "group", "list")
    assert [x["Name"] for x in listed] == ["cli-g"]
    # A member is not deleted alone.
    code, _, err = run(["openstack", "volume", "delete", v.id], env, check=False)
    assert code != 0
