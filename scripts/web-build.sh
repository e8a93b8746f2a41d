#!/usr/bin/env bash
# Builds the dashboard into web/dist (Node and npm are build-time tools only): `npm ci` when
# node_modules is missing or older than the lockfile, a type check, the Vite build; then checks
# that the main bundle stays under 200 KB gzipped and prints its size.
# `web-build.sh --if-missing` does nothing when web/dist/index.html exists (for `make run`).
set -euo pipefail
cd "$(dirname "$0")/../web"

if [ "${1:-}" = "--if-missing" ] && [ -f dist/index.html ]; then
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "web-build: npm is missing (scripts/deps.sh installs nodejs and npm)" >&2
    exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "web-build: Node.js $(node --version) is too old: Vite 7 needs 20.19 or later" >&2
    exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

main=$(grep -o 'assets/index-[A-Za-z0-9_-]*\.js' dist/index.html | head -n 1)
gz=$(gzip -9c "dist/$main" | wc -c)
total=$(cat dist/assets/*.js | gzip -9c | wc -c)
echo "web: main bundle $main $((gz / 1024)) KiB gzipped ($gz bytes); all JS $((total / 1024)) KiB gzipped"
if [ "$gz" -ge 204800 ]; then
    echo "web-build: the main bundle is over 200 KB gzipped" >&2
    exit 1
fi
