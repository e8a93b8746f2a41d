#!/usr/bin/env bash
# One command: builds and runs bench/ota.py (its docstring says what it measures).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
HERALD_BIN="$PWD/build/herald" exec /usr/bin/python3 bench/ota.py "$@"
