#!/usr/bin/env bash
# One command: builds and benchmarks sync ingest and Mixpanel forwarding on both backends.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
HERALD_BIN="$PWD/build/herald" exec /usr/bin/python3 bench/sync.py "$@"
