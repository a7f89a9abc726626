"""Attachments with python-cinderclient and the openstack CLI; the
connection_info they print is used as is by nbdinfo and qemu-io."""

import ast
import json
import re
import subprocess

from conftest import openstack, run, wait_for

SERVER = "6a7bd0b9-6cb8-4a9a-9a9f-3b1f9e3e0a11"


def table_value(output, name):
    m = re.search(rf"^\|\s*{re.escape(name)}\s*\|\s*(.*?)\s*\|$", output, re.M)
    assert m, f"no {name} in\n{output}"
    return m.group(1)


def new_volume(env, name):
    v = openstack(env, "volume", "create", "--size", "1", name)
    wait_for(lambda: openstack(env, "volume", "show", name)["status"], "available")
    return v["id"]


def cinder(env, *args, check=True):
    return run(["cinder", "--os-volume-api-version", "3.54", *args], env, check=check)


def test_cinderclient_attachment_flow_and_usable_connection_info(platter):
    env = platter.env()
    vid = new_volume(env, "att-rw")
    _, out, _ = cinder(env, "attachment-create", vid, SERVER, "--connect", "True",
                       "--host", "h1", "--ip", "127.0.0.1", "--mode", "rw")
    attachment = table_value(out, "id")
    assert table_value(out, "status") == "attaching"
    data = ast.literal_eval(table_value(out, "data"))
    assert table_value(out, "driver_volume_type") == "nbd"
    uri = data["uri"]
    assert uri == f"nbd://127.0.0.1:{platter.nbd_port}/{data['export_name']}"
    assert data["access_mode"] == "rw" and data["volume_id"] == vid

    # The connection_info works as printed.
    info = json.loads(run(["nbdinfo", "--json", uri], env)[1])
    assert info["exports"][0]["export-size"] == 1 << 30
    _, qio, _ = run(["qemu-io", "-f", "raw", "-c", "write -P 0x42 0 64K", "-c", "read -P 0x42 0 64K", uri], env)
    assert "Pattern verification failed" not in qio

    _, listing, _ = cinder(env, "attachment-list")
    assert attachment in listing
    _, shown, _ = cinder(env, "attachment-show", attachment)
    assert table_value(shown, "volume_id") == vid
    cinder(env, "attachment-complete", attachment)
    _, shown, _ = cinder(env, "attachment-show", attachment)
    assert table_value(shown, "status") == "attached"
    vol = openstack(env, "volume", "show", vid)
    assert vol["status"] == "in-use"
    assert vol["attachments"][0]["attachment_id"] == attachment

    cinder(env, "attachment-delete", attachment)
    wait_for(lambda: openstack(env, "volume", "show", vid)["status"], "available")
    code, _, _ = run(["nbdinfo", uri], env, check=False)
    assert code != 0, "the export ended with the attachment"


def test_read_only_attachment(platter):
    env = platter.env()
    vid = new_volume(env, "att-ro")
    _, out, _ = cinder(env, "attachment-create", vid, SERVER, "--connect", "True",
                       "--host", "h2", "--ip", "127.0.0.1", "--mode", "ro")
    data = ast.literal_eval(table_value(out, "data"))
    assert data["access_mode"] == "ro"
    p = subprocess.run(["qemu-io", "-f", "raw", "-c", "write 0 4K", data["uri"]],
                       capture_output=True, text=True, env=env)
    assert "Operation not permitted" in p.stdout + p.stderr or p.returncode != 0
    cinder(env, "attachment-delete", table_value(out, "id"))


def test_openstack_cli_attachment_list_show_delete(platter):
    env = platter.env()
    vid = new_volume(env, "att-osc")
    _, out, _ = cinder(env, "attachment-create", vid, SERVER, "--connect", "True", "--host", "h3", "--ip", "127.0.0.1")
    attachment = table_value(out, "id")
    listing = openstack(env, "--os-volume-api-version", "3.27", "volume", "attachment", "list")
    assert [a["ID"] for a in listing if a["Volume ID"] == vid] == [attachment]
    shown = openstack(env, "--os-volume-api-version", "3.27", "volume", "attachment", "show", attachment)
    assert shown["Status"] == "attaching"
    assert shown["Properties"]["driver_volume_type"] == "nbd"
    run(["openstack", "--os-volume-api-version", "3.27", "volume", "attachment", "delete", attachment], env)
    wait_for(lambda: openstack(env, "volume", "show", vid)["status"], "available")
    listing = openstack(env, "--os-volume-api-version", "3.27", "volume", "attachment", "list")
    assert all(a["Volume ID"] != vid for a in listing)
