"""The issue's acceptance flows with the `openstack` CLI, as a new user runs them."""

import subprocess

from conftest import openstack, run, wait_for


def volume_status(env, name):
    return openstack(env, "volume", "show", name)["status"]


def test_volume_snapshot_clone_extend_delete(platter):
    env = platter.env()
    v1 = openstack(env, "volume", "create", "--size", "1", "v1")
    assert v1["name"] == "v1" and v1["size"] == 1
    assert v1["status"] == "creating"
    wait_for(lambda: volume_status(env, "v1"), "available")

    s1 = openstack(env, "volume", "snapshot", "create", "--volume", "v1", "s1")
    assert s1["volume_id"] == v1["id"]
    wait_for(lambda: openstack(env, "volume", "snapshot", "show", "s1")["status"], "available")

    v2 = openstack(env, "volume", "create", "--snapshot", "s1", "v2")
    assert v2["snapshot_id"] == s1["id"]
    wait_for(lambda: volume_status(env, "v2"), "available")

    run(["openstack", "volume", "set", "--size", "2", "v2"], env)
    wait_for(lambda: str(openstack(env, "volume", "show", "v2")["size"]), "2")

    listing = openstack(env, "volume", "list", "--long")
    by_name = {v["Name"]: v for v in listing}
    assert set(by_name) == {"v1", "v2"}
    assert by_name["v2"]["Size"] == 2 and by_name["v2"]["Status"] == "available"
    assert by_name["v1"]["Type"] == "SAS" and by_name["v1"]["Bootable"] in ("false", False)

    shown = openstack(env, "volume", "show", "v2")
    assert shown["id"] == v2["id"]
    assert shown["availability_zone"] == "nova"
    assert shown["os-vol-tenant-attr:tenant_id"]
    assert shown["attachments"] == []

    snaps = openstack(env, "volume", "snapshot", "list")
    assert [s["Name"] for s in snaps] == ["s1"]

    # v1 has a snapshot: refused with Cinder's reason, and nothing changes.
    code, _, err = run(["openstack", "volume", "delete", "v1"], env, check=False)
    assert code != 0 and "dependent snapshots" in err
    assert volume_status(env, "v1") == "available"

    run(["openstack", "volume", "delete", "v2"], env)
    run(["openstack", "volume", "snapshot", "delete", "s1"], env)
    wait_for(lambda: len(openstack(env, "volume", "snapshot", "list")), 0)
    run(["openstack", "volume", "delete", "v1"], env)
    wait_for(lambda: len(openstack(env, "volume", "list")), 0)


def test_backend_pool_capacity(platter):
    pools = openstack(platter.env(), "volume", "backend", "pool", "list", "--long")
    assert len(pools) == 1
    pool = pools[0]
    assert pool["Name"] == "platter@pool#pool"
    caps = pool["Capabilities"]
    assert caps["thin_provisioning_support"] is True
    assert caps["total_capacity_gb"] > 0


def test_openrc_written_by_the_server_works_as_is(platter):
    out = subprocess.run(
        ["bash", "-c", f"source {platter.openrc} && openstack volume list -f json && openstack token issue -f json"],
        capture_output=True, text=True, timeout=120,
        env={k: v for k, v in platter.env().items() if not k.startswith("OS_")})
    assert out.returncode == 0, out.stderr
    assert '"project_id"' in out.stdout


def test_identity_administration_quota_and_isolation(platter):
    env = platter.env()
    p2 = openstack(env, "project", "create", "p2")
    u2 = openstack(env, "user", "create", "--password", "u2-secret", "--project", "p2", "u2")
    assert u2["default_project_id"] == p2["id"]
    run(["openstack", "role", "add", "--project", "p2", "--user", "u2", "member"], env)
    run(["openstack", "quota", "set", "--volumes", "5", "p2"], env)
    quota = openstack(env, "quota", "show", "p2")
    volumes_limit = quota["volumes"] if isinstance(quota, dict) else next(
        q["Limit"] for q in quota if q["Resource"] == "volumes")
    assert volumes_limit == 5
    assignments = openstack(env, "role", "assignment", "list", "--user", "u2", "--names")
    assert [(a["Role"], a["Project"]) for a in assignments] == [("member", "p2@Default")]

    # u2 logs in to p2.
    env2 = platter.env(user="u2", password="u2-secret", project="p2")
    token = openstack(env2, "token", "issue")
    assert token["project_id"] == p2["id"]
    assert token["user_id"] == u2["id"]

    # The admin's volume is invisible to u2 (not found, never forbidden).
    mine = openstack(env, "volume", "create", "--size", "1", "admins")
    code, _, err = run(["openstack", "volume", "show", mine["id"]], env2, check=False)
    assert code != 0 and "No Volume found" in err
    code, _, _ = run(["openstack", "volume", "delete", mine["id"]], env2, check=False)
    assert code != 0
    assert openstack(env2, "volume", "list") == []
    wait_for(lambda: volume_status(env, "admins"), "available")

    # The quota of 5 holds for u2.
    for i in range(5):
        openstack(env2, "volume", "create", "--size", "1", f"q{i}")
    code, _, err = run(["openstack", "volume", "create", "--size", "1", "q5"], env2, check=False)
    assert code != 0 and "VolumeLimitExceeded" in err
    assert len(openstack(env2, "volume", "list")) == 5

    # A wrong password is refused.
    bad = platter.env(user="u2", password="nope", project="p2")
    code, _, err = run(["openstack", "token", "issue"], bad, check=False)
    assert code != 0 and "401" in err
