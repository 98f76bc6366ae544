#!/usr/bin/env bash
# Installs what the test suite and the loopback demo need, idempotently (a second run changes
# nothing), and says why each thing is needed. Where it cannot install something it stops with one
# line naming what is missing and how to get it.
#
#   cargo ≥ 1.85 + a C compiler  builds oxidot and the demo API (rustup; gcc or clang as `cc`)
#   prometheus                   the tests' real remote-write receiver (Debian's package, via apt)
#   libssl-dev, pkg-config       rdkafka-sys builds librdkafka with TLS/SCRAM against them (apt)
#   python3 (3.11) with venv     .venv with tests/requirements.txt: the OpenTelemetry Python SDK,
#                                botocore (independent SigV4 check), moto + boto3 (X-Ray API),
#                                python-hcl2 (parses terraform/*.tf)
#   terraform (optional)         only `terraform fmt -check`; without it that one check is reported
#                                as SKIPPED and the HCL checks still run
#
# apt-get needs root: as root the script installs prometheus and python3-venv when missing; as
# another user it fails with one line if they are missing (install them, or run it as root).
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "setup.sh: $*" >&2
  exit 1
}
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  # Debian's prometheus package would start a service; a policy-rc.d that says no keeps it down.
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  echo "setup.sh: apt-get install $*" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}

# Rust toolchain and C compiler: checked, not installed (rustup is the user's choice of install).
command -v cargo >/dev/null 2>&1 ||
  die "cargo is missing: install Rust ≥ 1.85 with rustup (https://rustup.rs), then run this again"
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
[ "$rust_minor" -ge 85 ] 2>/dev/null ||
  die "Rust ≥ 1.85 is needed (Cargo.toml rust-version; dependencies need it), found $(rustc --version): run 'rustup update stable'"
command -v cc >/dev/null 2>&1 ||
  die "no C compiler (cc): some crates build C code; install gcc (apt-get install gcc) or clang"

# OpenSSL headers: rdkafka-sys builds librdkafka with TLS and SCRAM against the system OpenSSL
# (the kafka exporter and receiver); pkg-config finds it.
if ! { dpkg -s libssl-dev >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1; }; then
  is_root || die "libssl-dev and pkg-config are missing and installing them needs root: run 'sudo apt-get install libssl-dev pkg-config', or run this script as root"
  apt_install libssl-dev pkg-config
fi

# Prometheus: the remote-write tests and the end-to-end test write to a real one.
if ! command -v prometheus >/dev/null 2>&1; then
  is_root || die "prometheus is missing and installing it needs root: run 'sudo apt-get install prometheus' (or put a Prometheus ≥ 2.40 binary on PATH), or run this script as root"
  apt_install prometheus
fi

# Python with venv: the SDK client, moto, botocore and python-hcl2 live in .venv.
python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || die "$python is missing: install Python 3.11 (apt-get install python3 python3-venv)"
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    is_root || die "$python has no venv/ensurepip module: run 'sudo apt-get install python3-venv', or run this script as root"
    apt_install python3-venv
  fi
  rm -rf .venv
  "$python" -m venv .venv || die "'$python -m venv .venv' failed (see above)"
fi
if ! cmp -s tests/requirements.txt .venv/.oxidot-requirements 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt ||
    die "pip could not install tests/requirements.txt into .venv (is PyPI reachable?)"
  cp tests/requirements.txt .venv/.oxidot-requirements
fi

if ! command -v terraform >/dev/null 2>&1; then
  echo "setup.sh: note: no terraform binary; 'terraform fmt -check' will be reported as SKIPPED (the HCL checks still run)" >&2
fi
