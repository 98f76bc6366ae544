"""Reads CloudWatch Logs back from an endpoint (moto) with boto3.

Usage: cwlogs_get.py ENDPOINT REGION  Prints JSON: {"groups": {name: {"retention": days|null,
"tags": {...}, "streams": {name: [{"timestamp": ms, "message": text}, ...]}}}}.
"""
import json
import sys

import boto3

endpoint, region = sys.argv[1], sys.argv[2]
c = boto3.client("logs", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
out = {}
for g in c.describe_log_groups()["logGroups"]:
    name = g["logGroupName"]
    tags = c.list_tags_log_group(logGroupName=name).get("tags", {})
    streams = {}
    for s in c.describe_log_streams(logGroupName=name)["logStreams"]:
        ev = c.get_log_events(logGroupName=name, logStreamName=s["logStreamName"], startFromHead=True)["events"]
        streams[s["logStreamName"]] = [{"timestamp": e["timestamp"], "message": e["message"]} for e in ev]
    out[name] = {"retention": g.get("retentionInDays"), "tags": tags, "streams": streams}
print(json.dumps({"groups": out}))
