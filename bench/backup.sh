#!/usr/bin/env bash
# Backup benchmark (release build): Platter's backup repository (full,
# incremental, deduplicated second full, restore) against zstd and
# `qemu-img convert -c` on the same data, in the same run. Not a test: it
# measures and prints a Markdown report.
#   bench/backup.sh [--dir DIR] [--gib N]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --quiet -p platter --example backup-bench -- "$@"
