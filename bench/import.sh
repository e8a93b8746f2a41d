#!/usr/bin/env bash
# One command: builds and runs bench/import.py (its docstring says what it measures).
# Usage: bench/import.sh [ROWS] [POSTGRES_URL]   (RUNS=3, BACKENDS=sqlite,postgres optional)
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
HERALD_BIN="$PWD/build/herald" exec /usr/bin/python3 bench/import.py "$@"
