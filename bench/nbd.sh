#!/usr/bin/env bash
# fio through NBD against Platter, qemu-nbd (raw and qcow2) and nbdkit file,
# in one run on this machine. Needs fio, qemu-utils and nbdkit (the test
# command installs them). Not a test: it measures and prints a report.
#   bench/nbd.sh [--runtime SECONDS] [--size GIB] [--snapshots N]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p platter
exec python3 bench/nbd_bench.py "$@"
