#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine (Debian and
# PyPI packages), then runs every test: formatting, lints, the Rust suites
# (unit and integration, against the real binary) and the real-client suites
# (openstack CLI, python-cinderclient, openstacksdk, Huawei's SDKs, promtool,
# Schemathesis against the OpenAPI documents, the web console in headless
# Chromium) and OpenStack Tempest's volume API suite against servers the
# tests start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

# Free disk at each phase, so a run that fills the disk says where.
disk() { df -h --output=avail,target . /tmp | tail -n +2 | tr -s ' ' | paste -sd ';'; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "==> Debian packages"
$SUDO apt-get update -qq
# qemu-system-x86 (7.2, for the test guest) and qemu-utils in one command, from
# one release: a newer qemu-utils (backports) breaks qemu-system 7.2.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades \
    libnbd-bin nbdkit fio qemu-system-x86 qemu-utils/bookworm xz-utils \
    python3-venv python3-pip prometheus chromium chromium-driver \
    ceph-mon ceph-mgr ceph-osd ceph-common >/dev/null

echo "==> Python clients (in .venv)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -r tests/requirements.txt

echo "==> Format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> Rust tests (free: $(disk))"
cargo build --workspace --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked
else
    cargo test --workspace --locked
fi

echo "==> Fuzzing the NBD server for a bounded time (free: $(disk))"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
(
    cd fuzz
    mkdir -p corpus/nbd_parse corpus/nbd_session
    cargo fuzz run -s none nbd_parse corpus/nbd_parse seeds/nbd_parse -- -max_total_time=30 -runs=100000000
    cargo fuzz run -s none nbd_session corpus/nbd_session seeds/nbd_session -- -max_total_time=60 -runs=100000000
)

echo "==> Real-client tests (free: $(disk))"
PATH="$PWD/.venv/bin:$PATH" PLATTER_BIN="$PWD/target/debug/platter" \
    .venv/bin/python -m pytest tests/clients -q -p no:cacheprovider

echo "==> OpenStack Tempest: tempest.api.volume (PLATTER_TEMPEST_REGEX narrows it) (free: $(disk))"
PATH="$PWD/.venv/bin:$PATH" PLATTER_BIN="$PWD/target/debug/platter" \
    .venv/bin/python tests/tempest/run.py

echo "==> All tests passed"
