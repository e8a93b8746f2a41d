#!/usr/bin/env bash
# One command: the event queries' plans and timings at 1M events (EVENTS) on both backends.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
exec /usr/bin/python3 bench/query_plans.py "$@"
