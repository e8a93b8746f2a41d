#!/usr/bin/env bash
# One command: bench/floors.c, what this machine allows before any Herald code runs (its top
# comment says what it measures), median of RUNS runs, with the budgets the event-key and
# OTA-push goals leave per request. The durable inserts go to a directory on the file system
# the benchmarks' databases use (TMPDIR). Environment: RUNS (3), ROWS (300000), BATCH (64).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work/notif.xml" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import otapush_support as ota  # the 4 KB message bench/ota.sh pushes
open(sys.argv[1], "w").write(ota.padded_notif("BENCH-HOTEL", "R000001", 4096))
PY
for i in $(seq "$RUNS"); do
    build/floors "$work" "$work/notif.xml" "${ROWS:-300000}" "${BATCH:-64}"
done >"$work/runs"
/usr/bin/python3 - "$work/runs" "$RUNS" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, rate, cpu = line.split()
    runs.setdefault(name, []).append((float(rate), float(cpu)))
print(f"median of {sys.argv[2]} runs (rate per second, CPU of one thread per row or parse)")
for name, v in runs.items():
    print(f"  {name:40} {statistics.median(r for r, _ in v):>9,.0f}/s "
          f"{statistics.median(c for _, c in v):>7.1f} us")
print("Budget: a goal of R x livez on N cores leaves N x 1e6 / (R x livez) us of CPU per "
      "request\nfor wrk and Herald together; bench/event_keys.sh and bench/ota.sh print livez "
      "and each side's share.")
PY
