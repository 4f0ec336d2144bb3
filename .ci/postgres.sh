# Sourced by .ci/run: installs PostgreSQL from the distribution's packages if missing, starts a
# throwaway server on 127.0.0.1 in a temporary folder, exports BLINDNYM_TEST_POSTGRES (a
# connection string for server/tests/postgres.rs) and stops the server when the shell exits.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bin)" ]; then
    echo "installing PostgreSQL (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(pg_bin)"
PG_DIR="$(mktemp -d /tmp/blindnym-pg.XXXXXX)"
# The first free port from 55432 (a server already there, say a developer's, is left alone).
PG_PORT="${BLINDNYM_PG_PORT:-}"
if [ -z "$PG_PORT" ]; then
    for candidate in $(seq 55432 55532); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            PG_PORT=$candidate
            break
        fi
    done
fi
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
export BLINDNYM_TEST_POSTGRES="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
trap 'as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true' EXIT
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk "{print \$3}") on 127.0.0.1:$PG_PORT"
