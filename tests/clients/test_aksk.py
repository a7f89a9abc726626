"""AK/SK with the real Huawei SDK signer: huaweicloudsdkcore's `Signer` and
`BasicCredentials` sign a Cinder request, `requests` sends it."""

import json
import re
import subprocess

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from conftest import platter_binary, run


def admin_keys(platter):
    """An access key for the bootstrap admin, made at the shell."""
    _, out, _ = run([platter_binary(), "admin", "--data-dir", platter.data_dir,
                     "credential", "create", "--user", "admin", "--description", "python sdk"],
                    env=None)
    fields = dict(re.findall(r"^(\w+): (\S+)$", out, re.M))
    return fields["access_key"], fields["secret_key"], fields["user_id"]


def admin_project_id(platter):
    _, out, _ = run([platter_binary(), "admin", "--data-dir", platter.data_dir, "project", "list"], env=None)
    return next(line.split("\t")[0] for line in out.splitlines() if line.split("\t")[1] == "admin")


def signed(platter, ak, sk, project_id, method, path, query=None, body=None):
    """Signs like the SDK's clients do (X-Project-Id from BasicCredentials,
    Content-Type JSON) and returns (url, headers, body) to send."""
    host = platter.volume_url.split("://", 1)[1]
    request = SdkRequest(method=method, schema="http", host=host, resource_path=path,
                         query_params=query or [], header_params={"Content-Type": "application/json"},
                         body=json.dumps(body) if body is not None else "")
    credentials = BasicCredentials(ak, sk, project_id)
    request.header_params["X-Project-Id"] = credentials.project_id
    Signer(credentials).sign(request)
    return f"http://{host}{request.uri}", dict(request.header_params), request.body


def test_signed_volume_list_and_tampered_variants(platter):
    ak, sk, _ = admin_keys(platter)
    project_id = admin_project_id(platter)

    url, headers, _ = signed(platter, ak, sk, project_id, "GET", f"/v2/{project_id}/volumes",
                             query=[("limit", 10), ("status", ["available", "error"])])
    r = requests.get(url, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["volumes"], list)

    # A signed create, then the same with the body changed after signing.
    body = {"volume": {"size": 1, "name": "sdk-signed"}}
    url, headers, data = signed(platter, ak, sk, project_id, "POST", f"/v2/{project_id}/volumes", body=body)
    r = requests.post(url, headers=headers, data=data, timeout=30)
    assert r.status_code == 202, r.text
    created = r.json()["volume"]["id"]

    url, headers, data = signed(platter, ak, sk, project_id, "POST", f"/v2/{project_id}/volumes",
                                body={"volume": {"size": 1, "name": "tampered"}})
    r = requests.post(url, headers=headers, data=data.replace(b'"size": 1', b'"size": 9'), timeout=30)
    assert r.status_code == 401, r.text
    assert "unauthorized" in r.json()

    # The query changed after signing.
    url, headers, _ = signed(platter, ak, sk, project_id, "GET", f"/v2/{project_id}/volumes",
                             query=[("limit", 10)])
    r = requests.get(url.replace("limit=10", "limit=11"), headers=headers, timeout=30)
    assert r.status_code == 401, r.text

    # A wrong secret.
    url, headers, _ = signed(platter, ak, "x" * 40, project_id, "GET", f"/v2/{project_id}/volumes")
    r = requests.get(url, headers=headers, timeout=30)
    assert r.status_code == 401, r.text

    url, headers, _ = signed(platter, ak, sk, project_id, "GET", f"/v2/{project_id}/volumes")
    names = [v["name"] for v in requests.get(url, headers=headers, timeout=30).json()["volumes"]]
    assert "sdk-signed" in names and "tampered" not in names
    url, headers, _ = signed(platter, ak, sk, project_id, "DELETE", f"/v2/{project_id}/volumes/{created}")
    assert requests.delete(url, headers=headers, timeout=30).status_code == 202
