"""Reads segments back from an X-Ray API endpoint (moto) with boto3's BatchGetTraces.

Usage: xray_get.py ENDPOINT REGION TRACE_ID...  Prints a JSON list of segment documents.
"""
import json
import sys

import boto3

endpoint, region, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
c = boto3.client("xray", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
out = []
for t in c.batch_get_traces(TraceIds=ids)["Traces"]:
    for s in t["Segments"]:
        out.append(json.loads(s["Document"]))
print(json.dumps(out))
