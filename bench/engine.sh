#!/usr/bin/env bash
# Engine benchmark (release build): snapshot/clone latency for 1 GiB and
# 1 TiB volumes, the disk cost of a fresh 1 TiB volume, and throughput against
# a plain preallocated file, fresh and with 50 snapshots. Not a test: it
# measures and prints a Markdown report.
#   bench/engine.sh [--dir DIR] [--gib N] [--ms MILLISECONDS_PER_WORKLOAD]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p platter-engine --example engine-bench -- "$@"
