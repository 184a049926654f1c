#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server for the tests: initdb into a temporary directory, pg_ctl on a loopback
# port, its unix socket in that directory. PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` system user (created if missing). Prints `export RAP_TEST_POSTGRES_URL=…` for `eval`; the tests then
# create a database per test file. Stop it with `pg_ctl -D "$RAP_TEST_POSTGRES_DIR" stop`.
#
#   eval "$(bash scripts/start-test-postgres.sh)"
#
# PGBIN (default /usr/lib/postgresql/15/bin) and PGPORT (default 54329) choose the binaries and the port.
set -euo pipefail

bin="${PGBIN:-/usr/lib/postgresql/15/bin}"
port="${PGPORT:-54329}"
if [[ ! -x "$bin/initdb" ]]; then
  echo "no PostgreSQL binaries in $bin (apt-get install postgresql, or set PGBIN)" >&2
  exit 1
fi

dir="$(mktemp -d /tmp/rap-test-postgres.XXXXXX)"
# A server that did not start leaves nothing behind (the port may be taken: set PGPORT).
trap 'rm -rf "$dir"' ERR
run=()
if [[ "$(id -u)" == 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  chown postgres "$dir"
  run=(runuser -u postgres --)
fi

"${run[@]}" "$bin/initdb" -D "$dir/data" -U rap --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
# fsync off: a test server's data need not survive a crash, and the tests run faster without it.
"${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 ||
  {
    tail -n 20 "$dir/server.log" >&2
    rm -rf "$dir"
    exit 1
  }
echo "export RAP_TEST_POSTGRES_URL=postgres://rap@127.0.0.1:$port/postgres"
echo "export RAP_TEST_POSTGRES_DIR=$dir/data"
