# A throw-away PostgreSQL 15 cluster for tests and benchmarks: sourced, not run.
#
#   . scripts/lib/postgres.sh
#   pg_ensure_installed        # Debian's postgresql, if missing
#   pg_start                   # initdb in a fresh folder, start on a free port,
#                              # export RECONSENT_TEST_POSTGRES=postgres://USER@127.0.0.1:PORT/postgres
#   pg_stop                    # stop it and remove the folder (call it from the caller's EXIT trap)
#
# The server refuses to run as root, so as root it runs as the `postgres` system user
# (created by the package). Durability is off (fsync, full pages, synchronous commit):
# the cluster lives only as long as the run, and the tests measure the engine, not the disk.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""

pg_ensure_installed() {
  [ -x "$PG_BIN/initdb" ] && return 0
  printf '== installing postgresql (Debian)\n'
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# Runs a server binary as the cluster's owner.
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local user port
  if [ "$(id -u)" = 0 ]; then user=postgres; else user=$(id -un); fi
  PG_DIR=$(mktemp -d /tmp/reconsent-pg.XXXXXX)
  chmod 0755 "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U "$user" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  # A free port, tried again if another process takes it between the probe and the start.
  for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
      -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 \
          -c fsync=off -c full_page_writes=off -c synchronous_commit=off \
          -c shared_buffers=256MB -c max_wal_size=4GB -c log_min_messages=warning" >/dev/null; then
      export RECONSENT_TEST_POSTGRES="postgres://$user@127.0.0.1:$port/postgres"
      printf '== PostgreSQL %s on port %s (%s)\n' "$("$PG_BIN/postgres" --version | awk '{print $3}')" "$port" "$PG_DIR"
      return 0
    fi
  done
  cat "$PG_DIR/server.log" >&2
  return 1
}

pg_stop() {
  [ -n "$PG_DIR" ] || return 0
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}
