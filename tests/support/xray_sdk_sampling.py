"""Fetches the centralized sampling rules the way the AWS X-Ray SDK for Python does: its
ServiceConnector calls GetSamplingRules, unsigned, on the daemon's TCP address (oxidot's
awsxray proxy), which signs and forwards it.

Usage: xray_sdk_sampling.py HOST:PORT. Prints JSON: the rules the SDK accepted.
"""
import json
import sys

from aws_xray_sdk.core.sampling.connector import ServiceConnector

host, port = sys.argv[1].rsplit(":", 1)
c = ServiceConnector()
c.setup_xray_client(host, port, None)
rules = c.fetch_sampling_rules()
print(json.dumps([{"name": r.name, "priority": r.priority, "rate": r.rate} for r in rules]))
