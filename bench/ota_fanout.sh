#!/usr/bin/env bash
# One command: builds and benchmarks the rate fan-out (PUT /api/ota/rates → outbox → channels)
# to local fake channels (tests/fakes/ota_ari.py), on the backends in BACKENDS.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
HERALD_BIN="$PWD/build/herald" exec /usr/bin/python3 bench/ota_fanout.py "$@"
