#!/usr/bin/env bash
# Installs what the tests and the loopback demo need, idempotently: Debian's prometheus (the real
# remote-write receiver) and a .venv with tests/requirements.txt (OpenTelemetry SDK, botocore,
# moto, boto3, python-hcl2).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Prometheus package would start a service; a policy-rc.d that says no keeps it down.
if ! command -v prometheus >/dev/null 2>&1; then
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if ! cmp -s tests/requirements.txt .venv/.oxidot-requirements 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt .venv/.oxidot-requirements
fi
