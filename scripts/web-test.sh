#!/usr/bin/env bash
# The dashboard's tests: Vitest component tests, then the end-to-end run (Playwright driving
# Debian's chromium against a real Herald on SQLite with the suite's fakes), which writes a
# screenshot of each page to build/e2e-screenshots/. Builds the dashboard first; needs
# build/herald (`make build`). `web-test.sh unit` runs the component tests alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/web-build.sh"
cd "$root/web"
npx vitest run
if [ "${1:-}" = "unit" ]; then
    exit 0
fi
export HERALD_BIN="${HERALD_BIN:-$root/build/herald}"
if [ ! -x "$HERALD_BIN" ]; then
    echo "web-test: $HERALD_BIN is missing (make build)" >&2
    exit 1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "web-test: ${CHROMIUM:-/usr/bin/chromium} is missing (scripts/deps.sh test installs chromium)" >&2
    exit 1
fi
node e2e/run.mjs
