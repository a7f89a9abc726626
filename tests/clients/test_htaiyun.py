"""The htaiyun volume API (seed 004, issue 13): a client sends each of the
14 requests as the seed documents them, with the platform's headers, and
checks the envelope, the status codes and keys, and that the volumes are
the ones Cinder and EVS show. Servers run on the no-hypervisor driver:
attachments are real, guests are not started."""

import time

import pytest
import requests

from conftest import ADMIN_PASSWORD, openstack, run, serving, wait_for

BASE = "/services/openstack/volume"
CONFIG = """
compute_driver = "none"
"""


@pytest.fixture(scope="module")
def ht():
    yield from serving(CONFIG)


def post(p, path, headers=None, data=None, json=None):
    return requests.post(p.volume_url + path, headers=headers or {}, data=data, json=json,
                         timeout=30)


def envelope(r, status=200, message="OK"):
    body = r.json()
    assert (r.status_code, body["status"], body["message"]) == (status, status, message), r.text
    return body


def session(p, user="admin", password=ADMIN_PASSWORD, project="admin"):
    r = post(p, "/services/openstack/session",
             data={"username": user, "password": password, "project": project})
    result = envelope(r)["result"]
    return result["sessionToken"], result["sessionSecret"], result["projectId"]


@pytest.fixture(scope="module")
def login(ht):
    token, secret, project = session(ht)
    r = post(ht, "/services/openstack/apptoken",
             headers={"IMR-SESSION-TOKEN": token, "IMR-SESSION-SECRET": secret})
    app = envelope(r)["result"]["accessToken"]
    headers = {"IMR-SESSION-TOKEN": token, "IMR-SESSION-SECRET": secret, "HT-ACCESS-TOKEN": app}
    return headers, project, token


def wait_volume_status(env, vid, status):
    wait_for(lambda: openstack(env, "volume", "show", vid)["status"], status)


def test_sessions_are_required_and_checked(ht, login):
    headers, _, _ = login
    for missing in ["IMR-SESSION-TOKEN", "IMR-SESSION-SECRET", "HT-ACCESS-TOKEN"]:
        partial = {k: v for k, v in headers.items() if k != missing}
        r = requests.get(ht.volume_url + BASE + "/list", headers=partial, timeout=30)
        envelope(r, 403, "volumes.error.access-denied")
    wrong = dict(headers, **{"IMR-SESSION-SECRET": "0" * 32})
    envelope(post(ht, BASE + "/create", wrong, data={"name": "x", "size": "1"}),
             403, "volumes.error.access-denied")
    wrong = dict(headers, **{"HT-ACCESS-TOKEN": "not-the-token"})
    envelope(post(ht, BASE + "/create", wrong, data={"name": "x", "size": "1"}),
             403, "volumes.error.access-denied")
    # An expired (revoked) session.
    token, secret, _ = session(ht)
    gone = dict(headers, **{"IMR-SESSION-TOKEN": token, "IMR-SESSION-SECRET": secret})
    envelope(requests.get(ht.volume_url + BASE + "/list", headers=gone, timeout=30))
    r = requests.delete(ht.identity_url + "/v3/auth/tokens",
                        headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=30)
    assert r.status_code == 204, r.text
    envelope(requests.get(ht.volume_url + BASE + "/list", headers=gone, timeout=30),
             403, "volumes.error.access-denied")
    # Bad credentials make no session.
    r = post(ht, "/services/openstack/session",
             data={"username": "admin", "password": "wrong", "project": "admin"})
    envelope(r, 403, "volumes.error.access-denied")
    assert openstack(ht.env(), "volume", "list") == []


