#!/bin/bash
# The official postgres image's start-up, the part the portal uses: on the first start
# (empty PGDATA) initdb with POSTGRES_USER/POSTGRES_PASSWORD, run the scripts of
# /docker-entrypoint-initdb.d/ against a server no client can reach yet, then serve.
set -euo pipefail

first="${1:-}"
if [ "$first" = "postgres" ] || [ "${first:0:1}" = "-" ]; then
  [ "${1:-}" = "postgres" ] || set -- postgres "$@"
  if [ "$(id -u)" = "0" ]; then
    # A fresh volume belongs to root: hand it over, then run as postgres.
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
  fi

  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}"
    export POSTGRES_USER="${POSTGRES_USER:-postgres}"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    # The first start's server listens on a private socket only, so neither the health
    # check nor a client sees it before the init scripts are done.
    init_socket="$(mktemp -d)"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$init_socket" \
      start >/dev/null
    export PGHOST="$init_socket"
    for script in /docker-entrypoint-initdb.d/*; do
      case "$script" in
        *.sh)
          echo "postgres init: running $script"
          if [ -x "$script" ]; then "$script"; else bash "$script"; fi
          ;;
        *.sql)
          echo "postgres init: running $script"
          psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$script"
          ;;
        *) ;;
      esac
    done
    unset PGHOST
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    rmdir "$init_socket" 2>/dev/null || true
    echo "postgres init: done"
  fi
fi

exec "$@"
