#!/usr/bin/env bash
# Runs oxidot's whole test suite. Installs what the tests need first, idempotently:
# a Python virtualenv in .venv with the OpenTelemetry SDK (tests/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if ! cmp -s tests/requirements.txt .venv/.oxidot-requirements 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt .venv/.oxidot-requirements
fi
export OXIDOT_TEST_PYTHON="$PWD/.venv/bin/python"

cargo test --all-targets "$@"
