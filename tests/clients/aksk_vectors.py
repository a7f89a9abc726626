# Run: .venv/bin/python tests/clients/aksk_vectors.py
"""Signs hand-built requests with huaweicloudsdkcore's real Signer and prints
what the Rust verifier's tests need: method, path and query as sent, the
headers, the body and the Authorization header. Run once; the output is
pasted into crates/api/src/aksk.rs as literals."""
import json
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

AK = "QTWAOYTTINDUT2QVKYUC"
SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
DATE = "20240102T030405Z"
HOST = "127.0.0.1:8776"
PROJECT = "0123456789abcdef0123456789abcdef"


def sign(method, path, query, body=None, content_type="application/json"):
    headers = {"X-Sdk-Date": DATE, "X-Project-Id": PROJECT}
    if content_type:
        headers["Content-Type"] = content_type
    req = SdkRequest(method=method, schema="http", host=HOST, resource_path=path,
                     query_params=query, header_params=headers, body=body)
    Signer(BasicCredentials(AK, SK, PROJECT)).sign(req)
    path_sent, _, query_sent = req.uri.partition("?")
    body_out = req.body.decode() if isinstance(req.body, bytes) else (req.body or "")
    print(json.dumps({"method": method, "path": path_sent, "query": query_sent,
                      "headers": req.header_params, "body": body_out}, indent=1))


sign("GET", f"/v3/{PROJECT}/volumes",
     [("status", ["error", "available"]), ("limit", 10), ("name", "a b/c"), ("marker", "x~y*z"), ("all_tenants", True)])
sign("GET", f"/v3/{PROJECT}/volumes/my%20vol%C3%A9(1)/metadata/k%2Bey", [])
sign("POST", f"/v3/{PROJECT}/volumes", [],
     body=json.dumps({"volume": {"size": 1, "name": "signed"}}))
sign("DELETE", f"/v2/{PROJECT}/volumes/", [], body="", content_type=None)
