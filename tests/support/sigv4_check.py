"""Computes the SigV4 Authorization header botocore would send for a request oxidot sent.

Reads JSON on stdin: method, url, headers (the ones oxidot signed, without host/x-amz-date/
x-amz-security-token, which botocore adds itself), body_b64, access_key, secret_key, token,
region, service, amz_date (YYYYMMDDTHHMMSSZ). Prints the Authorization header.
"""
import base64
import datetime
import json
import sys
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

d = json.load(sys.stdin)
creds = botocore.credentials.Credentials(d["access_key"], d["secret_key"], d.get("token"))
req = botocore.awsrequest.AWSRequest(method=d["method"], url=d["url"], data=base64.b64decode(d["body_b64"]), headers=d["headers"])
when = datetime.datetime.strptime(d["amz_date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
with mock.patch("botocore.auth.get_current_datetime", return_value=when):
    botocore.auth.SigV4Auth(creds, d["service"], d["region"]).add_auth(req)
print(req.headers["Authorization"])
