#!/usr/bin/env bash
# Runs a command with HERALD_TEST_PG_URL pointing at a private, throw-away PostgreSQL cluster
# (initdb in a temp dir, a free loopback port, trust auth), so the C unit tests exercise the
# PostgreSQL backend too. An existing HERALD_TEST_PG_URL is used as it is.
set -euo pipefail
if [ -n "${HERALD_TEST_PG_URL:-}" ]; then
    exec "$@"
fi
bindir=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
dir=$(mktemp -d /tmp/herald-unit-pg.XXXXXX)
as=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    as=(runuser -u postgres --)
fi
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
"${as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
export HERALD_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
"$@"
