#!/usr/bin/env bash
# Installs the Debian packages Herald needs that are missing. `deps.sh run` for building and
# running; `deps.sh test` adds what the test suites, sanitizers, fuzzers and benchmarks use.
set -euo pipefail

run_pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
          libpq-dev libssl-dev zlib1g-dev libdeflate-dev libcurl4-openssl-dev postgresql-client
          libxml2-dev libopendkim-dev nodejs npm)
test_pkgs=(libcmocka-dev postgresql python3-pytest python3-requests clang libclang-rt-14-dev
           wrk prometheus openssl curl sqlite3 procps python3-aiosmtpd python3-dkim postfix
           python3-pytest-xdist chromium)

pkgs=("${run_pkgs[@]}")
if [ "${1:-run}" = "test" ]; then
    pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
    # NodeSource's nodejs ships npm itself (and conflicts with Debian's npm package).
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet, and the list may be stale.
$SUDO apt-get update -qq
# postfix is only wanted for the benchmark's smtp-source and smtp-sink: no questions, no daemon.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# prometheus is only wanted for promtool; do not leave its daemon running.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
    $SUDO systemctl disable --now postfix >/dev/null 2>&1 || $SUDO service postfix stop >/dev/null 2>&1 || true
fi
if printf '%s\n' "${missing[@]}" | grep -qx prometheus; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || $SUDO service prometheus stop >/dev/null 2>&1 || true
fi