def test_the_fourteen_requests(ht, login):
    headers, project, token = login
    env = ht.env()
    run(["openstack", "quota", "set", "--gigabytes", "20", "admin"], env)

    # 01 create: sizes checked; form-encoded as a browser form sends it.
    envelope(post(ht, BASE + "/create", headers, data={"name": "z", "size": "0"}),
             406, "volumes.error.size-invalid")
    envelope(post(ht, BASE + "/create", headers, data={"name": "z", "size": "-3"}),
             406, "volumes.error.size-invalid")
    envelope(post(ht, BASE + "/create", headers, data={"name": "z"}),
             406, "volumes.error.require-parameter-size")
    envelope(post(ht, BASE + "/create", headers, data={"name": "z", "size": "30"}),
             406, "volumes.error.size-insufficient")
    assert openstack(env, "volume", "list") == []
    r = post(ht, BASE + "/create", headers,
             data={"name": "ht1", "description": "first", "size": "1", "userid": "42"})
    v1 = envelope(r)["result"]
    assert isinstance(v1["unique"], int) and v1["status"] == "ACTIVED" and v1["userid"] == 42
    assert v1["volumeStatus"] in ("CREATING", "AVAILABLE") and v1["size"] == 1
    assert v1["zone"] == "nova" and isinstance(v1["created"], int)
    u1, vid1 = v1["unique"], v1["volumeId"]
    # The same volume, through Cinder and EVS.
    wait_volume_status(env, vid1, "available")
    shown = openstack(env, "volume", "show", vid1)
    assert (shown["name"], shown["description"], shown["size"]) == ("ht1", "first", 1)
    r = requests.get(f"{ht.volume_url}/v2/{project}/cloudvolumes/{vid1}",
                     headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 200 and r.json()["volume"]["name"] == "ht1", r.text

    # 02 get and 08 status.
    got = envelope(post(ht, f"{BASE}/{u1}/get", headers))["result"]
    assert (got["unique"], got["volumeId"], got["volumeStatus"]) == (u1, vid1, "AVAILABLE")
    st = envelope(post(ht, f"{BASE}/{u1}/status", headers))["result"]
    assert (st["volumeStatus"], st["status"]) == ("AVAILABLE", "ACTIVED")
    envelope(post(ht, f"{BASE}/99999/get", headers), 406, "volumes.error.not-exists")
    envelope(post(ht, f"{BASE}/99999/status", headers), 406, "volumes.error.not-exists")

    # 04 update (JSON) and 05 update one field.
    envelope(post(ht, f"{BASE}/{u1}/update", headers,
                  json={"name": "ht1b", "description": "renamed"}))
    assert openstack(env, "volume", "show", vid1)["name"] == "ht1b"
    envelope(post(ht, f"{BASE}/{u1}/update/description", headers, data={"value": "one field"}))
    assert openstack(env, "volume", "show", vid1)["description"] == "one field"
    envelope(post(ht, f"{BASE}/99999/update", headers, data={"name": "n"}),
             406, "volumes.error.not-exists")

    # 06 extend: larger only.
    envelope(post(ht, f"{BASE}/{u1}/extend", headers, data={"size": "1"}),
             406, "volumes.error.size-invalid")
    envelope(post(ht, f"{BASE}/{u1}/extend", headers, data={"size": "2"}))
    wait_for(lambda: openstack(env, "volume", "show", vid1)["size"], 2)
    envelope(post(ht, f"{BASE}/{u1}/extend", headers, data={"size": "40"}),
             406, "volumes.error.size-insufficient")

    # 03 clone.
    wait_volume_status(env, vid1, "available")
    c = envelope(post(ht, f"{BASE}/{u1}/clone", headers,
                      data={"uid": "7", "name": "ht1-clone"}))["result"]
    u2, vid2 = c["unique"], c["volumeId"]
    assert c["sourceVolid"] == vid1 and u2 != u1 and "attachments" in c
    wait_volume_status(env, vid2, "available")
    assert openstack(env, "volume", "show", vid2)["size"] == 2
    envelope(post(ht, f"{BASE}/99999/clone", headers, data={"uid": "7", "name": "x"}),
             406, "volumes.error.not-exists")

    # 09 list: filters, paging, the seed's `entites`.
    r = requests.get(f"{ht.volume_url}{BASE}/list", headers=headers, timeout=30,
                     params={"status": "ALL_STATUS", "page": 1, "offset": 1, "order": "created",
                             "asc": "true"})
    page = envelope(r)["result"]
    assert (page["total"], page["hasPrevious"], page["hasNext"]) == (2, False, True)
    assert [e["unique"] for e in page["entites"]] == [u1]
    r = requests.get(f"{ht.volume_url}{BASE}/list", headers=headers, timeout=30,
                     params={"keywords": "clone"})
    assert [e["unique"] for e in envelope(r)["result"]["entites"]] == [u2]

    # A server to attach to (its root volume made through Cinder).
    root = openstack(env, "volume", "create", "--size", "1", "root")
    wait_volume_status(env, root["id"], "available")
    r = requests.post(f"{ht.compute_url}/v2.1/{project}/servers", headers={"X-Auth-Token": token},
                      json={"server": {"name": "hs", "flavorRef": "1", "networks": "none",
                                       "block_device_mapping_v2": [{
                                           "boot_index": 0, "uuid": root["id"],
                                           "source_type": "volume",
                                           "destination_type": "volume"}]}}, timeout=30)
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    wait_for(lambda: openstack(env, "server", "show", sid)["status"], "ACTIVE")

    # 11 attach (by the OpenStack id) and 12 dettach (by unique).
    envelope(post(ht, f"{BASE}/{vid1}/attach", headers, data={"serverid": sid}))
    wait_volume_status(env, vid1, "in-use")
    assert openstack(env, "volume", "show", vid1)["attachments"][0]["server_id"] == sid
    envelope(post(ht, f"{BASE}/{u1}/dettach", headers, data={"serverid": sid}))
    wait_volume_status(env, vid1, "available")

    # 10 enable/disable: disabling detaches from the server; a disabled
    # volume refuses attaching, here and through Nova.
    envelope(post(ht, f"{BASE}/{u1}/attach", headers, data={"serverid": sid}))
    wait_volume_status(env, vid1, "in-use")
    envelope(post(ht, f"{BASE}/{u1}/enable", headers, data={"status": "DISABLED", "serverId": sid}))
    wait_volume_status(env, vid1, "available")
    assert envelope(post(ht, f"{BASE}/{u1}/status", headers))["result"]["status"] == "DISABLED"
    r = post(ht, f"{BASE}/{u1}/attach", headers, data={"serverid": sid})
    assert r.status_code == 406 and "disabled" in r.json()["description"], r.text
    r = requests.post(f"{ht.compute_url}/v2.1/{project}/servers/{sid}/os-volume_attachments",
                      headers={"X-Auth-Token": token},
                      json={"volumeAttachment": {"volumeId": vid1}}, timeout=30)
    assert r.status_code == 400 and "disabled" in r.text, r.text
    assert openstack(env, "volume", "show", vid1)["status"] == "available"
    r = requests.get(f"{ht.volume_url}{BASE}/list", headers=headers, timeout=30,
                     params={"status": "DISABLED"})
    assert [e["unique"] for e in envelope(r)["result"]["entites"]] == [u1]
    envelope(post(ht, f"{BASE}/{u1}/enable", headers, data={"status": "ACTIVED"}))
    envelope(post(ht, f"{BASE}/{u1}/enable", headers, data={"status": "MAYBE"}),
             406, "volumes.error.invalid-parameter")

    # 13 batch enable/disable, with each item's result.
    r = post(ht, f"{BASE}/batchenableordisable", headers,
             json={"serverids": [str(u1), str(u2), "99999"], "status": "DISABLED"})
    items = envelope(r)["result"]
    assert [(i["id"], i["status"]) for i in items] == [(str(u1), 200), (str(u2), 200),
                                                      ("99999", 406)]
    assert items[2]["message"] == "volumes.error.not-exists"
    r = post(ht, f"{BASE}/batchenableordisable", headers,
             json={"serverids": [str(u1), str(u2)], "status": "ACTIVED"})
    assert all(i["status"] == 200 for i in envelope(r)["result"])

    # 14 batch delete, and 07 delete.
    r = post(ht, f"{BASE}/batchdelete", headers, json={"volumns": [str(u2), "99999"]})
    items = envelope(r)["result"]
    assert [(i["id"], i["status"]) for i in items] == [(str(u2), 200), ("99999", 406)]
    envelope(post(ht, f"{BASE}/{u1}/delete", headers))
    deadline = time.time() + 60
    while {vid1, vid2} & {v["ID"] for v in openstack(env, "volume", "list")}:
        assert time.time() < deadline
        time.sleep(0.3)
    envelope(post(ht, f"{BASE}/{u1}/delete", headers), 406, "volumes.error.not-exists")
    envelope(post(ht, f"{BASE}/{u1}/get", headers), 406, "volumes.error.not-exists")
