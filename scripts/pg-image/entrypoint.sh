#!/bin/sh
# Entrypoint of the locally built Postgres image (crmsync/postgres:15-debian).
# It mirrors the official postgres image's entrypoint for what the tests use:
#   - POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB
#     (default: the user name), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD;
#   - on first start: initdb (trust on the local socket, scram-sha-256 over
#     TCP), listen_addresses='*', a temporary socket-only server that creates
#     POSTGRES_DB and runs /docker-entrypoint-initdb.d/*.sql|*.sh, then stops;
#   - a leading "postgres" argument is dropped and the rest (e.g. -c fsync=off)
#     is passed to the server; any other command is run as is.
# Like the official image it logs "database system is ready to accept
# connections" twice on first start (temporary server, then the real one),
# which testcontainers' postgres wait strategy counts on.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA

if [ "${1:-}" = postgres ]; then
	shift
fi
case "${1:-}" in
'' | -*) ;;
*) exec "$@" ;;
esac

as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

if [ "$(id -u)" = 0 ]; then
	mkdir -p /var/run/postgresql "$PGDATA"
	chown postgres:postgres /var/run/postgresql "$PGDATA"
	chmod 2775 /var/run/postgresql
	chmod 0700 "$PGDATA"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
		echo "       (set POSTGRES_HOST_AUTH_METHOD=trust to allow connections without a password)" >&2
		exit 1
	fi
	pwfile="$(mktemp)"
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	chown postgres:postgres "$pwfile" 2>/dev/null || true
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words.
	as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
	rm -f "$pwfile"
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

	# Temporary server on the unix socket only, for the setup below.
	as_postgres pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start
	psqlc() {
		as_postgres psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc -h /var/run/postgresql \
			--username "$POSTGRES_USER" "$@"
	}
	if [ "$POSTGRES_DB" != postgres ]; then
		psqlc --dbname postgres -v db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sql) echo "running $f"; psqlc --dbname "$POSTGRES_DB" -f "$f" ;;
		*.sh) echo "running $f"; . "$f" ;;
		*) ;;
		esac
	done
	as_postgres pg_ctl -D "$PGDATA" -m fast -w stop
	echo "PostgreSQL init process complete; ready for start up."
fi

if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=postgres --regid=postgres --init-groups -- postgres "$@"
fi
exec postgres "$@"
