"""The acceptance flow with python-cinderclient: its CLI and its Python API."""

import json
import re

from cinderclient import client as cinder_client
from keystoneauth1 import loading, session

from conftest import ADMIN_PASSWORD, run, wait_for


def field(output, name):
    m = re.search(rf"^\|\s*{re.escape(name)}\s*\|\s*(.*?)\s*\|$", output, re.M)
    assert m, f"no {name} in\n{output}"
    return m.group(1)


def test_cinder_cli_create_snapshot_extend_delete(platter):
    env = platter.env()
    cinder = lambda *a, **kw: run(["cinder", *a], env, **kw)[1]

    out = cinder("create", "--name", "c1", "1")
    c1 = field(out, "id")
    assert field(out, "size") == "1"
    wait_for(lambda: field(cinder("show", c1), "status"), "available")

    out = cinder("snapshot-create", "--name", "cs1", c1)
    snap = field(out, "id")
    wait_for(lambda: field(cinder("snapshot-show", snap), "status"), "available")

    out = cinder("create", "--snapshot-id", snap, "--name", "c2", "1")
    c2 = field(out, "id")
    wait_for(lambda: field(cinder("show", c2), "status"), "available")
    assert field(cinder("show", c2), "snapshot_id") == snap

    cinder("extend", c2, "3")
    wait_for(lambda: field(cinder("show", c2), "size"), "3")
    assert field(cinder("show", c2), "status") == "available"

    listing = cinder("list")
    assert c1 in listing and c2 in listing

    # Microversions are negotiated with the server.
    out = run(["cinder", "--os-volume-api-version", "3.54", "list"], env)[1]
    assert c1 in out
    versions = run(["cinder", "version-list"], env)[1]
    assert "3.0" in versions

    cinder("delete", c2)
    cinder("snapshot-delete", snap)
    wait_for(lambda: snap in cinder("snapshot-list"), False)
    cinder("delete", c1)
    wait_for(lambda: c1 in cinder("list"), False)


def test_cinder_python_api(platter):
    loader = loading.get_plugin_loader("password")
    auth = loader.load_from_options(
        auth_url=f"{platter.identity_url}/v3", username="admin", password=ADMIN_PASSWORD,
        project_name="admin", user_domain_name="Default", project_domain_name="Default")
    sess = session.Session(auth=auth)
    c = cinder_client.Client("3.27", session=sess)

    vol = c.volumes.create(size=1, name="api1", metadata={"k": "v"})
    assert vol.status == "creating"
    wait_for(lambda: c.volumes.get(vol.id).status, "available")
    assert c.volumes.get(vol.id).metadata == {"k": "v"}
    c.volumes.set_metadata(vol.id, {"k2": "v2"})
    assert c.volumes.get(vol.id).metadata == {"k": "v", "k2": "v2"}
    c.volumes.delete_metadata(vol.id, ["k"])
    assert c.volumes.get(vol.id).metadata == {"k2": "v2"}

    snap = c.volume_snapshots.create(vol.id, name="apisnap")
    wait_for(lambda: c.volume_snapshots.get(snap.id).status, "available")
    c.volumes.extend(vol.id, 2)
    wait_for(lambda: c.volumes.get(vol.id).size, 2)

    quotas = c.quotas.get(sess.get_project_id(), usage=True)
    assert quotas.volumes["in_use"] == 1
    assert quotas.snapshots["in_use"] == 1

    c.volume_snapshots.delete(snap.id)
    wait_for(lambda: [s.id for s in c.volume_snapshots.list()], [])
    c.volumes.delete(vol.id)
    wait_for(lambda: [v.id for v in c.volumes.list()], [])
