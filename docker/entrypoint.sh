#!/bin/sh
# Entry of every app image. A service gets both database addresses from compose.yaml and connects
# through PgBouncer only when the experiment flag DB_VIA_PGBOUNCER=1 says so (migrations always use
# DIRECT_DATABASE_URL). A DATABASE_URL given explicitly wins; the web app has no database.
set -eu
if [ -z "${DATABASE_URL:-}" ] && [ -n "${DIRECT_DATABASE_URL:-}" ]; then
  if [ "${DB_VIA_PGBOUNCER:-0}" = "1" ]; then
    DATABASE_URL="${PGBOUNCER_DATABASE_URL:?DB_VIA_PGBOUNCER=1 needs PGBOUNCER_DATABASE_URL}"
  else
    DATABASE_URL="${DIRECT_DATABASE_URL}"
  fi
  export DATABASE_URL
fi
# exec: the app becomes the process Docker signals, so SIGTERM reaches its graceful stop.
exec "$@"
