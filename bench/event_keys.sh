#!/usr/bin/env bash
# One command: builds and benchmarks generate vs livez on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
HERALD_BIN="$PWD/build/herald" exec /usr/bin/python3 bench/event_keys.py "$@"
