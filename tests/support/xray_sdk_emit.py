"""Sends segments with the AWS X-Ray SDK for Python to the daemon address in
AWS_XRAY_DAEMON_ADDRESS (oxidot's awsxray receiver), over UDP as the SDK always does.

Usage: xray_sdk_emit.py SERVICE. Prints JSON: trace_id, segment_id, subsegment ids by name.
Sampling is off (every segment is sent); a subsegment raises so its cause has an exception.
"""
import json
import sys

from aws_xray_sdk.core import xray_recorder

service = sys.argv[1]
xray_recorder.configure(sampling=False, context_missing="LOG_ERROR", service=service)

seg = xray_recorder.begin_segment(service)
seg.put_http_meta("method", "GET")
seg.put_http_meta("url", "http://example.test/orders?id=7")
seg.put_http_meta("client_ip", "192.0.2.7")
seg.put_http_meta("user_agent", "pytest-agent")
seg.put_annotation("customer", "acme")
seg.put_annotation("items", 3)
seg.put_metadata("order", {"total": 12.5, "lines": ["a", "b"]}, "shop")
seg.set_user("alice")

sub = xray_recorder.begin_subsegment("payments.example.test", namespace="remote")
sub.put_http_meta("method", "POST")
sub.put_http_meta("url", "https://payments.example.test/charge")
sub.put_http_meta("status", 503)
sub.put_http_meta("content_length", 42)
xray_recorder.end_subsegment()

failing = xray_recorder.begin_subsegment("validate")
try:
    raise ValueError("bad order")
except ValueError as e:
    import traceback
    failing.add_exception(e, traceback.extract_stack())
xray_recorder.end_subsegment()

seg.put_http_meta("status", 200)
xray_recorder.end_segment()

print(json.dumps({
    "trace_id": seg.trace_id,
    "segment_id": seg.id,
    "subsegments": {s.name: s.id for s in seg.subsegments},
}))
