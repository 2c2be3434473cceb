# Shared by the benchmarks: which backends to measure, and an empty database for a run.
# Sourced, not run:
#
#   . scripts/lib/bench.sh
#   bench_backends_up           # a throw-away PostgreSQL, unless RECONSENT_TEST_POSTGRES
#                               # names one or BENCH_BACKENDS leaves PostgreSQL out
#   url=$(fresh_database BACKEND DIR NAME)   # sqlite://DIR/NAME.db, or a new database NAME
#   bench_backends_down         # from the caller's EXIT trap
#
# BENCH_BACKENDS="sqlite postgres" (the default) or one of the two.

BENCH_BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
bench_pg_started=0

bench_backends_up() {
  case " $BENCH_BACKENDS " in *" postgres "*) ;; *) return 0 ;; esac
  [ -n "${RECONSENT_TEST_POSTGRES:-}" ] && return 0
  . scripts/lib/postgres.sh
  pg_ensure_installed
  pg_start
  bench_pg_started=1
}

bench_backends_down() {
  [ "$bench_pg_started" = 1 ] && pg_stop
  return 0
}

fresh_database() { # fresh_database BACKEND DIR NAME
  case "$1" in
    sqlite)
      rm -f "$2/$3.db" "$2/$3.db-wal" "$2/$3.db-shm"
      echo "sqlite://$2/$3.db" ;;
    postgres)
      PGOPTIONS="-c client_min_messages=warning" psql -q "$RECONSENT_TEST_POSTGRES" \
        -c "DROP DATABASE IF EXISTS $3" -c "CREATE DATABASE $3" >/dev/null
      echo "${RECONSENT_TEST_POSTGRES%/*}/$3" ;;
    *) echo "unknown backend $1" >&2; return 1 ;;
  esac
}

# run_sql URL STATEMENT: one statement on either backend, for what a benchmark sets up
# faster than a real run would (marking a million requests sent).
run_sql() {
  case "$1" in
    sqlite://*) python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit()' "${1#sqlite://}" "$2" ;;
    postgres://*) psql -q "$1" -c "$2" >/dev/null ;;
  esac
}
